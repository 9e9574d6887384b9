import Foundation
import LRNNLinearAlgebra

/// Measures the machine's GEMM throughput: the peaks every other figure is compared to.
package enum GEMMBenchmark {
    /// GFLOP/s of `C ← A·B` for square n×n matrices in precision `T` on `threads` threads, best
    /// of `repeats` timed calls after one warm-up (`2n³` flops per product).
    ///
    /// OpenBLAS runs single-threaded under LinearRNN's threading policy, so the all-thread figure
    /// is what LinearRNN's own parallelism reaches: `threads` products of the same size at once,
    /// one per worker (``/LRNNLinearAlgebra/Threading/parallelFor(_:_:)``), each single-threaded —
    /// the work pattern of the kernels' parallel work items.
    package static func gflops<T: LRNNScalar>(_ type: T.Type, n: Int = 2048, threads: Int, repeats: Int = 3) -> Double {
        let workers = Swift.max(1, threads)
        var a = [T](repeating: 0, count: n * n)
        var b = [T](repeating: 0, count: n * n)
        for i in 0..<(n * n) {
            a[i] = T(Double((i * 7919) % 1000) / 1000 - 0.5)
            b[i] = T(Double((i * 104729) % 1000) / 1000 - 0.5)
        }
        var c = [T](repeating: 0, count: workers * n * n)
        var best = Double.infinity
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    let (ap, bp, cp) = (
                        UncheckedConstPointer(pa.baseAddress!), UncheckedConstPointer(pb.baseAddress!),
                        UncheckedMutablePointer(pc.baseAddress!)
                    )
                    for r in 0...repeats {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        Threading.parallelFor(workers) { w in
                            T._blasGemm(
                                .none, .none, n, n, n, 1, ap.pointer, n, bp.pointer, n, 0, cp.pointer + w * n * n, n)
                        }
                        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                        if r > 0 { best = min(best, dt) }
                    }
                }
            }
        }
        return Double(workers) * 2 * Double(n) * Double(n) * Double(n) / best / 1e9
    }
}

/// A read-only pointer shared by parallel work items.
private struct UncheckedConstPointer<T>: @unchecked Sendable {
    let pointer: UnsafePointer<T>
    init(_ pointer: UnsafePointer<T>) { self.pointer = pointer }
}

/// A pointer whose disjoint parts parallel work items write.
private struct UncheckedMutablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
