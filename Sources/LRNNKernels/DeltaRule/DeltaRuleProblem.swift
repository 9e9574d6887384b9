import LRNNLinearAlgebra

/// The validated dimensions of one delta-rule call and the token ranges of its sequences.
///
/// A *sequence* is one independent recurrence with its own initial and final state: batch
/// entry `b` without `cu_seqlens`, or the packed token range `cu[s] ..< cu[s+1]` of batch 0
/// with them. Token `t` of batch `b` owns the Householder steps `t·n ..< (t+1)·n` of that
/// batch entry's `k`, `v` and `beta` rows.
struct DeltaRuleProblem: Sendable {
    /// One independent recurrence: a batch entry and a half-open token range inside it.
    struct Sequence: Sendable {
        /// The batch entry holding the tokens.
        let batch: Int
        /// The first token.
        let start: Int
        /// One past the last token.
        let end: Int

        /// The index of this sequence's state for `head` in the `[N, H, K, V]` state tensor.
        func index(_ p: DeltaRuleProblem, head: Int) -> Int { stateSlot * p.heads + head }
        /// The sequence's position s in the state tensor.
        let stateSlot: Int
    }

    /// Batch size B.
    let batch: Int
    /// Tokens per batch entry T.
    let tokens: Int
    /// Heads H.
    let heads: Int
    /// Key dimension K.
    let keyDim: Int
    /// Value dimension V.
    let valueDim: Int
    /// Householder steps per token n.
    let householder: Int
    /// Whether a log-decay gate `g` is present.
    let gated: Bool
    /// The independent recurrences (N of them; each owns state slice `[s, h]`).
    let sequences: [Sequence]

    /// The shape of the output `[B, T, H, V]`.
    var outputShape: [Int] { [batch, tokens, heads, valueDim] }
    /// The shape of the initial and final states `[N, H, K, V]`.
    var stateShape: [Int] { [sequences.count, heads, keyDim, valueDim] }

    /// Checks every shape, the sequence boundaries and the values of a delta-rule call.
    ///
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming the tensor,
    ///   ``KernelError/invalidArgument(name:reason:)`` for `numHouseholder < 1` or a positive
    ///   log decay, ``KernelError/invalidSequenceBoundaries(reason:)`` for malformed
    ///   `cu_seqlens` (or B ≠ 1 with them), ``KernelError/nonFinite(tensor:)`` for NaN/±∞ inputs
    ///   (q, k and v only when `scanSequences`; the chunk kernel scans them while it gathers them)
    ///   and for NaN/+∞ in `g` (−∞ in `g` is a reset, see ``DeltaRule``).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func validate<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>?,
        initialState: Tensor<T>?, sequences boundaries: SequenceBoundaries?, numHouseholder n: Int,
        scanSequences: Bool = true
    ) throws(KernelError) -> DeltaRuleProblem {
        guard n >= 1 else {
            throw .invalidArgument(name: "numHouseholder", reason: "must be at least 1, got \(n)")
        }
        guard q.rank == 4, q.shape[3] >= 1 else {
            throw .shapeMismatch(tensor: "q", shape: q.shape, expected: "[B, T, H, K] with K ≥ 1")
        }
        let (b, t, h, dk) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        guard !t.multipliedReportingOverflow(by: n).overflow else {
            throw .invalidArgument(name: "numHouseholder", reason: "T·n overflows Int: T = \(t), n = \(n)")
        }
        guard k.shape == [b, t * n, h, dk] else {
            throw .shapeMismatch(tensor: "k", shape: k.shape, expected: "[B, T·n, H, K] = \([b, t * n, h, dk])")
        }
        guard v.rank == 4, Array(v.shape.prefix(3)) == [b, t * n, h], v.shape[3] >= 1 else {
            throw .shapeMismatch(
                tensor: "v", shape: v.shape, expected: "[B, T·n, H, V] = \([b, t * n, h]) + [V ≥ 1]")
        }
        let dv = v.shape[3]
        guard beta.shape == [b, t * n, h] else {
            throw .shapeMismatch(tensor: "beta", shape: beta.shape, expected: "[B, T·n, H] = \([b, t * n, h])")
        }
        if let g, g.shape != [b, t, h] {
            throw .shapeMismatch(tensor: "g", shape: g.shape, expected: "[B, T, H] = \([b, t, h])")
        }
        let sequences = try PackedSequence.resolve(batch: b, tokens: t, boundaries).map {
            Sequence(batch: $0.batch, start: $0.start, end: $0.end, stateSlot: $0.slot)
        }
        if let s0 = initialState {
            try KernelError.requireShape(s0, [sequences.count, h, dk, dv], "initialState")
        }
        if scanSequences {
            try requireFinite(q, "q")
            try requireFinite(k, "k")
            try requireFinite(v, "v")
        }
        try requireFinite(beta, "beta")
        if let g { try requireLogDecays(g) }
        if let s0 = initialState { try requireFinite(s0, "initialState") }
        return DeltaRuleProblem(
            batch: b, tokens: t, heads: h, keyDim: dk, valueDim: dv, householder: n, gated: g != nil,
            sequences: sequences)
    }

    /// ``validate(q:k:v:beta:g:initialState:sequences:numHouseholder:scanSequences:)`` with the
    /// boundaries as fla's `cu_seqlens` list (validated first).
    static func validate<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>?,
        initialState: Tensor<T>?, cuSeqlens: [Int]?, numHouseholder n: Int, scanSequences: Bool = true
    ) throws(KernelError) -> DeltaRuleProblem {
        try validate(
            q: q, k: k, v: v, beta: beta, g: g, initialState: initialState,
            sequences: KernelError.sequenceBoundaries(cuSeqlens), numHouseholder: n, scanSequences: scanSequences)
    }

    /// Throws ``KernelError/nonFinite(tensor:)`` when `tensor` holds NaN or ±∞ (the vectorised
    /// ``/LRNNLinearAlgebra/NonFiniteScan``).
    static func requireFinite<T: LRNNScalar>(_ tensor: Tensor<T>, _ name: String) throws(KernelError) {
        try KernelError.requireFinite(tensor, name)
    }

    /// Validates log decays `g`: every entry must be ≤ 0 or −∞ (a reset: `exp(−∞) = 0` zeroes the
    /// state before the token's update).
    ///
    /// - Throws: ``KernelError/nonFinite(tensor:)`` naming `g` for NaN or +∞,
    ///   ``KernelError/invalidArgument(name:reason:)`` for a positive finite entry.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func requireLogDecays<T: LRNNScalar>(_ g: Tensor<T>) throws(KernelError) {
        let found = NonFiniteScan.scan(g, allowingNegativeInfinity: true)
        if found.nonFinite { throw .nonFinite(tensor: "g") }
        if found.positive, let bad = g.scalars.first(where: { $0 > 0 }) {
            throw .invalidArgument(name: "g", reason: "log decays must be ≤ 0, found \(bad)")
        }
    }

    /// The attention scale: `scale` if given (it must be finite), else `1/√K`.
    ///
    /// - Throws: ``KernelError/invalidArgument(name:reason:)`` for a NaN or infinite scale.
    static func resolveScale<T: LRNNScalar>(_ scale: T?, keyDim: Int) throws(KernelError) -> T {
        guard let scale else { return 1 / T(keyDim).squareRoot() }
        guard scale.isFinite else { throw .invalidArgument(name: "scale", reason: "must be finite, got \(scale)") }
        return scale
    }
}
