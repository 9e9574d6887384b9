import CLRNNBLAS
import CLRNNStartup
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one place that decides how many threads OpenBLAS uses and how independent work
/// items run in parallel. Every member is safe to call from any thread at any time.
///
/// Policy (see docs/ARCHITECTURE.md, "Threading policy"):
/// - **OpenBLAS runs single-threaded, always.** Its thread count (``blasThreads``) is set to 1 at
///   process start and LinearRNN offers no way to raise it: the count is process-wide, so a
///   raised count would reach every other thread's BLAS calls. A single-threaded BLAS call's
///   result depends only on its arguments; OpenBLAS 0.3.21's multi-threaded gemm and gemv results
///   change in the last bits with the thread count, and its threaded drivers lock concurrent callers.
/// - **LinearRNN parallelises itself.** A kernel with several independent work items runs them
///   with ``parallelFor(_:_:)`` on up to ``workerCount`` threads. An item's result never depends
///   on which thread runs it or what else runs at the time, so every call is bit-identical to the
///   same call run alone.
/// - **Nesting is per thread.** A `parallelFor` called from inside another one's work item (on
///   that region's threads) runs inline; one called on any other thread is a region of its own.
/// - **Helpers are shared.** All concurrent regions together use at most ``workerCount`` − 1
///   helper threads besides their callers; a region started when every helper is busy runs
///   inline on its caller's thread. The cores are never oversubscribed by LinearRNN.
public enum Threading {
    /// The process-wide configuration, changed only under ``state``'s lock.
    private struct State {
        /// ``workerCount``.
        var workers: Int
        /// Parallel regions with helper threads running now (any thread).
        var activeRegions = 0
        /// Helper threads lent to running regions now.
        var helpersInUse = 0
    }

    private static let state = Mutex(State(workers: defaultWorkerCount))

    /// `LRNN_NUM_THREADS` if set to an integer in 1...1024, else the number of active processors.
    private static var defaultWorkerCount: Int {
        // The same range as `lrnn bench --threads`; other values are ignored.
        if let s = ProcessInfo.processInfo.environment["LRNN_NUM_THREADS"], let n = Int(s), (1...1024).contains(n) {
            return n
        }
        return Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The number of threads a parallel region may use, its caller included: `LRNN_NUM_THREADS`
    /// if set to an integer in 1...1024, else the number of active processors, unless changed with
    /// ``setWorkerCount(_:)``.
    public static var workerCount: Int {
        state.withLock { $0.workers }
    }

    /// Sets ``workerCount`` (clamped to ≥ 1). OpenBLAS's thread count is not affected.
    ///
    /// Regions already running keep the helpers they have; the new count applies to regions
    /// started afterwards. Kernels that size their work items by ``workerCount`` split their
    /// work differently after a change, which may change their results in the last bits; it is a
    /// process setting, meant to be made before computations start (`lrnn bench --threads`).
    /// - Parameter n: the new number of workers.
    public static func setWorkerCount(_ n: Int) {
        state.withLock { s in
            s.workers = Swift.max(1, n)
        }
    }

    /// The number of threads OpenBLAS uses for one call: 1, set at process start and never
    /// changed by LinearRNN (see the type's policy).
    ///
    /// There is deliberately no way to raise it through LinearRNN: OpenBLAS's count is one
    /// process-wide setting, so a raised count would make every other thread's BLAS calls run
    /// multi-threaded at the same time, with results that depend on the count and on OpenBLAS
    /// 0.3.21's locking of concurrent threaded calls. Throughput beyond one core comes from
    /// ``parallelFor(_:_:)``.
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

    /// Whether the current thread is running a work item of a ``parallelFor(_:_:)`` region
    /// (a ``parallelFor(_:_:)`` called now would run inline).
    public static var isInParallelRegion: Bool { nestingDepth > 0 }

    /// The number of parallel regions with helper threads running now, on any thread.
    public static var activeRegionCount: Int { state.withLock { $0.activeRegions } }

    /// Runs `body(i)` for every `i` in `0..<count`, spreading the items over up to
    /// ``workerCount`` threads (the caller's among them) with OpenBLAS single-threaded.
    ///
    /// Runs inline, in index order, when there is one item or one worker, when called from inside
    /// another region's work item, or when every helper thread is lent to other callers'
    /// regions. Which thread runs an item is never visible in the result.
    /// `body` must be safe to call concurrently for distinct `i` (write disjoint memory).
    /// - Parameters:
    ///   - count: the number of items (≤ 0: nothing runs).
    ///   - body: the work of one item.
    public static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        parallelFor(count, workers: Int.max) { item, _ in body(item) }
    }

    /// Runs `body(item, worker)` for every `item` in `0..<count`, where `worker` identifies the
    /// thread running the item among the region's threads, for per-worker workspaces.
    ///
    /// `worker` is in `0..<min(count, workers, workerCount)`, and no two items run concurrently
    /// with the same `worker`, so `body` may use workspace `worker` without a lock. Inline runs
    /// use worker 0. Otherwise as ``parallelFor(_:_:)``.
    /// - Parameters:
    ///   - count: the number of items (≤ 0: nothing runs).
    ///   - workers: the most workers to use (the number of workspaces the caller has; ≥ 1).
    ///   - body: the work of one item, given the item and the worker index.
    public static func parallelFor(_ count: Int, workers: Int, _ body: (_ item: Int, _ worker: Int) -> Void) {
        if count <= 0 { return }
        let wanted = Swift.min(count, Swift.max(1, workers))
        if wanted == 1 || nestingDepth > 0 {
            for i in 0..<count { body(i, 0) }
            return
        }
        // Borrow helpers from the shared budget; with none left, run inline.
        let helpers = state.withLock { s -> Int in
            // ≥ 0 even when setWorkerCount has lowered the budget below what is lent now.
            let lent = Swift.max(0, Swift.min(Swift.min(wanted, s.workers) - 1, s.workers - 1 - s.helpersInUse))
            if lent > 0 {
                s.helpersInUse += lent
                s.activeRegions += 1
            }
            return lent
        }
        if helpers == 0 {
            for i in 0..<count { body(i, 0) }
            return
        }
        defer {
            state.withLock { s in
                s.helpersInUse -= helpers
                s.activeRegions -= 1
            }
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            let next = Atomic<Int>(0)
            // Items are taken dynamically, so a helper that wakes late still finds work left.
            let work: (Int) -> Void = { worker in
                enterRegion()
                defer { leaveRegion() }
                while true {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    if i >= count { break }
                    box.value(i, worker)
                }
            }
            let done = DispatchSemaphore(value: 0)
            withoutActuallyEscaping(work) { work in
                HelperPool.shared.start(helpers, work, done: done)
                work(0)
                // `work` and `body` stay valid until every helper has returned from them.
                for _ in 0..<helpers { done.wait() }
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

    // MARK: Per-thread nesting

    /// The current thread's region depth (0 outside every region).
    private static var nestingDepth: Int {
        Int(bitPattern: pthread_getspecific(nestingKey))
    }

    /// Marks the current thread as running work items of a region.
    private static func enterRegion() {
        pthread_setspecific(nestingKey, UnsafeRawPointer(bitPattern: nestingDepth + 1))
    }

    /// Undoes ``enterRegion()``.
    private static func leaveRegion() {
        pthread_setspecific(nestingKey, UnsafeRawPointer(bitPattern: nestingDepth - 1))
    }
}

/// The pthread key holding each thread's region depth as a pointer-sized integer (no allocation,
/// no destructor; a thread that has never entered a region reads 0).
private let nestingKey: pthread_key_t = {
    var key = pthread_key_t()
    let rc = pthread_key_create(&key, nil)
    precondition(rc == 0, "Threading: pthread_key_create failed (\(rc))")
    return key
}()

/// Wraps a non-Sendable value whose concurrent use the caller has made safe.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
