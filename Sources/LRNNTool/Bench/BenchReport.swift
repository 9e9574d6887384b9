import Foundation

/// One kernel's row of the `lrnn bench` table.
public struct KernelBenchResult: Codable, Sendable {
    /// Kernel name.
    public var name: String
    /// Batch size.
    public var B: Int
    /// Sequence length.
    public var T: Int
    /// Heads / channels.
    public var H: Int
    /// Key / state dimension.
    public var K: Int
    /// Value dimension.
    public var V: Int
    /// `"Float32"` or `"Float64"`.
    public var precision: String
    /// Median seconds of the chunk path.
    public var seconds: Double
    /// `B·T / seconds`.
    public var tokens_per_s: Double
    /// Effective GFLOP/s: the fixed flop count divided by the time.
    public var gflops: Double
    /// `gflops` over the all-thread sgemm peak measured in the same run.
    public var peak_fraction: Double
    /// Time of the token-by-token step path over the chunk path's.
    public var step_speedup: Double
    /// Time of the naive reference over the chunk path's.
    public var naive_speedup: Double
    /// Peak resident memory (MB) of a separate process running the chunk path once.
    public var peak_rss_mb: Double?
    /// Bytes of inputs and outputs at `memory_T`, in MB.
    public var io_mb: Double?
    /// The sequence length at which `peak_rss_mb` and `io_mb` were measured.
    public var memory_T: Int?
    /// Median seconds of the step path (the decoding step run token by token).
    public var step_seconds: Double
    /// Seconds of the naive reference.
    public var naive_seconds: Double
    /// The effective flop count's definition.
    public var flop_formula: String
}

/// One point of the scaling sweep.
public struct ScalingPoint: Codable, Sendable {
    /// Kernel name.
    public var name: String
    /// `"chunk"` or `"naive"`.
    public var path: String
    /// Sequence length.
    public var T: Int
    /// Nanoseconds per token (all heads).
    public var ns_per_token: Double
}

/// The whole `lrnn bench` report; `--json` prints exactly this object.
public struct BenchReport: Codable, Sendable {
    /// The machine (OpenBLAS core, threads).
    public var machine: [String: String]
    /// sgemm GFLOP/s at n = 2048: `{"1": x, "all": y}`.
    public var sgemm_gflops: [String: Double]
    /// One row per kernel at its standard shape.
    public var kernels: [KernelBenchResult]
    /// ns per token against T.
    public var scaling: [ScalingPoint]

    /// The report as pretty-printed JSON with sorted keys.
    public func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The aligned text tables.
    public func text() -> String {
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
        }
        return out
    }

    /// Rows as columns padded to a common width (first column left-aligned, others right-aligned).
    public static func alignedTable(_ rows: [[String]]) -> String {
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
