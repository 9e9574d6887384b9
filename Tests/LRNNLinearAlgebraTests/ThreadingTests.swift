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

    /// Runs `attempt` up to 10 times until it reports success. OpenBLAS's thread count is
    /// process-wide and other test targets in the same process may run `parallelFor` at the
    /// same moment; a broken restore fails every attempt, a concurrent region only some.
    static func eventually(_ attempt: () -> Bool) -> Bool {
        defer { Threading.setBLASThreads(Threading.workerCount) }
        for _ in 0..<10 where attempt() { return true }
        return false
    }

    /// Sets OpenBLAS to a known count above one (so a missing restore to it is visible) and returns it.
    static func knownThreadCount() -> Int {
        let n = max(2, Threading.workerCount)
        Threading.setBLASThreads(n)
        return n
    }

    @Test("parallelFor runs items with OpenBLAS single-threaded, then restores the thread count")
    func restoresBLASThreads() {
        #expect(Threading.blasThreads >= 1)
        let restored = Self.eventually {
            let before = Self.knownThreadCount()
            let inside = HitCounts(8)
            inside.hits.withUnsafeMutableBufferPointer { buf in
                let p = buf.baseAddress
                Threading.parallelFor(8) { i in p![i] = Threading.blasThreads }
            }
            let singleThreaded = Threading.workerCount == 1 || inside.hits.allSatisfy { $0 == 1 }
            return singleThreaded && Threading.blasThreads == before
        }
        #expect(restored, "OpenBLAS was not single-threaded inside work items or its count was not restored")
        // A single item runs inline and leaves OpenBLAS's count alone.
        let untouched = Self.eventually {
            let before = Self.knownThreadCount()
            var single = 0
            Threading.parallelFor(1) { _ in single = Threading.blasThreads }
            return single == before && Threading.blasThreads == before
        }
        #expect(untouched)
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
        let restored = Self.eventually {
            let before = Self.knownThreadCount()
            let seen = Threading.withBLASThreads(1) { Threading.blasThreads }
            // Counts below one are clamped to one.
            let clamped = Threading.withBLASThreads(0) { Threading.blasThreads }
            return seen == 1 && clamped == 1 && Threading.blasThreads == before
        }
        #expect(restored)
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
