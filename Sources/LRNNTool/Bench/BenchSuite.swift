import Foundation
import LRNNLinearAlgebra

/// Runs `lrnn bench`: the machine's GEMM peaks, every kernel at its standard shape, and the
/// scaling sweep, all in one process so every figure is a ratio measured in one sitting.
package enum BenchSuite {
    /// What to measure.
    package struct Options: Sendable {
        /// Quick mode: fewer repeats, scaling stops at T = 16k, memory probed at the standard T.
        package var quick: Bool
        /// Only these kernels (all when empty).
        package var kernels: [String]
        /// Worker threads (nil: all cores).
        package var threads: Int?
        /// The executable to re-run for per-kernel memory probes (nil: no probe).
        package var probeExecutable: String?

        /// Creates options.
        package init(quick: Bool = false, kernels: [String] = [], threads: Int? = nil, probeExecutable: String? = nil) {
            self.quick = quick
            self.kernels = kernels
            self.threads = threads
            self.probeExecutable = probeExecutable
        }
    }

    /// The sequence lengths of the scaling sweep.
    package static func scalingLengths(quick: Bool) -> [Int] {
        quick ? [1024, 4096, 16384] : [1024, 4096, 16384, 65536]
    }

    /// The longest a single naive-reference scaling point may be predicted to take (seconds,
    /// from the previous point scaled linearly in T); longer points are skipped and left out
    /// of the report.
    package static func naiveBudget(quick: Bool) -> Double { quick ? 4 : 60 }

    /// The machine description of a report.
    package static func machine(threads: Int) -> [String: String] {
        [
            "core": Threading.blasCoreName, "threads": "\(threads)", "blas_threading": Threading.blasParallelism,
            "cpu": cpuModel(),
        ]
    }

    /// Runs the benchmark; `log` receives progress lines (e.g. for stderr).
    package static func run(
        _ catalog: [BenchKernel], standardLength: Int = 4096, options: Options, log: (String) -> Void = { _ in }
    ) -> BenchReport {
        let threads = options.threads ?? Threading.workerCount
        log("measuring sgemm peaks")
        let load = loadAverage()
        // Peaks and kernel times are both the best of several calls: on a shared machine the
        // fastest call is the least disturbed one, for the sgemm as for the kernels.
        let quick = options.quick
        let peakRepeats = quick ? 3 : 5
        var s1 = GEMMBenchmark.gflops(Float.self, n: 2048, threads: 1, repeats: peakRepeats)
        var sAll = GEMMBenchmark.gflops(Float.self, n: 2048, threads: threads, repeats: peakRepeats)
        let selected = options.kernels.isEmpty ? catalog : catalog.filter { options.kernels.contains($0.name) }
        var rows: [KernelBenchResult] = []
        var scaling: [ScalingPoint] = []
        for k in selected {
            var p: PreparedBenchKernel? = k.prepare(standardLength, 1)
            var row = measure(k, prepared: p!, length: standardLength, quick: quick, peak: sAll, log: log)
            let tNaive = row.naive_seconds
            if let exe = options.probeExecutable {
                let memT = memoryLength(quick: quick, standardLength: standardLength)
                log("\(k.name): memory probe at T = \(memT)")
                if let probe = memoryProbe(
                    executable: exe, kernel: k.name, length: memT, threads: threads, quick: quick)
                {
                    row.peak_rss_mb = probe.peakMB
                    row.io_mb = probe.ioMB
                    row.memory_T = memT
                    log("\(k.name): forward + backward memory probe at T = \(memT)")
                    if let b = memoryProbe(
                        executable: exe, kernel: k.name, length: memT, threads: threads, quick: quick, backward: true)
                    {
                        row.backward_peak_rss_mb = b.peakMB
                        row.backward_rss_ratio = b.peakMB / probe.peakMB
                    }
                }
            }
            rows.append(row)
            var lastNaive = (t: standardLength, seconds: tNaive)
            for t in scalingLengths(quick: quick) {
                let q: PreparedBenchKernel
                if t == standardLength {
                    q = p!
                } else {
                    if t > standardLength { p = nil }  // release the standard inputs before longer ones
                    q = k.prepare(t, 2)
                }
                log("\(k.name): scaling T = \(t), chunk")
                // The same number of timed calls at every T, each after an untimed warm-up (the
                // standard row's best-of-9 would be biased low against fewer calls at the other
                // lengths on a noisy machine).
                let tc = BenchTimer.best(repeats: quick ? 1 : 5, warmup: !quick || t <= standardLength, q.chunk)
                scaling.append(
                    ScalingPoint(
                        name: k.name, path: "chunk", T: t, ns_per_token: tc * 1e9 / Double(k.batch * t),
                        newton_iterations: q.newtonIterations?()))
                if let label = k.sweptStepPath {
                    log("\(k.name): scaling T = \(t), \(label)")
                    let run = q.makeStep()
                    let ts = BenchTimer.best(repeats: quick ? 1 : 5, warmup: !quick || t <= standardLength, run)
                    scaling.append(
                        ScalingPoint(name: k.name, path: label, T: t, ns_per_token: ts * 1e9 / Double(k.batch * t)))
                }
                let tn: Double?
                if t == standardLength {
                    tn = tNaive
                } else if t < standardLength
                    || lastNaive.seconds * Double(t) / Double(lastNaive.t) <= naiveBudget(quick: quick)
                {
                    log("\(k.name): scaling T = \(t), naive")
                    tn = BenchTimer.best(repeats: 1, warmup: false, q.naive)
                    if t > lastNaive.t { lastNaive = (t, tn!) }
                } else {
                    tn = nil
                }
                if let tn {
                    scaling.append(
                        ScalingPoint(name: k.name, path: "naive", T: t, ns_per_token: tn * 1e9 / Double(k.batch * t)))
                }
            }
        }
        // The peaks again at the end: on a shared machine the better of the two is the peak.
        log("measuring sgemm peaks again")
        s1 = max(s1, GEMMBenchmark.gflops(Float.self, n: 2048, threads: 1, repeats: peakRepeats))
        let sAllEnd = GEMMBenchmark.gflops(Float.self, n: 2048, threads: threads, repeats: peakRepeats)
        if sAllEnd > sAll {
            for i in rows.indices {
                rows[i].peak_fraction *= sAll / sAllEnd
                rows[i].backward_peak_fraction = rows[i].backward_peak_fraction.map { $0 * sAll / sAllEnd }
            }
            sAll = sAllEnd
        }
        var m = machine(threads: threads)
        m["load_average"] = load
        return BenchReport(machine: m, sgemm_gflops: ["1": s1, "all": sAll], kernels: rows, scaling: scaling)
    }

    /// Times one kernel's paths at length T on prepared inputs and returns its report row
    /// (without the memory fields, which the probes fill in).
    ///
    /// The chunk path is the best of up to 25 calls within 3 s (quick: 5 within 1.5 s) after a
    /// warm-up; forward + backward the same; the step path the best of 3 (quick: 1) within 4 s;
    /// the naive reference one call.
    ///
    /// - Parameters:
    ///   - k: the kernel.
    ///   - p: its inputs at length `length`.
    ///   - length: the sequence length T of `p`.
    ///   - quick: quick mode's repeats.
    ///   - peak: the all-thread sgemm peak of this run, GFLOP/s.
    ///   - log: receives progress lines.
    /// - Returns: the row, with `backward_seconds`, `backward_ratio` and `backward_peak_fraction`.
    package static func measure(
        _ k: BenchKernel, prepared p: PreparedBenchKernel, length: Int, quick: Bool, peak: Double,
        log: (String) -> Void = { _ in }
    ) -> KernelBenchResult {
        log("\(k.name): chunk path at T = \(length)")
        // Up to 25 calls spread over at most 3 s, so that a few seconds of load from other
        // jobs do not decide the figure (quick: 5 calls, 1.5 s).
        let tChunk = BenchTimer.best(repeats: quick ? 5 : 25, budget: quick ? 1.5 : 3, p.chunk)
        log("\(k.name): forward + backward at T = \(length)")
        // The same repeats and budget as the forward; the cotangents are drawn untimed, and
        // released before the step path's slices are made.
        var backwardRun: (() -> Void)? = p.makeBackward()
        let tBackward = BenchTimer.best(repeats: quick ? 5 : 25, budget: quick ? 1.5 : 3, backwardRun!)
        backwardRun = nil
        log("\(k.name): step path")
        var stepRun: (() -> Void)? = p.makeStep()
        let tStep = BenchTimer.best(repeats: quick ? 1 : 3, budget: 4, warmup: false, stepRun!)
        stepRun = nil
        log("\(k.name): naive reference")
        let tNaive = BenchTimer.best(repeats: 1, warmup: false, p.naive)
        let iterations = p.newtonIterations?()
        let flops = k.effectiveFlops(length)
        let gflops = flops / tChunk / 1e9
        return KernelBenchResult(
            name: k.name, B: k.batch, T: length, H: k.heads, K: k.keyDim, V: k.valueDim,
            precision: "Float32", seconds: tChunk,
            tokens_per_s: Double(k.batch * length) / tChunk, gflops: gflops,
            peak_fraction: gflops / peak, step_speedup: tStep / tChunk, naive_speedup: tNaive / tChunk,
            peak_rss_mb: nil, io_mb: nil, memory_T: nil, step_seconds: tStep, naive_seconds: tNaive,
            flop_formula: k.flopFormula, backward_seconds: tBackward, backward_ratio: tBackward / tChunk,
            backward_peak_fraction: backwardFlopFactor * flops / tBackward / 1e9 / peak, newton_iterations: iterations)
    }

    /// The fixed work of one forward + backward call, in multiples of the forward's effective
    /// flops (the forward once, the backward counted as twice the forward).
    package static let backwardFlopFactor = 3.0

    /// The sequence length of the memory probes: T = 65,536, or the standard length in quick mode
    /// (the forward's and the forward + backward's probes use the same length).
    package static func memoryLength(quick: Bool, standardLength: Int = 4096) -> Int {
        quick ? standardLength : 65536
    }

    /// The result of running one kernel's chunk path (or its forward + backward) once in a fresh process.
    package struct MemoryProbeResult: Codable, Sendable {
        /// Peak resident memory of the probe process, MB.
        package var peakMB: Double
        /// Bytes of the kernel's inputs and outputs, MB.
        package var ioMB: Double
    }

    /// Runs the chunk path of `kernel` once at length T in this process and returns the peak RSS
    /// (called inside the probe child process).
    ///
    /// - Parameters:
    ///   - catalog: the kernels to choose from.
    ///   - kernel: the kernel's name.
    ///   - length: the sequence length T.
    ///   - repeats: runs the path that many times (> 1 to profile it under perf).
    ///   - backward: runs one forward and one backward call (with the seeded cotangents, which
    ///     the peak then includes) instead of the forward alone.
    /// - Returns: the peak RSS and the forward's I/O size, or nil for an unknown kernel.
    package static func probeInProcess(
        _ catalog: [BenchKernel], kernel: String, length: Int, repeats: Int = 1, backward: Bool = false
    ) -> MemoryProbeResult? {
        guard let k = catalog.first(where: { $0.name == kernel }) else { return nil }
        let p = k.prepare(length, 3)
        let run = backward ? p.makeBackward() : p.chunk
        for _ in 0..<max(1, repeats) { run() }
        return MemoryProbeResult(peakMB: PeakMemory.peakMB, ioMB: Double(p.ioBytes) / 1_048_576)
    }

    static func memoryProbe(
        executable: String, kernel: String, length: Int, threads: Int, quick: Bool = false, backward: Bool = false
    ) -> MemoryProbeResult? {
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: executable)
        proc.arguments =
            ["bench", "--memory-probe", kernel, "--probe-length", "\(length)", "--threads", "\(threads)"]
            + (backward ? ["--probe-backward"] : []) + (quick ? ["--quick"] : [])
        let pipe = Pipe()
        proc.standardOutput = pipe
        proc.standardError = FileHandle.nullDevice
        do { try proc.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        proc.waitUntilExit()
        guard proc.terminationStatus == 0 else { return nil }
        return try? JSONDecoder().decode(MemoryProbeResult.self, from: data)
    }

    /// The 1-minute load average at the start of the run (how busy the machine was).
    static func loadAverage() -> String {
        guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return s.split(separator: " ").first.map(String.init) ?? "unknown"
    }

    static func cpuModel() -> String {
        guard let s = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in s.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
                ?? "unknown"
        }
        return "unknown"
    }
}
