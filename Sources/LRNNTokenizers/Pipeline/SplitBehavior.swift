/// What a split does with the matches of its pattern (`tokenizers`' `SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Appends the words that `segments` (absolute ranges flagged as matches, covering the word
    /// that starts at `wordStart` in order) make; empty ones are dropped, as `tokenizers` drops them.
    /// `merged` is scratch space.
    func apply(
        _ segments: [Segment], wordStart: Int, atStart: Bool, into out: inout [WordSpan], merged: inout [Segment]
    ) {
        func emit(_ s: Segment) {
            if s.end > s.start {
                out.append(WordSpan(start: s.start, end: s.end, atStart: atStart && s.start == wordStart))
            }
        }
        switch self {
        case .isolated:
            for s in segments { emit(s) }
            return
        case .removed:
            for s in segments where !s.isMatch { emit(s) }
            return
        case .mergedWithPrevious, .contiguous:
            merged.removeAll(keepingCapacity: true)
            var previousMatch = false
            for s in segments {
                let join = self == .contiguous ? s.isMatch == previousMatch : s.isMatch && !previousMatch
                if join, !merged.isEmpty {
                    merged[merged.count - 1].end = s.end
                } else {
                    merged.append(s)
                }
                previousMatch = s.isMatch
            }
        case .mergedWithNext:
            merged.removeAll(keepingCapacity: true)
            var previousMatch = false
            for s in segments.reversed() {
                if s.isMatch, !previousMatch, !merged.isEmpty {
                    merged[merged.count - 1].start = s.start
                } else {
                    merged.append(s)
                }
                previousMatch = s.isMatch
            }
            merged.reverse()
        }
        for s in merged { emit(s) }
    }
}
