/// A piece of text on its way through normalizer and pre-tokenizer: its scalars, and whether it
/// begins at offset 0 of the input (Metaspace's `prepend_scheme: "first"` depends on it).
struct Piece: Sendable {
    var scalars: [UInt32]
    var atStart: Bool
}

/// What a split does with the matches of its pattern (`tokenizers`' `SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// The pieces of `piece` given its segments (ranges flagged as matches, covering it in
    /// order); empty pieces are dropped, as `tokenizers` drops them.
    func apply(_ segments: [(Range<Int>, Bool)], to piece: Piece, into out: inout [Piece]) {
        var merged: [(Range<Int>, Bool)] = []
        switch self {
        case .removed: merged = segments.filter { !$0.1 }
        case .isolated: merged = segments
        case .mergedWithPrevious:
            var previousMatch = false
            for (r, m) in segments {
                if m, !previousMatch, let last = merged.last {
                    merged[merged.count - 1] = (last.0.lowerBound..<r.upperBound, last.1)
                } else {
                    merged.append((r, m))
                }
                previousMatch = m
            }
        case .mergedWithNext:
            var previousMatch = false
            for (r, m) in segments.reversed() {
                if m, !previousMatch, let last = merged.last {
                    merged[merged.count - 1] = (r.lowerBound..<last.0.upperBound, last.1)
                } else {
                    merged.append((r, m))
                }
                previousMatch = m
            }
            merged.reverse()
        case .contiguous:
            var previousMatch = false
            for (r, m) in segments {
                if m == previousMatch, let last = merged.last {
                    merged[merged.count - 1] = (last.0.lowerBound..<r.upperBound, last.1)
                } else {
                    merged.append((r, m))
                }
                previousMatch = m
            }
        }
        for (r, _) in merged where !r.isEmpty {
            out.append(Piece(scalars: Array(piece.scalars[r]), atStart: piece.atStart && r.lowerBound == 0))
        }
    }
}

/// Scratch space of one encoding call (the regex machine's backtracking stack).
struct EncodeScratch {
    var stack: [(Int, Int)] = []
}
