import Foundation

/// One kernel's row of the `lrnn bench` table.
package struct KernelBenchResult: Codable, Sendable {
    /// Kernel name.
    package var name: String
    /// Batch size.
    package var B: Int
    /// Sequence length.
    package var T: Int
    /// Heads / channels.
    package var H: Int
    /// Key / state dimension.
    package var K: Int
    /// Value dimension.
    package var V: Int
    /// `"Float32"` or `"Float64"`.
    package var precision: String
    /// Seconds of the chunk path (best of the repeats).
    package var seconds: Double
    /// `B·T / seconds`.
    package var tokens_per_s: Double
    /// Effective GFLOP/s: the fixed flop count divided by the time.
    package var gflops: Double
    /// `gflops` over the all-thread sgemm peak measured in the same run.
    package var peak_fraction: Double
    /// Time of the token-by-token step path over the chunk path's.
    package var step_speedup: Double
    /// Time of the naive reference over the chunk path's.
    package var naive_speedup: Double
    /// Peak resident memory (MB) of a separate process running the chunk path once.
    package var peak_rss_mb: Double?
    /// Bytes of inputs and outputs at `memory_T`, in MB.
    package var io_mb: Double?
    /// The sequence length at which `peak_rss_mb` and `io_mb` were measured.
    package var memory_T: Int?
    /// Seconds of the step path (best of the repeats) (the decoding step run token by token).
    package var step_seconds: Double
    /// Seconds of the naive reference.
    package var naive_seconds: Double
    /// The effective flop count's definition.
    package var flop_formula: String
    /// Seconds of one forward call (the chunk path) followed by one `backward` call with seeded
    /// random cotangents (best of the same repeats as `seconds`); nil in reports saved before
    /// the backward was measured.
    package var backward_seconds: Double? = nil
    /// `backward_seconds / seconds`: the cost of a training step's kernel work against the forward's.
    package var backward_ratio: Double? = nil
    /// A fixed work of 3 × the forward's effective flops (`BenchSuite.backwardFlopFactor`), divided by `backward_seconds` and the
    /// all-thread sgemm peak of the same run.
    package var backward_peak_fraction: Double? = nil
    /// Peak resident memory (MB) of a separate process running one forward and one backward
    /// call at `memory_T`.
    package var backward_peak_rss_mb: Double? = nil
    /// `backward_peak_rss_mb / peak_rss_mb`: forward + backward peak memory over the forward's,
    /// both at `memory_T`.
    package var backward_rss_ratio: Double? = nil
    /// The Newton iterations of the chunk path (ParaRNN's Newton-parallel forward); nil for the other kernels.
    package var newton_iterations: Int? = nil
}

/// One point of the scaling sweep.
package struct ScalingPoint: Codable, Sendable {
    /// Kernel name.
    package var name: String
    /// `"chunk"` or `"naive"`.
    package var path: String
    /// Sequence length.
    package var T: Int
    /// Nanoseconds per token (all heads).
    package var ns_per_token: Double
    /// The Newton iterations of a ParaRNN chunk point; nil otherwise.
    package var newton_iterations: Int? = nil
}

/// One performance target of the issue, evaluated on a report.
package struct BenchTarget: Codable, Sendable {
    /// What is required, in words.
    package var target: String
    /// The measured value.
    package var value: Double
    /// The bound it is compared with.
    package var bound: Double
    /// Whether `value` is on the right side of `bound`.
    package var met: Bool
}

/// The whole `lrnn bench` report; `--json` prints exactly this object.
package struct BenchReport: Codable, Sendable {
    /// The machine (OpenBLAS core, threads).
    package var machine: [String: String]
    /// sgemm GFLOP/s at n = 2048: `{"1": x, "all": y}`.
    package var sgemm_gflops: [String: Double]
    /// One row per kernel at its standard shape.
    package var kernels: [KernelBenchResult]
    /// ns per token against T.
    package var scaling: [ScalingPoint]
    /// The performance targets that the measured kernels and lengths allow to evaluate.
    package var targets: [BenchTarget] = []

    /// Creates a report and evaluates the targets on it.
    package init(
        machine: [String: String], sgemm_gflops: [String: Double], kernels: [KernelBenchResult], scaling: [ScalingPoint]
    ) {
        self.machine = machine
        self.sgemm_gflops = sgemm_gflops
        self.kernels = kernels
        self.scaling = scaling
        targets = evaluateTargets()
    }

    /// The targets: delta_rule and gated_delta_rule at ≥ 75 % of the all-thread sgemm
    /// peak and ≥ 2× the step path; gla ≤ 1.5× and delta_product ≤ 2.2× gated_delta_rule's
    /// time; ns/token at T = 65,536 within 15 % of T = 4,096 (chunk path); peak RSS at 64k ≤
    /// 1.3 × I/O + 200 MB; s4d_conv at T = 16,384 in ≤ 100 ms; and for the backward:
    /// `backward_ratio` ≤ 3.5 for delta_rule, gated_delta_rule and gla, `backward_peak_fraction`
    /// ≥ 0.45 for delta_rule and gated_delta_rule, and the forward + backward peak RSS at 64k ≤
    /// 2.5 × the forward's, every kernel.
    package func evaluateTargets() -> [BenchTarget] {
        var out: [BenchTarget] = []
        func row(_ n: String) -> KernelBenchResult? { kernels.first { $0.name == n } }
        for n in ["delta_rule", "gated_delta_rule"] {
            guard let r = row(n) else { continue }
            out.append(
                BenchTarget(
                    target: "\(n): ≥ 75% of all-thread sgemm peak", value: r.peak_fraction, bound: 0.75,
                    met: r.peak_fraction >= 0.75))
            out.append(
                BenchTarget(
                    target: "\(n): ≥ 2x the step path", value: r.step_speedup, bound: 2, met: r.step_speedup >= 2))
        }
        if let g = row("gated_delta_rule") {
            for (n, b) in [("gla", 1.5), ("delta_product", 2.2)] {
                guard let r = row(n) else { continue }
                let ratio = r.seconds / g.seconds
                out.append(
                    BenchTarget(
                        target: "\(n): time ≤ \(b)x gated_delta_rule's", value: ratio, bound: b, met: ratio <= b))
            }
        }
        for k in kernels {
            let at = { (t: Int) in scaling.first { $0.name == k.name && $0.path == "chunk" && $0.T == t }?.ns_per_token
            }
            if let a = at(4096), let b = at(65536) {
                let ratio = b / a
                out.append(
                    BenchTarget(
                        target: "\(k.name): ns/token at 64k within 15% of 4k", value: ratio, bound: 1.15,
                        met: ratio <= 1.15))
            }
            if let mem = k.peak_rss_mb, let io = k.io_mb, k.memory_T == 65536 {
                let bound = 1.3 * io + 200
                out.append(
                    BenchTarget(
                        target: "\(k.name): peak RSS at 64k ≤ 1.3 × I/O + 200 MB (MB)", value: mem, bound: bound,
                        met: mem <= bound))
            }
        }
        if let p = scaling.first(where: { $0.name == "s4d_conv" && $0.path == "chunk" && $0.T == 16384 }) {
            let ms = p.ns_per_token * 16384 / 1e6
            out.append(
                BenchTarget(target: "s4d_conv: T = 16,384 in ≤ 100 ms (ms)", value: ms, bound: 100, met: ms <= 100))
        }
        out += backwardTargets()
        return out
    }

    /// The backward targets: `backward_ratio` ≤ 3.5 (delta_rule, gated_delta_rule, gla),
    /// `backward_peak_fraction` ≥ 0.45 (delta_rule, gated_delta_rule), and the forward + backward
    /// peak RSS at T = 65,536 ≤ 2.5 × the forward's (every kernel probed at that length).
    func backwardTargets() -> [BenchTarget] {
        var out: [BenchTarget] = []
        for k in kernels {
            if ["delta_rule", "gated_delta_rule", "gla"].contains(k.name), let ratio = k.backward_ratio {
                out.append(
                    BenchTarget(
                        target: "\(k.name): forward + backward ≤ 3.5x the forward's time", value: ratio, bound: 3.5,
                        met: ratio <= 3.5))
            }
            if ["delta_rule", "gated_delta_rule"].contains(k.name), let fraction = k.backward_peak_fraction {
                out.append(
                    BenchTarget(
                        target: "\(k.name): forward + backward ≥ 45% of all-thread sgemm peak (3x forward flops)",
                        value: fraction, bound: 0.45, met: fraction >= 0.45))
            }
            if let ratio = k.backward_rss_ratio, k.memory_T == 65536 {
                out.append(
                    BenchTarget(
                        target: "\(k.name): forward + backward peak RSS at 64k ≤ 2.5x the forward's", value: ratio,
                        bound: 2.5, met: ratio <= 2.5))
            }
        }
        return out
    }

    /// The report as pretty-printed JSON with sorted keys.
    package func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The aligned text tables.
    package func text() -> String {
        var out = "machine: " + machine.keys.sorted().map { "\($0)=\(machine[$0]!)" }.joined(separator: "  ") + "\n"
        out += String(
            format: "sgemm n=2048: %.1f GFLOP/s (1 thread), %.1f GFLOP/s (all threads)\n\n",
            sgemm_gflops["1"] ?? .nan, sgemm_gflops["all"] ?? .nan)
        let header = [
            "kernel", "B", "T", "H", "K", "V", "prec", "ms", "tok/s", "GFLOP/s", "peak", "vs step", "vs naive",
            "RSS MB", "I/O MB",
        ]
        var rows = [header]
        for k in kernels {
            rows.append([
                k.name, "\(k.B)", "\(k.T)", "\(k.H)", "\(k.K)", "\(k.V)", k.precision,
                String(format: "%.1f", k.seconds * 1e3), String(format: "%.3g", k.tokens_per_s),
                String(format: "%.1f", k.gflops), String(format: "%.0f%%", k.peak_fraction * 100),
                String(format: "%.2fx", k.step_speedup), String(format: "%.1fx", k.naive_speedup),
                k.peak_rss_mb.map { String(format: "%.0f", $0) } ?? "-",
                k.io_mb.map { String(format: "%.0f", $0) } ?? "-",
            ])
        }
        out += Self.alignedTable(rows)
        for k in kernels {
            guard let its = k.newton_iterations else { continue }
            out += "\(k.name): chunk = Newton-parallel forward, \(its) Newton iterations; vs step = the sequential "
            out += String(format: "solve's time over Newton's (%.1f ms)\n", k.step_seconds * 1e3)
        }
        if kernels.contains(where: { $0.backward_seconds != nil }) {
            var brows = [
                ["forward + backward", "T", "ms", "vs forward", "GFLOP/s (3x)", "peak", "RSS MB", "vs forward RSS"]
            ]
            for k in kernels {
                guard let b = k.backward_seconds else { continue }
                brows.append([
                    k.name, "\(k.T)", String(format: "%.1f", b * 1e3),
                    k.backward_ratio.map { String(format: "%.2fx", $0) } ?? "-",
                    String(format: "%.1f", BenchSuite.backwardFlopFactor * k.gflops * k.seconds / b),
                    k.backward_peak_fraction.map { String(format: "%.0f%%", $0 * 100) } ?? "-",
                    k.backward_peak_rss_mb.map { String(format: "%.0f", $0) } ?? "-",
                    k.backward_rss_ratio.map { String(format: "%.2fx", $0) } ?? "-",
                ])
            }
            out += "\n" + Self.alignedTable(brows)
            if let memT = kernels.compactMap(\.memory_T).first {
                out += "peak RSS at T = \(memT), each in a fresh process: the forward, and one forward + one backward\n"
            }
        }
        if !scaling.isEmpty {
            let lengths = Array(Set(scaling.map(\.T))).sorted()
            var srows = [["ns/token", "path"] + lengths.map { "T=\($0)" }]
            let keys = scaling.reduce(into: [String]()) { acc, p in
                let key = p.name + "|" + p.path
                if !acc.contains(key) { acc.append(key) }
            }
            for key in keys {
                let parts = key.split(separator: "|").map(String.init)
                var row = [parts[0], parts[1]]
                for t in lengths {
                    let p = scaling.first { $0.name == parts[0] && $0.path == parts[1] && $0.T == t }
                    row.append(p.map { String(format: "%.0f", $0.ns_per_token) } ?? "-")
                }
                srows.append(row)
            }
            out += "\n" + Self.alignedTable(srows)
            for key in keys {
                let parts = key.split(separator: "|").map(String.init)
                let its = lengths.compactMap { t -> String? in
                    scaling.first { $0.name == parts[0] && $0.path == parts[1] && $0.T == t }?.newton_iterations
                        .map { "\($0) at T=\(t)" }
                }
                if !its.isEmpty { out += "\(parts[0]) Newton iterations: " + its.joined(separator: ", ") + "\n" }
            }
        }
        if !targets.isEmpty {
            var trows = [["target", "value", "bound", "met"]]
            for t in targets {
                trows.append([
                    t.target, String(format: "%.4g", t.value), String(format: "%.4g", t.bound), t.met ? "yes" : "NO",
                ])
            }
            out += "\n" + Self.alignedTable(trows)
        }
        return out
    }

    /// Rows as columns padded to a common width (first column left-aligned, others right-aligned).
    package static func alignedTable(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in
            r.enumerated().map { i, s in
                i == 0
                    ? s.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[i] - s.count) + s
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
