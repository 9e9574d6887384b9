import ArgumentParser
import Foundation
import LRNNLinearAlgebra
import LRNNTool

/// `lrnn bench`: kernel throughput, scaling and memory, or a model's prefill and decode rates.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark the kernels (throughput, scaling in T, peak memory) or a model.",
        discussion: """
            Kernel mode (default) measures the sgemm peaks, then every kernel at its standard shape \
            (B = 1, H = 8, K = V = 128, T = 4,096; s4d_conv H = 256, N = 64; s5 H = 256, P = 128; \
            pararnn_gru, pararnn_lstm D = Din = 1,024 in 8 heads, quick: D = 256, their chunk path \
            Newton's, their step path the sequential solve, with the Newton iterations; Float32): the chunk path's time, effective GFLOP/s against the all-thread sgemm peak, the \
            speed-up over the token-by-token step path and over the naive reference, one forward + one \
            backward call against the forward (seeded random output and final-state gradients), the peak \
            RSS of a child process running the chunk path once and of one running forward + backward once \
            (T = 65,536; quick: 4,096), and ns/token for T = 1k … 64k (quick: … 16k). \
            Model mode (--preset or --model) measures prefill tokens/s at T = 2,048 and decode \
            tokens/s at batch 1 (after --context tokens, default 16) and batch 8 (after 16 tokens), \
            against targets derived from the sgemm peak and a measured memory bandwidth. Progress goes to stderr when it is a terminal. Exits 2 on bad arguments.

            Kernels: \(KernelCatalog.names.joined(separator: ", ")).
            Presets: \(ModelBench.presetNames.joined(separator: ", ")) (random weights, shaped like fla's 340M models).

            Examples:
              lrnn bench --quick
              lrnn bench --strict            # exit 1 if a performance target is missed
              lrnn bench --json > bench.json
              lrnn bench --kernel delta_rule --kernel gla --threads 1
              lrnn bench --svg docs/bench-scaling.svg
              lrnn bench --preset gated_deltanet
              lrnn bench --preset all --json
              lrnn bench --preset gated_deltanet --preset gated_deltanet_hybrid --context 4096
              lrnn bench --model ../shared/golden/model_gla
              lrnn bench --tokenizer ../shared/golden/tokenizers/byte_level_bpe
              lrnn bench --train --json

            Training mode (--train) takes training steps (loss, gradients, clipping, AdamW) of \
            random-weight delta_net, gated_deltanet, gated_deltaproduct and gla models (hidden 512, 4 \
            layers, vocabulary 32,000, fla's other defaults; batch 1, T = 2,048, Float32; --quick: \
            T = 512): tokens/s (best of 3 steps after a warm-up; quick: 2), train_peak_fraction = \
            (6 · parameters · tokens + 3 · mixer kernel flops) / time / all-thread sgemm peak (target \
            ≥ 0.35), and the peak RSS of one step in a child process against 4 × (parameters + AdamW \
            state + activations) at fp32.

            Tokenizer mode (--tokenizer) encodes a fixed 1 MB text (prose, code, numbers, other scripts; \
            drawn with a fixed seed, so identical on every machine) on one thread and reports MB/s, best of \
            3 calls (1 with --quick), against the 5 MB/s target. --write-text FILE saves that text, to \
            measure another implementation on it (scripts/tokenizer_bench.py for Python's tokenizers).
            """
    )

    @Flag(help: "Fewer repeats; scaling up to T = 16,384; memory probed at T = 4,096; ParaRNN at D = 256.")
    var quick = false

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @Flag(help: "Exit with status 1 when a measured performance target is missed.")
    var strict = false

    @Option(help: ArgumentHelp("Write the scaling plot (tokens/s against T) as SVG to this file.", valueName: "file"))
    var svg: String?

    @Option(name: .customLong("kernel"), help: ArgumentHelp("Only this kernel (repeatable).", valueName: "name"))
    var kernels: [String] = []

    @Option(parsing: .unconditional, help: "Worker threads (default: all cores, or LRNN_NUM_THREADS).")
    var threads: Int?

    @Option(
        help: ArgumentHelp(
            "Benchmark a random-weight preset model (repeatable; 'all' for every preset).", valueName: "name"))
    var preset: [String] = []

    @Option(help: ArgumentHelp("Benchmark the model in this fla directory.", valueName: "dir"))
    var model: String?

    @Option(help: ArgumentHelp("Benchmark the tokenizer (tokenizer.json) in this directory.", valueName: "dir"))
    var tokenizer: String?

    @Option(help: ArgumentHelp("With --tokenizer: also write the benchmark text to this file.", valueName: "file"))
    var writeText: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Model mode: tokens of context before the timed batch-1 decoding steps (default 16).",
            valueName: "tokens"))
    var context: Int?

    @Flag(help: "Benchmark one training step of each model type (hidden 512, 4 layers, T = 2,048).")
    var train = false

    @Flag(help: .hidden)
    var verbose = false

    @Option(
        help: ArgumentHelp(
            "Re-render a saved `lrnn bench --json` report (text, or --svg) instead of measuring.", valueName: "file"))
    var fromJson: String?

    @Option(help: .hidden)
    var memoryProbe: String?

    @Option(parsing: .unconditional, help: .hidden)
    var probeLength: Int?

    @Option(parsing: .unconditional, help: .hidden)
    var probeRepeats: Int = 1

    @Flag(help: .hidden)
    var probeBackward = false

    @Option(help: .hidden)
    var trainProbe: String?

    func validate() throws {
        let known = Set(KernelCatalog.names)
        for k in kernels where !known.contains(k) {
            throw ValidationError("unknown kernel '\(k)'; known: \(KernelCatalog.names.joined(separator: ", "))")
        }
        if let threads, threads < 1 || threads > 1024 {
            throw ValidationError("--threads must be in 1...1024, got \(threads)")
        }
        for p in preset where p != "all" && !ModelBench.presetNames.contains(p) {
            throw ValidationError(
                "unknown preset '\(p)'; known: \(ModelBench.presetNames.joined(separator: ", ")), all")
        }
        if let model {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: model, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--model: no directory at '\(model)'")
            }
        }
        if tokenizer != nil && (model != nil || !preset.isEmpty || !kernels.isEmpty || svg != nil || strict) {
            throw ValidationError("--tokenizer cannot be combined with --model, --preset, --kernel, --svg or --strict")
        }
        if writeText != nil && tokenizer == nil { throw ValidationError("--write-text is only for --tokenizer") }

        if let context, context < 1 || context > 1 << 20 {
            throw ValidationError("--context must be in 1...1048576, got \(context)")
        }
        if context != nil && model == nil && preset.isEmpty {
            throw ValidationError("--context applies to model mode (--preset or --model)")
        }
        if (model != nil || !preset.isEmpty) && (!kernels.isEmpty || svg != nil) {
            throw ValidationError("--kernel and --svg apply to kernel mode, not with --model/--preset")
        }
        if train && (tokenizer != nil || model != nil || !preset.isEmpty || !kernels.isEmpty || svg != nil) {
            throw ValidationError("--train cannot be combined with --tokenizer, --model, --preset, --kernel or --svg")
        }
        if let name = trainProbe {
            guard TrainBench.modelTypes.contains(name) else {
                throw ValidationError("--train-probe: unknown model type '\(name)'")
            }
            guard let t = probeLength, t >= 2, t <= 1 << 20 else {
                throw ValidationError("--train-probe needs --probe-length in 2...1048576")
            }
        } else if let name = memoryProbe {
            guard known.contains(name) else { throw ValidationError("--memory-probe: unknown kernel '\(name)'") }
            guard let t = probeLength, t >= 1, t <= 1 << 22 else {
                throw ValidationError("--memory-probe needs --probe-length in 1...4194304")
            }
        } else if probeLength != nil || probeBackward {
            throw ValidationError("--probe-length and --probe-backward are only for --memory-probe")
        }
        if let svg {
            let dir = (svg as NSString).deletingLastPathComponent
            var isDir: ObjCBool = false
            if !dir.isEmpty && !(FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue) {
                throw ValidationError("--svg: directory '\(dir)' does not exist")
            }
        }
    }

    func run() throws {
        if let threads { Threading.setWorkerCount(threads) }
        if let name = memoryProbe, let t = probeLength {
            guard
                let r = BenchSuite.probeInProcess(
                    KernelCatalog.all(quick: quick), kernel: name, length: t, repeats: probeRepeats,
                    backward: probeBackward)
            else {
                throw ExitCode(2)
            }
            let enc = JSONEncoder()
            print(String(decoding: try enc.encode(r), as: UTF8.self))
            return
        }
        if let name = trainProbe, let t = probeLength {
            var configuration = TrainBench.Configuration()
            configuration.length = t
            do { print(try TrainBench.probeInProcess(name, configuration: configuration)) } catch {
                FileHandle.standardError.write(Data("lrnn bench: \(error)\n".utf8))
                throw ExitCode(2)
            }
            return
        }
        let start = BenchTimer.now()
        let log: (String) -> Void =
            verbose
            ? {
                FileHandle.standardError.write(
                    Data(String(format: "[%7.2f s] %@\n", BenchTimer.now() - start, $0).utf8))
            }
            : Progress.isTerminal
                ? { FileHandle.standardError.write(Data("\r\u{1B}[Kbench: \($0)".utf8)) } : { _ in }
        if let tokenizer {
            let text = TokenizerBench.text()
            if let writeText {
                do { try text.write(toFile: writeText, atomically: true, encoding: .utf8) } catch {
                    FileHandle.standardError.write(Data("lrnn bench: cannot write \(writeText): \(error)\n".utf8))
                    throw ExitCode(2)
                }
            }
            do {
                let r = try TokenizerBench.run(directory: tokenizer, repeats: quick ? 1 : 3, text: text)
                print(json ? TokenizerBench.json(r) : TokenizerBench.text(r), terminator: json ? "\n" : "")
            } catch {
                FileHandle.standardError.write(Data("lrnn bench: \(error.description)\n".utf8))
                throw ExitCode(2)
            }
            return
        }
        if train {
            let report: TrainBenchReport
            do {
                report = try TrainBench.run(
                    TrainBench.modelTypes, configuration: TrainBench.Configuration(quick: quick),
                    probeExecutable: Self.executablePath(), log: log)
            } catch {
                Progress.finish()
                FileHandle.standardError.write(Data("lrnn bench: \(error)\n".utf8))
                throw ExitCode(2)
            }
            Progress.finish()
            print(json ? report.json() : report.text(), terminator: json ? "\n" : "")
            if strict && report.targets.contains(where: { !$0.met }) { throw ExitCode(1) }
            return
        }
        if model != nil || !preset.isEmpty {
            var sources: [ModelBench.Source] = []
            let names = preset.contains("all") ? ModelBench.presetNames : preset
            for p in names { sources.append(.preset(p)) }
            if let model { sources.append(.directory(model)) }
            let report: ModelBenchReport
            do {
                report = try ModelBench.run(sources, quick: quick, decodeContext: context ?? 16, log: log)
            } catch {
                Progress.finish()
                FileHandle.standardError.write(Data("lrnn bench: \(error)\n".utf8))
                throw ExitCode(2)
            }
            Progress.finish()
            print(json ? report.json() : report.text(), terminator: json ? "\n" : "")
            return
        }
        if let path = fromJson {
            if let data = FileManager.default.contents(atPath: path),
                let models = try? JSONDecoder().decode(ModelBenchReport.self, from: data)
            {
                print(json ? models.json() : models.text(), terminator: json ? "\n" : "")
                return
            }
            guard let data = FileManager.default.contents(atPath: path),
                let saved = try? JSONDecoder().decode(BenchReport.self, from: data)
            else {
                FileHandle.standardError.write(
                    Data("lrnn bench: \(path) is not a saved lrnn bench --json report\n".utf8))
                throw ExitCode(2)
            }
            if let svg { try writeSVG(saved, to: svg) }
            print(json ? saved.json() : saved.text(), terminator: json ? "\n" : "")
            return
        }
        let options = BenchSuite.Options(
            quick: quick, kernels: kernels, threads: threads, probeExecutable: Self.executablePath())
        let report = BenchSuite.run(KernelCatalog.all(quick: quick), options: options, log: log)
        Progress.finish()
        if let svg { try writeSVG(report, to: svg) }
        print(json ? report.json() : report.text(), terminator: json ? "\n" : "")
        if strict && report.targets.contains(where: { !$0.met }) { throw ExitCode(1) }
    }

    func writeSVG(_ report: BenchReport, to path: String) throws {
        do {
            try BenchPlot.svg(report.scaling).write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(Data("lrnn bench: cannot write \(path): \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// This executable, to re-run as the memory-probe child process.
    static func executablePath() -> String? {
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        return CommandLine.arguments.first
    }
}
