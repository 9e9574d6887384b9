import Foundation
import LRNNLinearAlgebra
import Testing

/// Per-index counters written by disjoint work items.
final class HitCounts: @unchecked Sendable {
    var hits: [Int]
    init(_ n: Int) { hits = Array(repeating: 0, count: n) }
}

// Serialized: these tests read and set OpenBLAS's process-wide thread count.
@Suite("Threading", .serialized)
struct ThreadingTests {
    @Test("parallelFor runs every index exactly once", arguments: [0, 1, 2, 3, 17, 1000])
    func coversEveryIndex(_ count: Int) {
        let counts = HitCounts(count)
        counts.hits.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress
            Threading.parallelFor(count) { i in p![i] += 1 }
        }
        #expect(counts.hits.allSatisfy { $0 == 1 })
    }

    @Test("parallelFor runs items with OpenBLAS single-threaded, then restores the thread count")
    func restoresBLASThreads() {
        let before = Threading.blasThreads
        #expect(before >= 1)
        let inside = HitCounts(8)
        inside.hits.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress
            Threading.parallelFor(8) { i in p![i] = Threading.blasThreads }
        }
        if Threading.workerCount > 1 {
            #expect(inside.hits.allSatisfy { $0 == 1 }, "OpenBLAS threads inside work items: \(inside.hits)")
        }
        #expect(Threading.blasThreads == before)
        // A single item runs inline and leaves OpenBLAS's count alone.
        var single = 0
        Threading.parallelFor(1) { _ in single = Threading.blasThreads }
        #expect(single == before)
        #expect(Threading.blasThreads == before)
    }

    @Test("nested parallelFor runs inline and still covers every index")
    func nested() {
        let counts = HitCounts(6 * 5)
        counts.hits.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress
            Threading.parallelFor(6) { i in
                Threading.parallelFor(5) { j in p![i * 5 + j] += 1 }
            }
        }
        #expect(counts.hits.allSatisfy { $0 == 1 })
    }

    @Test("withBLASThreads sets the count for its body and restores it")
    func withBLASThreads() {
        let before = Threading.blasThreads
        let seen = Threading.withBLASThreads(1) { Threading.blasThreads }
        #expect(seen == 1)
        #expect(Threading.blasThreads == before)
        // Counts below one are clamped to one.
        #expect(Threading.withBLASThreads(0) { Threading.blasThreads } == 1)
        #expect(Threading.blasThreads == before)
        #expect(Threading.workerCount >= 1)
        #expect(!Threading.blasCoreName.isEmpty && !Threading.blasConfiguration.isEmpty)
        #expect(["sequential", "pthreads", "OpenMP"].contains(Threading.blasParallelism))
    }

    @Test("when LinearRNN replaced OpenBLAS's fallback core, the replacement is in effect")
    func coreSelection() {
        if let replaced = Threading.replacedBLASCore {
            #expect(replaced == "Prescott")
            #expect(Threading.blasCoreName != replaced)
        } else {
            // Kept: either OpenBLAS recognised the CPU, or the user chose the core.
            let env = ProcessInfo.processInfo.environment
            #expect(
                Threading.blasCoreName != "Prescott" || env["OPENBLAS_CORETYPE"] != nil
                    || env["LRNN_KEEP_BLAS_CORE"] != nil || !Self.cpuHasAVX)
        }
    }

    /// Whether /proc/cpuinfo lists AVX (the least a replacement core needs).
    static var cpuHasAVX: Bool {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").contains("avx")
            ?? false
    }
}
