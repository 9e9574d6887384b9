import Foundation
import Synchronization

/// LinearRNN's own helper threads: long-lived threads, each parked on its own semaphore until
/// a parallel region hands it a job, so that a helper starts within a thread wake-up of being
/// asked (a Dispatch `concurrentPerform` may leave the work to its caller when the system pool
/// is slow to lend a thread, which short, frequent regions measured as lost parallelism).
///
/// ``Threading`` decides how many helpers a region may have (its shared budget); the pool only
/// supplies that many idle threads, creating one when none is idle. A helper returns itself to
/// the idle list before reporting its job done, so the pool never holds more threads than the
/// largest number of helpers ever lent at once.
final class HelperPool: @unchecked Sendable {
    /// One helper thread and its mailbox.
    final class Helper: @unchecked Sendable {
        let wake = DispatchSemaphore(value: 0)
        /// The job and the worker index to run it as; written by the region before `wake`.
        var job: (run: (Int) -> Void, worker: Int, done: DispatchSemaphore)?
    }

    private let idle = Mutex<[Helper]>([])

    /// The process's pool.
    static let shared = HelperPool()

    /// Runs `run(worker)` on `count` helper threads, as workers `1...count`, and returns
    /// immediately; `done` is signalled once per helper when its call returns. `run` must stay
    /// valid until then (the caller waits on `done` `count` times before returning).
    func start(_ count: Int, _ run: @escaping (Int) -> Void, done: DispatchSemaphore) {
        var helpers = idle.withLock { list -> [Helper] in
            let n = Swift.min(count, list.count)
            let taken = Array(list.suffix(n))
            list.removeLast(n)
            return taken
        }
        while helpers.count < count { helpers.append(spawn()) }
        for (i, h) in helpers.enumerated() {
            h.job = (run, i + 1, done)
            h.wake.signal()
        }
    }

    /// How long an idle helper keeps polling for its next job before it sleeps (1 ms).
    ///
    /// A helper woken from sleep is often placed on its waker's core and migrates only later,
    /// which loses most of the parallelism of short regions issued back to back (an S5 sequence
    /// runs two regions per group of chunks, about 0.5 ms apart). Polling keeps it on its own
    /// core across such gaps; OpenBLAS's own threads do the same, for longer.
    static let pollNanoseconds: UInt64 = 1_000_000

    /// Waits for the helper's next job: polls its semaphore for ``pollNanoseconds``, then blocks.
    private static func waitForJob(_ h: Helper) {
        let deadline = DispatchTime.now().uptimeNanoseconds + pollNanoseconds
        while DispatchTime.now().uptimeNanoseconds < deadline {
            if h.wake.wait(timeout: .now()) == .success { return }
        }
        h.wake.wait()
    }

    private func spawn() -> Helper {
        let h = Helper()
        let thread = Thread { [unowned self] in
            while true {
                Self.waitForJob(h)
                guard h.job != nil else { continue }
                let done: DispatchSemaphore
                do {
                    // Every reference to the job is dropped before `done` is signalled: the
                    // region's closures must not outlive the region (they do not escape it).
                    let job = h.job!
                    h.job = nil
                    done = job.done
                    job.run(job.worker)
                }
                self.idle.withLock { $0.append(h) }
                done.signal()
            }
        }
        thread.name = "LinearRNN helper"
        thread.start()
        return h
    }
}
