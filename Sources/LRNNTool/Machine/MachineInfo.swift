import Foundation
import LRNNLinearAlgebra

/// The machine as `lrnn info` and `lrnn bench` report it.
package struct MachineInfo: Codable, Sendable {
    /// OpenBLAS's selected core (e.g. `Cooperlake`).
    package var core: String
    /// The core OpenBLAS had fallen back to before LinearRNN replaced it, if it did.
    package var replacedCore: String?
    /// OpenBLAS's configuration string.
    package var configuration: String
    /// OpenBLAS's threading model.
    package var parallelism: String
    /// Worker threads LinearRNN uses.
    package var threads: Int
    /// The GEMM size measured.
    package var n: Int
    /// sgemm GFLOP/s with one thread and with all threads.
    package var sgemm: [String: Double]
    /// dgemm GFLOP/s with one thread and with all threads.
    package var dgemm: [String: Double]

    /// JSON keys in snake_case, like every other `--json` output of the tool.
    enum CodingKeys: String, CodingKey {
        case core, configuration, parallelism, threads, n, sgemm, dgemm
        case replacedCore = "replaced_core"
    }

    /// Measures GEMM at size n (with 1 and all threads) and reads OpenBLAS's configuration.
    package static func measure(n: Int = 2048) -> MachineInfo {
        let all = Threading.workerCount
        return MachineInfo(
            core: Threading.blasCoreName, replacedCore: Threading.replacedBLASCore,
            configuration: Threading.blasConfiguration,
            parallelism: Threading.blasParallelism, threads: all, n: n,
            sgemm: [
                "1": GEMMBenchmark.gflops(Float.self, n: n, threads: 1),
                "all": GEMMBenchmark.gflops(Float.self, n: n, threads: all),
            ],
            dgemm: [
                "1": GEMMBenchmark.gflops(Double.self, n: n, threads: 1),
                "all": GEMMBenchmark.gflops(Double.self, n: n, threads: all),
            ])
    }

    /// The aligned text report.
    package func text() -> String {
        func f(_ x: Double?) -> String { String(format: "%8.1f", x ?? .nan) }
        let replaced = replacedCore.map { " (selected by LinearRNN; OpenBLAS had fallen back to \($0))" } ?? ""
        return """
            OpenBLAS core        \(core)\(replaced)
            OpenBLAS config      \(configuration)
            OpenBLAS threading   \(parallelism)
            worker threads       \(threads)
            GEMM GFLOP/s at n = \(n)     1 thread   \(threads) threads
              sgemm (Float32)       \(f(sgemm["1"]))   \(f(sgemm["all"]))
              dgemm (Float64)       \(f(dgemm["1"]))   \(f(dgemm["all"]))
            """
    }

    /// The report as one JSON object.
    package func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }
}
