import Foundation
import LRNNLinearAlgebra

/// The machine as `lrnn info` and `lrnn bench` report it.
public struct MachineInfo: Codable, Sendable {
    /// OpenBLAS's selected core (e.g. `Cooperlake`).
    public var core: String
    /// The core OpenBLAS had fallen back to before LinearRNN replaced it, if it did.
    public var replacedCore: String?
    /// OpenBLAS's configuration string.
    public var configuration: String
    /// OpenBLAS's threading model.
    public var parallelism: String
    /// Worker threads LinearRNN uses.
    public var threads: Int
    /// The GEMM size measured.
    public var n: Int
    /// sgemm GFLOP/s with one thread and with all threads.
    public var sgemm: [String: Double]
    /// dgemm GFLOP/s with one thread and with all threads.
    public var dgemm: [String: Double]

    /// Measures GEMM at size n (with 1 and all threads) and reads OpenBLAS's configuration.
    public static func measure(n: Int = 2048) -> MachineInfo {
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
    public func text() -> String {
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
    public func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }
}
