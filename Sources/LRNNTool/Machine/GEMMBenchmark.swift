import Foundation
import LRNNLinearAlgebra

/// Measures the machine's GEMM throughput: the peaks every other figure is compared to.
public enum GEMMBenchmark {
    /// GFLOP/s of `C ← A·B` for square n×n matrices in precision `T` with OpenBLAS limited to
    /// `threads`, best of `repeats` timed calls after one warm-up (`2n³` flops per call).
    public static func gflops<T: LRNNScalar>(_ type: T.Type, n: Int = 2048, threads: Int, repeats: Int = 3) -> Double {
        var a = [T](repeating: 0, count: n * n)
        var b = [T](repeating: 0, count: n * n)
        var c = [T](repeating: 0, count: n * n)
        for i in 0..<(n * n) {
            a[i] = T(Double((i * 7919) % 1000) / 1000 - 0.5)
            b[i] = T(Double((i * 104729) % 1000) / 1000 - 0.5)
        }
        return Threading.withBLASThreads(threads) {
            var best = Double.infinity
            for r in 0...repeats {
                let t0 = DispatchTime.now().uptimeNanoseconds
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            T.blasGemm(
                                .none, .none, n, n, n, 1, pa.baseAddress!, n, pb.baseAddress!, n, 0, pc.baseAddress!, n)
                        }
                    }
                }
                let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                if r > 0 { best = min(best, dt) }
            }
            return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
        }
    }
}
