import LRNNLinearAlgebra

/// One independent recurrence of a kernel call: the tokens `start ..< end` of batch entry `batch`,
/// owning entry `slot` of the `[N, …]` initial and final states.
///
/// Without ``/LRNNLinearAlgebra/SequenceBoundaries`` sequence `b` is the whole of batch entry `b`;
/// with them (B = 1) sequence `s` is the packed range `offsets[s] ..< offsets[s + 1]` of entry 0.
struct PackedSequence: Sendable, Equatable {
    /// The batch entry holding the tokens.
    let batch: Int
    /// The first token.
    let start: Int
    /// One past the last token.
    let end: Int
    /// The sequence's entry in the state tensors.
    let slot: Int

    /// The number of tokens.
    var length: Int { end - start }
    /// The token range.
    var tokens: Range<Int> { start..<end }

    /// The sequences of a call over a `[B, T, …]` batch: one per batch entry, or one per packed
    /// sequence when `boundaries` is given.
    ///
    /// - Throws: ``KernelError/invalidSequenceBoundaries(reason:)`` when boundaries are given with
    ///   B ≠ 1 or do not end at T.
    static func resolve(
        batch b: Int, tokens t: Int, _ boundaries: SequenceBoundaries?
    ) throws(KernelError) -> [PackedSequence] {
        guard let boundaries else {
            return (0..<b).map { PackedSequence(batch: $0, start: 0, end: t, slot: $0) }
        }
        guard b == 1 else { throw .invalidSequenceBoundaries(reason: "requires batch size B = 1, got B = \(b)") }
        do {
            try boundaries.requireTotal(t)
        } catch {
            throw KernelError(error)
        }
        return (0..<boundaries.count).map {
            PackedSequence(batch: 0, start: boundaries.offsets[$0], end: boundaries.offsets[$0 + 1], slot: $0)
        }
    }
}

extension KernelError {
    /// The validated form of an optional `cu_seqlens` list: nil stays nil, anything else becomes
    /// ``/LRNNLinearAlgebra/SequenceBoundaries`` or throws.
    ///
    /// - Parameter cuSeqlens: fla's `cu_seqlens`, `[N + 1]`, or nil.
    /// - Returns: the boundaries, or nil.
    /// - Throws: ``invalidSequenceBoundaries(reason:)`` with the reason of the
    ///   ``/LRNNLinearAlgebra/SequenceBoundariesError``.
    public static func sequenceBoundaries(_ cuSeqlens: [Int]?) throws(KernelError) -> SequenceBoundaries? {
        guard let cuSeqlens else { return nil }
        do {
            return try SequenceBoundaries(cuSeqlens)
        } catch {
            throw KernelError(error)
        }
    }
}
