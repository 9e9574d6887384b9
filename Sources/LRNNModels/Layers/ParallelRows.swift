import LRNNLinearAlgebra

/// Runs `body` over `0..<count` split into contiguous ranges, one per worker, when the work
/// (`count · unitCost` elementary operations) is large enough to pay for the hand-off; inline
/// otherwise. Ranges are disjoint, so `body` may write disjoint memory concurrently.
@inline(__always)
func parallelRanges(_ count: Int, unitCost: Int, _ body: (Range<Int>) -> Void) {
    let workers = Swift.min(Threading.workerCount, count)
    if workers <= 1 || count * unitCost < 1 << 16 {
        body(0..<count)
        return
    }
    let step = (count + workers - 1) / workers
    Threading.parallelFor(workers) { w in
        let lo = w * step
        let hi = Swift.min(count, lo + step)
        if lo < hi { body(lo..<hi) }
    }
}
