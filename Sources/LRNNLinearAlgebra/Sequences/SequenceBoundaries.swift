/// The boundaries of packed variable-length sequences: fla's `cu_seqlens`, validated once.
///
/// Sequence `s` owns the packed tokens `offsets[s] ..< offsets[s + 1]` of batch entry 0. The
/// offsets start at 0 and never decrease; empty sequences (two equal offsets) are allowed. A
/// value of this type is always well formed: ``init(_:)`` is the only way to make one, and it
/// throws ``SequenceBoundariesError`` for anything else. Whether the boundaries fit a particular
/// tensor (the last offset equals its packed length T) is checked with ``requireTotal(_:)``.
///
/// `Sendable`: an immutable value.
///
/// Source: fla's `cu_seqlens` argument (`fla.ops.utils.prepare_lens`), a prefix sum of lengths.
public struct SequenceBoundaries: Sendable, Hashable, CustomStringConvertible {
    /// The cumulative offsets `[N + 1]`, starting at 0, non-decreasing.
    public let offsets: [Int]

    /// Validates `offsets`: at least two entries, the first 0, none negative, never decreasing.
    ///
    /// - Throws: ``SequenceBoundariesError`` naming the first violation.
    public init(_ offsets: [Int]) throws(SequenceBoundariesError) {
        guard offsets.count >= 2 else {
            throw SequenceBoundariesError(reason: "needs at least 2 entries, got \(offsets.count)")
        }
        guard offsets[0] == 0 else {
            throw SequenceBoundariesError(reason: "must start at 0, starts at \(offsets[0])")
        }
        for i in 1..<offsets.count where offsets[i] < offsets[i - 1] {
            throw SequenceBoundariesError(
                reason: "decreases at index \(i): \(offsets[i - 1]) then \(offsets[i])")
        }
        self.offsets = offsets
    }

    /// Boundaries from per-sequence lengths (each ≥ 0): the prefix sum `[0, l0, l0 + l1, …]`.
    ///
    /// - Throws: ``SequenceBoundariesError`` for an empty list, a negative length or an overflow.
    public init(lengths: [Int]) throws(SequenceBoundariesError) {
        guard !lengths.isEmpty else { throw SequenceBoundariesError(reason: "needs at least 1 length, got 0") }
        var offsets = [0]
        offsets.reserveCapacity(lengths.count + 1)
        for (i, length) in lengths.enumerated() {
            guard length >= 0 else { throw SequenceBoundariesError(reason: "length \(i) is negative: \(length)") }
            let (sum, overflow) = offsets[offsets.count - 1].addingReportingOverflow(length)
            guard !overflow else { throw SequenceBoundariesError(reason: "total length overflows at length \(i)") }
            offsets.append(sum)
        }
        self.offsets = offsets
    }

    /// The number of sequences N.
    @inlinable public var count: Int { offsets.count - 1 }

    /// The packed length T the boundaries cover (the last offset).
    @inlinable public var total: Int { offsets[offsets.count - 1] }

    /// The packed token range of sequence `s`.
    /// - Precondition: `0 ≤ s < count`.
    @inlinable public subscript(_ s: Int) -> Range<Int> {
        precondition(s >= 0 && s < count, "SequenceBoundaries: sequence \(s) of \(count)")
        return offsets[s]..<offsets[s + 1]
    }

    /// The length of sequence `s`.
    @inlinable public func length(_ s: Int) -> Int { offsets[s + 1] - offsets[s] }

    /// The longest sequence's length (0 when every sequence is empty).
    public var longest: Int { (0..<count).map(length).max() ?? 0 }

    /// Throws unless the boundaries end at the packed length `total`.
    ///
    /// - Throws: ``SequenceBoundariesError`` saying where they end and where they must.
    public func requireTotal(_ total: Int) throws(SequenceBoundariesError) {
        guard self.total == total else {
            throw SequenceBoundariesError(reason: "must end at the packed length \(total), ends at \(self.total)")
        }
    }

    /// `cu_seqlens=[0, …]`.
    public var description: String { "cu_seqlens=\(offsets)" }
}

/// Why a `cu_seqlens` list was refused: one sentence saying what is wrong with it.
///
/// Kernels report it as `KernelError.invalidSequenceBoundaries(reason:)` with the same reason.
public struct SequenceBoundariesError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong, e.g. "decreases at index 2: 5 then 3".
    public let reason: String

    /// An error with the given reason.
    public init(reason: String) { self.reason = reason }

    /// `cu_seqlens: <reason>`.
    public var description: String { "cu_seqlens: \(reason)" }
}

extension SequenceBoundaries {
    /// Validates `offsets` as boundaries of a packed length `total`: ``init(_:)`` then
    /// ``requireTotal(_:)``.
    ///
    /// - Parameters:
    ///   - offsets: fla's `cu_seqlens`, `[N + 1]`.
    ///   - total: the packed length T the boundaries must end at.
    /// - Throws: ``SequenceBoundariesError`` naming the first violation.
    public init(_ offsets: [Int], total: Int) throws(SequenceBoundariesError) {
        try self.init(offsets)
        try requireTotal(total)
    }
}
