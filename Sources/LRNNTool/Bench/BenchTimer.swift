import Dispatch

/// Wall-clock timing helpers for benchmarks.
package enum BenchTimer {
    /// Monotonic seconds (for differences).
    package static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    /// Seconds taken by one call of `body`.
    package static func seconds(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    /// The median of `repeats` timed calls after one untimed warm-up; stops early once
    /// `budget` seconds have been spent (at least one timed call is always made).
    package static func median(repeats: Int, budget: Double = .infinity, warmup: Bool = true, _ body: () -> Void)
        -> Double
    {
        if warmup { body() }
        var times: [Double] = []
        var spent = 0.0
        for _ in 0..<max(1, repeats) {
            let t = seconds(body)
            times.append(t)
            spent += t
            if spent > budget { break }
        }
        times.sort()
        let n = times.count
        return n % 2 == 1 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2])
    }

    /// The fastest of `repeats` timed calls after an optional untimed warm-up, stopping early
    /// once `budget` seconds have been spent (at least one timed call is always made). On a
    /// shared machine the minimum is the least disturbed run, the robust estimate of the cost.
    package static func best(repeats: Int, budget: Double = .infinity, warmup: Bool = true, _ body: () -> Void)
        -> Double
    {
        if warmup { body() }
        var best = Double.infinity
        var spent = 0.0
        for _ in 0..<max(1, repeats) {
            let t = seconds(body)
            best = min(best, t)
            spent += t
            if spent > budget { break }
        }
        return best
    }
}
