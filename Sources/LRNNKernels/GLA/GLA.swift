import LRNNLinearAlgebra

/// Gated linear attention (GLA): a linear recurrence with a per-channel (data-dependent) decay.
///
/// Per head, with state `S` of size K×V and log-decay `gk_t ≤ 0` per key channel:
///
///     S_t = diag(exp(gk_t))·S_{t−1} + k_t·v_tᵀ,      o_t = S_tᵀ·(scale·q_t)
///
/// Special cases through the same API: a log-decay equal across the K channels of a head is the
/// scalar-decay ("simple GLA", RetNet-style) recurrence, and `gk = 0` is causal linear attention.
///
/// Layout follows fla: `q`, `k`, `gk` are `[B, T, H, K]`, `v` and the output `[B, T, H, V]`, states
/// `[N, H, K, V]` (N = B, or the number of packed sequences when `sequences` is given; then B must
/// be 1). The verbs of the kernel-family contract (docs/kernels/contract.md):
/// ``chunked(_:scale:sequences:chunkSize:subChunkSize:)`` is the fast parallel-in-time form,
/// ``recurrent(_:scale:sequences:)`` runs token by token through ``step(q:k:v:gk:scale:state:)``
/// (one decoding step), and ``reference(_:scale:sequences:)`` is the plain token loop the others
/// are tested against.
///
/// A log-decay of −∞ is a reset: exp(−∞) = 0 zeroes the channel's state row before the token's
/// update, in all three paths alike (as does any gk whose factor underflows or is flushed to 0);
/// this is the meaning ``DeltaRule`` gives g = −∞ too. See docs/kernels/gla.md.
///
/// NaN policy: a NaN or ±∞ in any input (in gk: NaN or +∞) is rejected with ``KernelError/nonFinite(tensor:)``
/// naming the tensor (the first of q, k, v, gk), and a positive log-decay with
/// ``KernelError/invalidArgument(name:reason:)``; nothing is returned. `reference` and `step`
/// scan q, k, v and gk up front (`step` then leaves the state unchanged; a non-finite entry already
/// in the state is found through the outputs it reaches); `chunked` checks shapes,
/// `cuSeqlens`, `scale` and `initialState` up front and scans q, k, v and gk in the pass that
/// first reads each chunk's rows.
///
/// Thread safety: static functions with no shared mutable state; any number of threads or tasks
/// may call them at once, and each call's result is bit-identical to the same call run alone
/// (``/LRNNLinearAlgebra/Threading``). Outputs and states are values the caller owns.
public enum GLA {
    /// The default number of tokens per chunk of ``chunked(_:scale:sequences:chunkSize:subChunkSize:)``
    /// (measured: see `docs/kernels/gla.md`).
    public static let defaultChunkSize: Int = 32

    /// The default number of tokens per sub-chunk: the intra-chunk attention matrix is built from GEMMs
    /// between sub-chunks and from a direct, exponent-free loop inside each diagonal sub-chunk.
    public static let defaultSubChunkSize: Int = 16

    /// Chunkwise-parallel GLA forward pass: fla's `chunk_gla`.
    ///
    /// Within a chunk of C tokens with in-chunk cumulative log-decay `γ_i = Σ_{t ≤ i} gk_t` and state `S`
    /// at the chunk start:
    ///
    ///     O = scale·(Q ⊙ exp(γ))·S + P·V,   P_ij = scale·Σ_c q_ic·k_jc·exp(γ_ic − γ_jc)  (j ≤ i)
    ///     S ← diag(exp(γ_last))·S + (K ⊙ exp(γ_last − γ))ᵀ·V
    ///
    /// Every exponential that is formed has a non-positive exponent (decay products of consecutive
    /// tokens), so strong decays underflow harmlessly instead of overflowing; see `docs/kernels/gla.md`.
    /// Heads × sequences run in parallel; the products are BLAS calls on views of the inputs.
    ///
    /// - Parameters:
    ///   - inputs: queries `q [B, T, H, K]`, keys `k [B, T, H, K]`, values `v [B, T, H, V]`, per-channel
    ///     log-decays `gk [B, T, H, K]` (every entry ≤ 0 or −∞, a reset) and an optional
    ///     `initialState [N, H, K, V]` (zeros when nil).
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - sequences: Packed sequence boundaries (empty sequences allowed). Requires B = 1.
    ///   - chunkSize: Tokens per chunk (≥ 1).
    ///   - subChunkSize: Tokens per sub-chunk (≥ 1; clamped to `chunkSize`).
    /// - Returns: The output `[B, T, H, V]` and the final states `[N, H, K, V]`.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming the tensor,
    ///   ``KernelError/invalidSequenceBoundaries(reason:)`` for boundaries with B ≠ 1 or not ending at T,
    ///   ``KernelError/nonFinite(tensor:)`` for NaN/±∞ inputs (NaN/+∞ in gk),
    ///   ``KernelError/invalidArgument(name:reason:)`` for a positive `gk` entry, a non-finite `scale`
    ///   or a chunk or sub-chunk size below 1.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = GLA.defaultChunkSize, subChunkSize: Int = GLA.defaultSubChunkSize
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        let x = inputs
        let problem = try Problem(
            q: x.q, k: x.k, v: x.v, gk: x.gk, scale: scale, initialState: x.initialState, sequences: sequences,
            scanInputs: false)
        let (c, sub) = try validateChunking(chunkSize, subChunkSize)
        // Every output row is written (first by a gemm with β = 0): no zero fill.
        let outputCount = problem.batch * problem.tokens * problem.heads * problem.valueDim
        var output = Tensor<T>(
            shape: [problem.batch, problem.tokens, problem.heads, problem.valueDim],
            scalars: [T](unsafeUninitializedCapacity: outputCount) { _, count in count = outputCount })
        var finalState =
            x.initialState
            ?? Tensor<T>.zeros([problem.stateCount, problem.heads, problem.keyDim, problem.valueDim])
        try runChunked(
            problem, q: x.q, k: x.k, v: x.v, gk: x.gk, chunkSize: c, subChunkSize: sub, output: &output,
            state: &finalState
        ).check(gk: x.gk)
        return (output, finalState)
    }

    /// Chunkwise-parallel GLA writing into caller-owned tensors, for callers that run it repeatedly
    /// (a serving loop, a benchmark): the same result as
    /// ``chunked(_:scale:sequences:chunkSize:subChunkSize:)`` without allocating the output or the state.
    ///
    /// An allocation above the allocator's mmap threshold (at most 32 MB with glibc) is mapped afresh
    /// on every call, and the kernel then pays one page fault per 4 KiB page of a fresh output as it
    /// first writes it; an output reused from call to call has its pages mapped already.
    ///
    /// - Parameters:
    ///   - inputs: as for the allocating form.
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - sequences: Packed sequence boundaries. Requires B = 1.
    ///   - chunkSize: Tokens per chunk (≥ 1).
    ///   - subChunkSize: Tokens per sub-chunk (≥ 1; clamped to `chunkSize`).
    ///   - output: overwritten with the output; must have shape `[B, T, H, V]`.
    ///   - finalState: overwritten with the final states; must have shape `[N, H, K, V]`.
    /// - Throws: as the allocating form, plus `KernelError.shapeMismatch` naming `output` or
    ///   `finalState`. Shapes, boundaries, `scale` and `initialState` are checked before anything
    ///   is written; q, k, v and gk are scanned as the kernel reads them, so after a
    ///   `KernelError.nonFinite` or a positive-`gk` error `output` and `finalState` hold
    ///   unspecified values.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = GLA.defaultChunkSize, subChunkSize: Int = GLA.defaultSubChunkSize,
        output: inout Tensor<T>, finalState: inout Tensor<T>
    ) throws(KernelError) {
        let x = inputs
        let (problem, c, sub) = try validateCallerOwned(
            x, scale: scale, sequences: sequences, chunkSize: chunkSize, subChunkSize: subChunkSize, output: output,
            finalState: finalState)
        finalState.resetState(from: x.initialState)
        try runChunked(
            problem, q: x.q, k: x.k, v: x.v, gk: x.gk, chunkSize: c, subChunkSize: sub, output: &output,
            state: &finalState
        ).check(gk: x.gk)
    }

    /// The naive GLA recurrence, one token at a time (the reference the chunked form is tested
    /// against: fla's `naive_recurrent_gla`).
    ///
    ///     S_t = diag(exp(gk_t))·S_{t−1} + k_t·v_tᵀ,      o_t = S_tᵀ·(scale·q_t)
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:sequences:chunkSize:subChunkSize:)``.
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - sequences: Packed sequence boundaries. Requires B = 1.
    /// - Returns: The output `[B, T, H, V]` and the final states `[N, H, K, V]`.
    /// - Throws: The same errors as the chunked form (every input is scanned before any work).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func reference<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        let x = inputs
        let problem = try Problem(
            q: x.q, k: x.k, v: x.v, gk: x.gk, scale: scale, initialState: x.initialState, sequences: sequences)
        return runReference(problem, q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: x.initialState)
    }

    /// GLA token by token through ``step(q:k:v:gk:scale:state:)``: fla's `fused_recurrent_gla`, the
    /// path a decoder takes.
    ///
    /// Without `sequences` every token advances all B batch entries at once; with them each packed
    /// sequence runs alone from its own initial state. Each step reads and writes every K×V state
    /// once, so the cost is O(T·H·K·V) without level-3 blocking:
    /// ``chunked(_:scale:sequences:chunkSize:subChunkSize:)`` is the fast path for whole sequences.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:sequences:chunkSize:subChunkSize:)``.
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - sequences: Packed sequence boundaries. Requires B = 1.
    /// - Returns: The output `[B, T, H, V]` and the final states `[N, H, K, V]`.
    /// - Throws: The same errors as the chunked form (every input is scanned before any work), and
    ///   ``KernelError/nonFinite(tensor:)`` naming `state` when a state overflows.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func recurrent<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        let x = inputs
        let p = try Problem(
            q: x.q, k: x.k, v: x.v, gk: x.gk, scale: scale, initialState: x.initialState, sequences: sequences)
        var output = Tensor<T>.zeros([p.batch, p.tokens, p.heads, p.valueDim])
        var finalState = x.initialState ?? Tensor<T>.zeros([p.stateCount, p.heads, p.keyDim, p.valueDim])
        // Groups of sequences that advance together: all batch entries, or one packed sequence.
        let groups: [(batches: Range<Int>, slots: Range<Int>, tokens: Range<Int>)] =
            sequences == nil
            ? [(0..<p.batch, 0..<p.batch, 0..<p.tokens)]
            : p.segments.enumerated().map {
                (0..<1, $0.offset..<($0.offset + 1), $0.element.start..<($0.element.start + $0.element.length))
            }
        for group in groups where !group.tokens.isEmpty && !group.batches.isEmpty {
            var state = finalState.slice(batches: group.slots)
            for t in group.tokens {
                let token = t..<(t + 1)
                let o = try step(
                    q: x.q.slice(batches: group.batches, tokens: token),
                    k: x.k.slice(batches: group.batches, tokens: token),
                    v: x.v.slice(batches: group.batches, tokens: token),
                    gk: x.gk.slice(batches: group.batches, tokens: token), scale: p.scale, state: &state)
                output.replaceSlice(batches: group.batches, tokens: token, with: o)
            }
            finalState.replaceSlice(batches: group.slots, with: state)
        }
        return (output, finalState)
    }

    /// ``chunked(_:scale:sequences:chunkSize:subChunkSize:)`` with separate tensors and fla's
    /// `cu_seqlens` list (the argument list of existing call sites).
    ///
    /// - Parameters:
    ///   - q: Queries `[B, T, H, K]`.
    ///   - k: Keys `[B, T, H, K]`.
    ///   - v: Values `[B, T, H, V]`.
    ///   - gk: Per-channel log-decays `[B, T, H, K]`.
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - initialState: `[N, H, K, V]`, zeros when `nil`.
    ///   - cuSeqlens: Packed sequence boundaries (validated as ``/LRNNLinearAlgebra/SequenceBoundaries``).
    ///   - chunkSize: Tokens per chunk (≥ 1).
    ///   - subChunkSize: Tokens per sub-chunk (≥ 1).
    /// - Returns: The output `[B, T, H, V]` and the final states `[N, H, K, V]`.
    /// - Throws: as ``chunked(_:scale:sequences:chunkSize:subChunkSize:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, scale: T? = nil,
        initialState: Tensor<T>? = nil, cuSeqlens: [Int]? = nil,
        chunkSize: Int = GLA.defaultChunkSize, subChunkSize: Int = GLA.defaultSubChunkSize
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        try chunked(
            Inputs(q: q, k: k, v: v, gk: gk, initialState: initialState), scale: scale,
            sequences: KernelError.sequenceBoundaries(cuSeqlens), chunkSize: chunkSize, subChunkSize: subChunkSize)
    }

    /// ``chunked(_:scale:sequences:chunkSize:subChunkSize:output:finalState:)`` with separate tensors
    /// and fla's `cu_seqlens` list (the argument list of existing call sites).
    ///
    /// - Parameters:
    ///   - q: Queries `[B, T, H, K]`.
    ///   - k: Keys `[B, T, H, K]`.
    ///   - v: Values `[B, T, H, V]`.
    ///   - gk: Per-channel log-decays `[B, T, H, K]`.
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - initialState: `[N, H, K, V]`, zeros when `nil`.
    ///   - cuSeqlens: Packed sequence boundaries.
    ///   - chunkSize: Tokens per chunk (≥ 1).
    ///   - subChunkSize: Tokens per sub-chunk (≥ 1).
    ///   - output: overwritten with the output `[B, T, H, V]`.
    ///   - finalState: overwritten with the final states `[N, H, K, V]`.
    /// - Throws: as ``chunked(_:scale:sequences:chunkSize:subChunkSize:output:finalState:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, scale: T? = nil,
        initialState: Tensor<T>? = nil, cuSeqlens: [Int]? = nil,
        chunkSize: Int = GLA.defaultChunkSize, subChunkSize: Int = GLA.defaultSubChunkSize,
        output: inout Tensor<T>, finalState: inout Tensor<T>
    ) throws(KernelError) {
        try chunked(
            Inputs(q: q, k: k, v: v, gk: gk, initialState: initialState), scale: scale,
            sequences: KernelError.sequenceBoundaries(cuSeqlens), chunkSize: chunkSize, subChunkSize: subChunkSize,
            output: &output, finalState: &finalState)
    }

    /// ``reference(_:scale:sequences:)`` with separate tensors and fla's `cu_seqlens` list (the
    /// argument list of existing call sites).
    ///
    /// - Parameters:
    ///   - q: Queries `[B, T, H, K]`.
    ///   - k: Keys `[B, T, H, K]`.
    ///   - v: Values `[B, T, H, V]`.
    ///   - gk: Per-channel log-decays `[B, T, H, K]`.
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - initialState: `[N, H, K, V]`, zeros when `nil`.
    ///   - cuSeqlens: Packed sequence boundaries.
    /// - Returns: The output `[B, T, H, V]` and the final states `[N, H, K, V]`.
    /// - Throws: as ``reference(_:scale:sequences:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func reference<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, scale: T? = nil,
        initialState: Tensor<T>? = nil, cuSeqlens: [Int]? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        try reference(
            Inputs(q: q, k: k, v: v, gk: gk, initialState: initialState), scale: scale,
            sequences: KernelError.sequenceBoundaries(cuSeqlens))
    }
}
