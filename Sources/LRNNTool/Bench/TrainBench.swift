import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTraining

/// One model type's row of `lrnn bench --train`.
package struct TrainBenchResult: Codable, Sendable {
    /// fla's `model_type`.
    package var model_type: String
    /// The model width (`hidden_size`).
    package var hidden_size: Int
    /// The number of blocks (`num_hidden_layers`).
    package var layers: Int
    /// The vocabulary size.
    package var vocab_size: Int
    /// Tokens per sequence of the training batch.
    package var T: Int
    /// Sequences per batch.
    package var batch: Int
    /// All parameters (embedding and untied LM head included).
    package var parameters: Int
    /// The effective flops of one step:
    /// `6 · parameters · tokens + 3 · (mixers' forward effective kernel flops)`.
    package var train_flops: Double
    /// Seconds of one training step (loss, gradients, clipping and the AdamW update), best of the repeats.
    package var train_step_seconds: Double
    /// `batch · T / train_step_seconds`.
    package var train_tokens_per_s: Double
    /// `train_flops / train_step_seconds` over the all-thread sgemm peak of the same run.
    package var train_peak_fraction: Double
    /// Activations counted in the memory budget (floats; ``TrainBench/activationFloats(_:tokens:)``).
    package var activation_floats: Double
    /// `4 · 4 bytes · (parameters + 2 · parameters of AdamW state + activation_floats)`, in MB.
    package var train_rss_budget_mb: Double
    /// Peak resident memory (MB) of one training step: a fresh child process that builds the model
    /// and takes one step (or, without a child, this process's peak after resetting it).
    package var train_peak_rss_mb: Double
    /// Whether `train_peak_rss_mb` was measured in a child process.
    package var train_peak_rss_in_child: Bool
    /// The timed steps the best was taken of (after one untimed warm-up step).
    package var repeats: Int
}

/// The report of `lrnn bench --train`; `--json` prints exactly this object.
package struct TrainBenchReport: Codable, Sendable {
    /// The machine (OpenBLAS core, threads, CPU, 1-minute load average).
    package var machine: [String: String]
    /// sgemm GFLOP/s at n = 2048: `{"1": x, "all": y}`.
    package var sgemm_gflops: [String: Double]
    /// One row per model type.
    package var models: [TrainBenchResult]
    /// `train_peak_fraction` ≥ 0.35 and peak RSS ≤ budget, per model type.
    package var targets: [BenchTarget]

    /// Pretty-printed JSON with sorted keys.
    package func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Aligned text tables: the models, then the targets.
    package func text() -> String {
        var out = "machine: " + machine.keys.sorted().map { "\($0)=\(machine[$0]!)" }.joined(separator: "  ") + "\n"
        out += String(
            format: "sgemm n=2048: %.1f GFLOP/s (1 thread), %.1f GFLOP/s (all threads)\n\n",
            sgemm_gflops["1"] ?? .nan, sgemm_gflops["all"] ?? .nan)
        var rows = [
            [
                "train step", "d", "L", "vocab", "T", "params M", "step ms", "tok/s", "GFLOP", "peak",
                "act M floats", "RSS MB", "budget MB",
            ]
        ]
        for m in models {
            rows.append([
                m.model_type, "\(m.hidden_size)", "\(m.layers)", "\(m.vocab_size)", "\(m.T)",
                String(format: "%.1f", Double(m.parameters) / 1e6), String(format: "%.0f", m.train_step_seconds * 1e3),
                String(format: "%.0f", m.train_tokens_per_s), String(format: "%.1f", m.train_flops / 1e9),
                String(format: "%.0f%%", m.train_peak_fraction * 100),
                String(format: "%.1f", m.activation_floats / 1e6), String(format: "%.0f", m.train_peak_rss_mb),
                String(format: "%.0f", m.train_rss_budget_mb),
            ])
        }
        out += BenchReport.alignedTable(rows)
        if !targets.isEmpty {
            var trows = [["target", "value", "bound", "met"]]
            for t in targets {
                trows.append([
                    t.target, String(format: "%.4g", t.value), String(format: "%.4g", t.bound), t.met ? "yes" : "NO",
                ])
            }
            out += "\n" + BenchReport.alignedTable(trows)
        }
        return out
    }
}

/// `lrnn bench --train`: one training step (loss, gradients, AdamW) of random-weight models.
package enum TrainBench {
    /// The model types measured, in order.
    package static let modelTypes = ["delta_net", "gated_deltanet", "gated_deltaproduct", "gla"]

    /// The shape of the benchmarked models and batch.
    package struct Configuration: Sendable {
        /// The model width.
        package var hiddenSize = 512
        /// The number of blocks.
        package var layers = 4
        /// The vocabulary size (fla's presets' 32,000).
        package var vocabSize = 32000
        /// Tokens per sequence.
        package var length = 2048
        /// Timed steps after the warm-up step (the best is reported).
        package var repeats = 3

        /// The standard configuration (hidden 512, 4 layers, vocabulary 32,000, T = 2,048, 3
        /// repeats), or with `quick` T = 512 and 2 repeats.
        ///
        /// - Parameter quick: the shorter, faster variant.
        package init(quick: Bool = false) {
            if quick { (length, repeats) = (512, 2) }
        }
    }

    /// The random-weight model of `modelType` with fla's configuration defaults for every size
    /// not given (`DeltaNetConfig`: 16 heads, expand_k = expand_v = 1; `GatedDeltaNetConfig`: 6
    /// heads of head_dim 256, expand_v 2; `GatedDeltaProductConfig` likewise, with 2 Householder
    /// steps and the forget gate as the `gated_deltaproduct` preset; `GLAConfig`: 4 heads, expand_k
    /// 0.5, expand_v 1), untied embeddings, the MLP from hidden_ratio 4.
    ///
    /// - Parameters:
    ///   - modelType: one of ``modelTypes``.
    ///   - configuration: width, depth and vocabulary.
    /// - Returns: the builder, or nil for an unknown type.
    package static func builder(_ modelType: String, configuration: Configuration) -> ModelBuilder? {
        let mixer: MixerConfiguration
        switch modelType {
        case "delta_net": mixer = .deltaNet(DeltaNetConfiguration())
        case "gated_deltanet": mixer = .gatedDeltaNet(GatedDeltaNetConfiguration())
        case "gated_deltaproduct":
            mixer = .gatedDeltaProduct(GatedDeltaProductConfiguration(numHouseholder: 2, useForgetGate: true))
        case "gla": mixer = .gla(GLAConfiguration())
        default: return nil
        }
        var b = ModelBuilder(
            vocabSize: configuration.vocabSize, hiddenSize: configuration.hiddenSize, eosTokenIds: [2])
        for _ in 0..<configuration.layers { b.append(mixer) }
        return b
    }

    /// The chunk-boundary states a mixer's chunk kernel holds per chunk of 64 tokens: H·K·V floats.
    ///
    /// - Parameters:
    ///   - mixer: the layer's mixer.
    ///   - hiddenSize: the model width d.
    /// - Returns: H·K·V at the mixer's head shapes (0 for mixers without a matrix state).
    package static func stateFloats(_ mixer: MixerConfiguration, hiddenSize d: Int) -> Double {
        let hidden = Double(d)
        switch mixer {
        case let .deltaNet(c):
            let h = Double(c.numHeads)
            return h * (hidden * c.expandK / h) * (hidden * c.expandV / h)
        case let .gatedDeltaNet(c): return Double(c.valueHeads * c.headDim * c.headVDim)
        case let .gatedDeltaProduct(c):
            return Double(c.numHeads * c.headDim) * Double(c.headDim) * c.expandV
        case let .gla(c):
            let h = Double(c.numHeads)
            return h * (hidden * c.expandK / h) * (hidden * c.expandV / h)
        case .s4d, .paraRNN, .attention: return 0
        case let .pLSTM1D(c): return Double(c.numHeads * c.keyDim * c.valueDim * c.transitionStates)
        }
    }

    /// The activations the memory budget counts for one step over `tokens` tokens, in floats:
    /// per token, every block weight's input and output once (in + out for a matrix
    /// `[out, in]`, 2·C for a short convolution `[C, 1, width]`, the width for a norm or a
    /// vector), the embedding output and the final norm (3·d), and the logits with their
    /// gradient (2·vocab); plus each layer's chunk-boundary states, ⌈tokens / 64⌉ · H·K·V.
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - tokens: the tokens of the batch (B·T).
    /// - Returns: the number of floats.
    package static func activationFloats<T: LRNNScalar>(_ model: CausalLM<T>, tokens: Int) -> Double {
        var perToken = 3 * Double(model.hiddenSize) + 2 * Double(model.vocabSize)
        for (key, p) in model.parameters() where key.hasPrefix("model.layers.") {
            switch p.shape.count {
            case 2: perToken += Double(p.shape[0] + p.shape[1])
            case 3: perToken += 2 * Double(p.shape[0])
            default: perToken += Double(p.count)
            }
        }
        let chunks = Double((tokens + 63) / 64)
        let states = model.mixers.reduce(0.0) { $0 + stateFloats($1, hiddenSize: model.hiddenSize) }
        return perToken * Double(tokens) + chunks * states
    }

    /// The memory budget in MB: `4 · 4 bytes · (parameters + 2 · parameters + activations)`
    /// (AdamW keeps two moments per parameter).
    ///
    /// - Parameters:
    ///   - parameters: the parameter count.
    ///   - activations: ``activationFloats(_:tokens:)``.
    /// - Returns: the budget, MB (2²⁰ bytes).
    package static func budgetMB(parameters: Int, activations: Double) -> Double {
        4 * 4 * (3 * Double(parameters) + activations) / 1_048_576
    }

    /// The fixed work of one step: `6 · parameters · tokens` (forward 2, backward 4 per
    /// parameter and token) plus `3 ·` the mixers' forward effective kernel flops
    /// (``ModelBench/kernelFlopsPerToken(_:hiddenSize:)``, the kernel catalog's counts at the
    /// model's head shapes; the backward counted as twice the forward).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - tokens: the tokens of the batch.
    /// - Returns: flops.
    package static func stepFlops<T: LRNNScalar>(_ model: CausalLM<T>, tokens: Int) -> Double {
        let parameters = model.parameters().values.reduce(0) { $0 + $1.count }
        let kernel = model.mixers.reduce(0.0) {
            $0 + ModelBench.kernelFlopsPerToken($1, hiddenSize: model.hiddenSize)
        }
        return Double(tokens) * (6 * Double(parameters) + BenchSuite.backwardFlopFactor * kernel)
    }

    /// A trainer over one seeded random sequence of `length` tokens (labels: the next token, the
    /// last ignored), AdamW at PyTorch's defaults, constant learning rate 1e-3, clipping at 1.
    ///
    /// - Parameters:
    ///   - model: the model to train.
    ///   - length: tokens of the sequence (≥ 2).
    /// - Returns: the trainer.
    /// - Throws: `TrainingError` if the trainer refuses the example.
    package static func makeTrainer(_ model: CausalLM<Float>, length: Int) throws -> Trainer<CausalLM<Float>> {
        var rng = BenchRandom(seed: 17)
        let ids = (0...length).map { _ in Int(rng.next() % UInt64(model.vocabSize)) }
        let example = try TrainingExample(inputIDs: Array(ids[0..<length]), labels: Array(ids[1...length]))
        return try Trainer(
            model: model, optimizer: AdamW<Float>(),
            configuration: TrainerConfiguration(batchSize: 1, schedule: .constant(1e-3), seed: 1),
            examples: [example])
    }

    /// An error of the training benchmark (an unknown model type, a step that fails).
    package struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        package var description: String
    }

    /// Builds `modelType` and takes one training step in this process, returning the peak RSS
    /// in MB (called inside the probe child process; the peak is reset after building).
    ///
    /// - Parameters:
    ///   - modelType: one of ``modelTypes``.
    ///   - configuration: the model and batch shape.
    /// - Returns: the peak resident memory, MB.
    /// - Throws: ``Failure`` for an unknown type or a failing step.
    package static func probeInProcess(_ modelType: String, configuration: Configuration) throws -> Double {
        var trainer = try makeTrainer(build(modelType, configuration: configuration), length: configuration.length)
        do { _ = try trainer.step() } catch { throw Failure(description: "\(modelType): training step: \(error)") }
        return PeakMemory.peakMB
    }

    static func build(_ modelType: String, configuration: Configuration) throws -> CausalLM<Float> {
        guard let b = builder(modelType, configuration: configuration) else {
            throw Failure(
                description: "unknown model type '\(modelType)'; known: \(modelTypes.joined(separator: ", "))")
        }
        do { return try b.build(as: Float.self, seed: 1) } catch {
            throw Failure(description: "\(modelType): \(error)")
        }
    }

    /// Measures every model type: the sgemm peaks, then per type one untimed and `repeats` timed
    /// training steps, and the peak RSS of one step in a child process.
    ///
    /// - Parameters:
    ///   - modelTypes: the types to measure (each one of ``modelTypes``).
    ///   - configuration: the model and batch shape.
    ///   - probeExecutable: the `lrnn` executable to run the memory probe in (`bench
    ///     --train-probe TYPE`); nil measures this process's peak after resetting it instead.
    ///   - log: progress messages.
    /// - Returns: the report with its targets.
    /// - Throws: ``Failure`` for an unknown type or a failing step.
    package static func run(
        _ modelTypes: [String], configuration: Configuration, probeExecutable: String?,
        log: (String) -> Void = { _ in }
    ) throws -> TrainBenchReport {
        let threads = Threading.workerCount
        log("measuring sgemm peaks")
        let s1 = GEMMBenchmark.gflops(Float.self, n: 2048, threads: 1)
        let sAll = GEMMBenchmark.gflops(Float.self, n: 2048, threads: threads)
        var machine = BenchSuite.machine(threads: threads)
        machine["load_1min"] = BenchSuite.loadAverage()
        var rows: [TrainBenchResult] = []
        for type in modelTypes {
            log("\(type): building random weights")
            let model = try build(type, configuration: configuration)
            let tokens = configuration.length
            let parameters = model.parameters().values.reduce(0) { $0 + $1.count }
            let flops = stepFlops(model, tokens: tokens)
            let activations = activationFloats(model, tokens: tokens)
            var trainer = try makeTrainer(model, length: configuration.length)
            var failure: Error?
            log("\(type): training steps at T = \(tokens)")
            let seconds = BenchTimer.best(repeats: configuration.repeats) {
                guard failure == nil else { return }
                do { _ = try trainer.step() } catch { failure = error }
            }
            if let failure { throw Failure(description: "\(type): training step: \(failure)") }
            log("\(type): memory probe")
            var rss: Double? = nil
            if let exe = probeExecutable {
                rss = childProbe(executable: exe, modelType: type, configuration: configuration, threads: threads)
            }
            let inChild = rss != nil
            if rss == nil {
                PeakMemory.resetPeak()
                _ = try? trainer.step()
                rss = PeakMemory.peakMB
            }
            rows.append(
                TrainBenchResult(
                    model_type: type, hidden_size: configuration.hiddenSize, layers: configuration.layers,
                    vocab_size: configuration.vocabSize, T: tokens, batch: 1, parameters: parameters,
                    train_flops: flops, train_step_seconds: seconds, train_tokens_per_s: Double(tokens) / seconds,
                    train_peak_fraction: flops / seconds / (sAll * 1e9), activation_floats: activations,
                    train_rss_budget_mb: budgetMB(parameters: parameters, activations: activations),
                    train_peak_rss_mb: rss!, train_peak_rss_in_child: inChild, repeats: configuration.repeats))
        }
        return TrainBenchReport(
            machine: machine, sgemm_gflops: ["1": s1, "all": sAll], models: rows, targets: targets(rows))
    }

    /// The issue's targets: `train_peak_fraction` ≥ 0.35 and `train_peak_rss_mb` ≤
    /// `train_rss_budget_mb`, per model type.
    ///
    /// - Parameter rows: the measured rows.
    /// - Returns: two targets per row.
    package static func targets(_ rows: [TrainBenchResult]) -> [BenchTarget] {
        rows.flatMap { r in
            [
                BenchTarget(
                    target: "\(r.model_type): train step ≥ 35% of all-thread sgemm peak", value: r.train_peak_fraction,
                    bound: 0.35, met: r.train_peak_fraction >= 0.35),
                BenchTarget(
                    target: "\(r.model_type): train step peak RSS ≤ budget (MB)", value: r.train_peak_rss_mb,
                    bound: r.train_rss_budget_mb, met: r.train_peak_rss_mb <= r.train_rss_budget_mb),
            ]
        }
    }

    static func childProbe(executable: String, modelType: String, configuration: Configuration, threads: Int)
        -> Double?
    {
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: executable)
        proc.arguments = [
            "bench", "--train-probe", modelType, "--probe-length", "\(configuration.length)", "--threads",
            "\(threads)",
        ]
        let pipe = Pipe()
        proc.standardOutput = pipe
        proc.standardError = FileHandle.nullDevice
        do { try proc.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        proc.waitUntilExit()
        guard proc.terminationStatus == 0 else { return nil }
        return Double(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
