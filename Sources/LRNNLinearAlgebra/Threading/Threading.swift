import CLRNNBLAS
import CLRNNStartup
import Dispatch
import Foundation

/// The one place that decides how many threads OpenBLAS uses and how independent work
/// items run in parallel.
///
/// Policy (see docs/ARCHITECTURE.md):
/// - ``workerCount`` is the number of cores (or `LRNN_NUM_THREADS` when set).
/// - A kernel with several independent work items (one per batch entry × head, say) runs
///   them with ``parallelFor(_:_:)`` on up to ``workerCount`` threads, and OpenBLAS is set
///   to **one** thread for the duration, so the two levels never oversubscribe the cores.
/// - A kernel with a single work item (B·H = 1) or a large single product calls BLAS directly
///   and OpenBLAS uses all ``workerCount`` threads.
/// Debian's OpenBLAS has no batched GEMM; this is how LinearRNN batches over heads.
public enum Threading {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var configured = false
    nonisolated(unsafe) private static var nesting = 0

    nonisolated(unsafe) private static var workers: Int = {
        if let s = ProcessInfo.processInfo.environment["LRNN_NUM_THREADS"], let n = Int(s), n > 0 {
            return n
        }
        return Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// The number of worker threads: `LRNN_NUM_THREADS` if set to a positive integer, else
    /// the number of active processors, unless changed with ``setWorkerCount(_:)``.
    public static var workerCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return workers
    }

    /// Sets the number of worker threads (clamped to ≥ 1) and OpenBLAS's thread count with it.
    public static func setWorkerCount(_ n: Int) {
        configure()
        lock.lock()
        workers = Swift.max(1, n)
        openblas_set_num_threads(Int32(workers))
        lock.unlock()
    }

    /// The number of threads OpenBLAS currently uses for one call.
    public static var blasThreads: Int {
        configure()
        return Int(openblas_get_num_threads())
    }

    /// Sets the number of threads OpenBLAS uses for one call (clamped to ≥ 1).
    public static func setBLASThreads(_ n: Int) {
        configure()
        openblas_set_num_threads(Int32(Swift.max(1, n)))
    }

    /// Runs `body` with OpenBLAS limited to `n` threads, restoring the previous count after.
    public static func withBLASThreads<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
        configure()
        lock.lock()
        let previous = Int(openblas_get_num_threads())
        openblas_set_num_threads(Int32(Swift.max(1, n)))
        lock.unlock()
        defer {
            lock.lock()
            openblas_set_num_threads(Int32(previous))
            lock.unlock()
        }
        return try body()
    }

    /// Runs `body(i)` for every `i` in `0..<count`, spreading the items over up to
    /// ``workerCount`` threads with OpenBLAS single-threaded inside them.
    ///
    /// With one item or one worker, it runs inline and leaves OpenBLAS's thread count alone,
    /// so a lone item's BLAS calls may use every core. Nested calls run inline.
    /// `body` must be safe to call concurrently for distinct `i` (write disjoint memory).
    public static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        configure()
        lock.lock()
        let nested = nesting > 0
        lock.unlock()
        let workers = Swift.min(count, workerCount)
        if count == 1 || workers == 1 || nested {
            for i in 0..<count { body(i) }
            return
        }
        lock.lock()
        nesting += 1
        let previous = Int(openblas_get_num_threads())
        openblas_set_num_threads(1)
        lock.unlock()
        defer {
            lock.lock()
            nesting -= 1
            openblas_set_num_threads(Int32(previous))
            lock.unlock()
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            let counter = AtomicCounter()
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let i = counter.next()
                    if i >= count { break }
                    box.value(i)
                }
            }
        }
    }

    /// OpenBLAS's name for the compute kernels it selected, e.g. `"Cooperlake"`.
    public static var blasCoreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// The core OpenBLAS had fallen back to (`"Prescott"`) when LinearRNN replaced it at process
    /// start with the best kernels the CPU supports, or nil when OpenBLAS's own choice stands.
    ///
    /// OpenBLAS 0.3.21 does not recognise CPUs newer than itself and then uses generic SSE3
    /// kernels; `OPENBLAS_CORETYPE` or `LRNN_KEEP_BLAS_CORE` in the environment disables the fix.
    public static var replacedBLASCore: String? {
        lrnn_replaced_blas_core().map { String(cString: $0) }
    }

    /// OpenBLAS's build configuration string (version, threading model, max threads).
    public static var blasConfiguration: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p).trimmingCharacters(in: .whitespaces)
    }

    /// OpenBLAS's threading model: `"sequential"`, `"pthreads"` or `"OpenMP"`.
    public static var blasParallelism: String {
        switch openblas_get_parallel() {
        case 0: "sequential"
        case 1: "pthreads"
        case 2: "OpenMP"
        default: "unknown"
        }
    }

    private static func configure() {
        lock.lock()
        defer { lock.unlock() }
        if !configured {
            configured = true
            openblas_set_num_threads(Int32(workers))
        }
    }
}

/// Wraps a non-Sendable value whose concurrent use the caller has made safe.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A lock-protected counter handing out work-item indices.
final class AtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        let v = value
        value += 1
        return v
    }
}
