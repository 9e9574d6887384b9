import Dispatch
import LRNNLinearAlgebra

/// Measures the machine's memory bandwidth with a STREAM-style triad in Swift.
package enum MemoryBandwidth {
    /// GB/s (10⁹ bytes) of `a[i] = b[i] + s·c[i]` over three Float arrays of `megabytes` MB
    /// each (far larger than the caches), split over ``Threading/workerCount`` work items;
    /// 12 bytes moved per element (two reads, one write), best of `repeats` after a warm-up.
    package static func triadGBs(megabytes: Int = 128, repeats: Int = 5) -> Double {
        let n = megabytes * 1_048_576 / 4
        var a = [Float](repeating: 0, count: n)
        let b = [Float](repeating: 1, count: n)
        let c = [Float](repeating: 2, count: n)
        let parts = Swift.max(1, Threading.workerCount)
        var best = Double.infinity
        a.withUnsafeMutableBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                c.withUnsafeBufferPointer { cb in
                    let (x, y, z) = (ab.baseAddress!, bb.baseAddress!, cb.baseAddress!)
                    for r in 0...repeats {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        Threading.parallelFor(parts) { part in
                            let lo = n * part / parts
                            let hi = n * (part + 1) / parts
                            for i in lo..<hi { x[i] = y[i] + 3 * z[i] }
                        }
                        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                        if r > 0 { best = Swift.min(best, dt) }
                    }
                }
            }
        }
        precondition(a[n / 2] == 7, "triad result")
        return 12 * Double(n) / best / 1e9
    }
}
