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
        initialState: Tensor<T>?, cuSeqlens: [Int]?, numHouseholder n: Int, scanSequences: Bool = true
    ) throws(KernelError) -> DeltaRuleProblem {
        guard n >= 1 else {
            throw .invalidArgument(name: "numHouseholder", reason: "must be at least 1, got \(n)")
        }
        guard q.rank == 4, q.shape[3] >= 1 else {
            throw .shapeMismatch(tensor: "q", shape: q.shape, expected: "[B, T, H, K] with K ≥ 1")
        }
        let (b, t, h, dk) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
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
        var sequences: [Sequence]
        if let cu = cuSeqlens {
            guard b == 1 else {
                throw .invalidSequenceBoundaries(reason: "requires batch size B = 1, got B = \(b)")
            }
            let bounds = try KernelError.validateSequenceBoundaries(cu, total: t)
            sequences = (0..<(bounds.count - 1)).map {
                Sequence(batch: 0, start: bounds[$0], end: bounds[$0 + 1], stateSlot: $0)
            }
        } else {
            sequences = (0..<b).map { Sequence(batch: $0, start: 0, end: t, stateSlot: $0) }
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

    /// Throws ``KernelError/nonFinite(tensor:)`` when `tensor` holds NaN or ±∞.
    ///
    /// The scan works on the IEEE bit patterns (NaN and ±∞ are exactly the values whose exponent
    /// bits are all ones): shifts, masks and an OR-reduction, which the compiler vectorises, so
    /// the check runs at memory speed.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func requireFinite<T: LRNNScalar>(_ tensor: Tensor<T>, _ name: String) throws(KernelError) {
        let finite = tensor.withUnsafeBufferPointer { buf in
            buf.isEmpty || !containsNonFinite(buf.baseAddress!, count: buf.count)
        }
        if !finite { throw .nonFinite(tensor: name) }
    }

    /// Validates log decays `g`: every entry must be ≤ 0 or −∞ (a reset: `exp(−∞) = 0` zeroes the
    /// state before the token's update).
    ///
    /// - Throws: ``KernelError/nonFinite(tensor:)`` naming `g` for NaN or +∞,
    ///   ``KernelError/invalidArgument(name:reason:)`` for a positive finite entry.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func requireLogDecays<T: LRNNScalar>(_ g: Tensor<T>) throws(KernelError) {
        let bad = g.withUnsafeBufferPointer { buf in
            buf.isEmpty ? false : containsNaNOrPositiveInfinity(buf.baseAddress!, count: buf.count)
        }
        if bad { throw .nonFinite(tensor: "g") }
        if let bad = firstPositive(g) {
            throw .invalidArgument(name: "g", reason: "log decays must be ≤ 0, found \(bad)")
        }
    }

    /// Whether any of `count` scalars at `p` is NaN or +∞ (−∞ allowed), from the bit patterns
    /// (vectorisable): −∞ is mapped to 0 before the exponent test of ``containsNonFinite(_:count:)``.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @inline(__always)
    static func containsNaNOrPositiveInfinity<T: LRNNScalar>(_ p: UnsafePointer<T>, count: Int) -> Bool {
        let raw = UnsafeRawPointer(p)
        if MemoryLayout<T>.size == 4 && T.exponentBitCount == 8 {
            let bits = raw.assumingMemoryBound(to: UInt32.self)
            let negInf = (-Float.infinity).bitPattern
            var bad: UInt32 = 0
            for i in 0..<count {
                let b = bits[i] == negInf ? 0 : bits[i]
                bad |= (((b >> 23) & 0xFF) &+ 1) >> 8
            }
            return bad != 0
        }
        if MemoryLayout<T>.size == 8 && T.exponentBitCount == 11 {
            let bits = raw.assumingMemoryBound(to: UInt64.self)
            let negInf = (-Double.infinity).bitPattern
            var bad: UInt64 = 0
            for i in 0..<count {
                let b = bits[i] == negInf ? 0 : bits[i]
                bad |= (((b >> 52) & 0x7FF) &+ 1) >> 11
            }
            return bad != 0
        }
        for i in 0..<count where p[i].isNaN || p[i] == .infinity { return true }
        return false
    }

    /// The first positive element of `tensor` (a log decay that would make the state grow), if any.
    ///
    /// Counts the positive elements first (a branch-free loop that vectorises) and searches only
    /// when there is one.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func firstPositive<T: LRNNScalar>(_ tensor: Tensor<T>) -> T? {
        tensor.withUnsafeBufferPointer { buf in
            var positives = 0
            for x in buf { positives &+= x > 0 ? 1 : 0 }
            return positives == 0 ? nil : buf.first { $0 > 0 }
        }
    }

    /// Whether any of `count` scalars at `p` is NaN or ±∞, from the bit patterns (vectorisable).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @inline(__always)
    static func containsNonFinite<T: LRNNScalar>(_ p: UnsafePointer<T>, count: Int) -> Bool {
        let raw = UnsafeRawPointer(p)
        if MemoryLayout<T>.size == 4 && T.exponentBitCount == 8 {
            let bits = raw.assumingMemoryBound(to: UInt32.self)
            var bad: UInt32 = 0
            for i in 0..<count { bad |= (((bits[i] >> 23) & 0xFF) &+ 1) >> 8 }
            return bad != 0
        }
        if MemoryLayout<T>.size == 8 && T.exponentBitCount == 11 {
            let bits = raw.assumingMemoryBound(to: UInt64.self)
            var bad: UInt64 = 0
            for i in 0..<count { bad |= (((bits[i] >> 52) & 0x7FF) &+ 1) >> 11 }
            return bad != 0
        }
        for i in 0..<count where !p[i].isFinite { return true }
        return false
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
