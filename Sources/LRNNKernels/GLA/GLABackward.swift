import LRNNLinearAlgebra

extension GLA {
    /// Gradients of the chunkwise GLA forward pass: dL/d(q, k, v, gk, initialState) for the loss
    /// `L = Σ output ⊙ outputGradient + Σ finalState ⊙ finalStateGradient`.
    ///
    /// Per head, with the chunk-start state `S` recomputed from the inputs (one pass of state updates,
    /// the chunk-start states kept per worker), a reverse pass over the chunks carries the state
    /// adjoint `dS` (K×V) from the chunk end to its start:
    ///
    ///     dQ = scale·(dO·Sᵀ) ⊙ exp(γ) + intra,           dK = (V·dSᵀ) ⊙ exp(γ_last − γ) + intra
    ///     dV = (K ⊙ exp(γ_last − γ))·dS + Pᵀ·dO,         dS ← diag(exp(γ_last))·dS + scale·(Q ⊙ exp(γ))ᵀ·dO
    ///
    /// where the intra-chunk terms differentiate `P` through `dP = scale·dO·Vᵀ` with the forward's
    /// overflow-safe sub-chunk factorisation (no exponent above the forward's bounds is formed), and
    /// the log-decay gradient is the reverse cumulative sum
    /// `dgk_t = Σ_{u ≥ t} (q_u ⊙ dq_u − k_u ⊙ dk_u) + Σ_v finalStateGradient ⊙ finalState` (per channel),
    /// as fla's `chunk_gla_bwd`. The derivation is in docs/kernels/gla.md. Work items are
    /// (sequence, head) pairs run by ``/LRNNLinearAlgebra/Threading/parallelFor(_:workers:_:)``, each
    /// worker with one workspace; every product is a BLAS level-3 call.
    ///
    /// A log-decay of −∞ is a reset as in the forward pass; its gradient is 0 (up to rounding).
    ///
    /// - Parameters:
    ///   - inputs: `q`, `k`, `gk` `[B, T, H, K]`, `v` `[B, T, H, V]`, `initialState` `[N, H, K, V]` or nil
    ///     for zeros; `gk` holds natural-log decays (≤ 0, or −∞).
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - sequences: Packed sequence boundaries (fla's `cu_seqlens`); requires B = 1 and must end at T.
    ///   - chunkSize: Tokens per chunk (≥ 1).
    ///   - subChunkSize: Tokens per sub-chunk (≥ 1; clamped to `chunkSize`).
    ///   - outputGradient: dL/d(output) `[B, T, H, V]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, H, K, V]`, or nil for zero.
    /// - Returns: The gradients as an ``Inputs`` value: `q`, `k`, `gk` `[B, T, H, K]` (`gk` with respect to
    ///   the log-decays), `v` `[B, T, H, V]`, and `initialState` `[N, H, K, V]` exactly when the inputs
    ///   have one.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming the input or cotangent
    ///   (`outputGradient`, `finalStateGradient`), ``KernelError/invalidSequenceBoundaries(reason:)``,
    ///   ``KernelError/nonFinite(tensor:)`` for NaN/±∞ in any input or cotangent (in gk: NaN/+∞),
    ///   ``KernelError/invalidArgument(name:reason:)`` for a positive gk, a non-finite scale or a chunk or
    ///   sub-chunk size below 1. Everything is checked before any work.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = GLA.defaultChunkSize, subChunkSize: Int = GLA.defaultSubChunkSize,
        outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?
    ) throws(KernelError) -> Inputs<T> {
        let problem = try backwardProblem(
            inputs, scale: scale, sequences: sequences, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, chunking: (chunkSize, subChunkSize))
        let (c, sub) = try validateChunking(chunkSize, subChunkSize)
        return try runChunkedBackward(
            problem, inputs, chunkSize: c, subChunkSize: sub, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient)
    }

    /// ``backward(_:scale:sequences:chunkSize:subChunkSize:outputGradient:finalStateGradient:)`` into
    /// caller-owned gradients, with a caller-owned workspace: the form for loops that run the backward
    /// again and again (training, benchmarks).
    ///
    /// Each tensor of `gradients` that already has the shape of its input is overwritten in place
    /// (every element is written); one of any other shape, or a missing `initialState`, is replaced by
    /// a new tensor, and `initialState` is set to nil when the inputs have none. The storage is reused
    /// only when the caller holds no other copy of those tensors (otherwise Swift's copy-on-write
    /// copies it first). The results are bit-identical to the allocating form's.
    ///
    /// - Parameters:
    ///   - inputs: As for the allocating form.
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - sequences: Packed sequence boundaries (fla's `cu_seqlens`); requires B = 1 and must end at T.
    ///   - chunkSize: Tokens per chunk (≥ 1).
    ///   - subChunkSize: Tokens per sub-chunk (≥ 1; clamped to `chunkSize`).
    ///   - outputGradient: dL/d(output) `[B, T, H, V]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, H, K, V]`, or nil for zero.
    ///   - workspace: The scratch memory kept between calls (``/LRNNKernels/BackwardWorkspace``).
    ///   - gradients: Receives dL/d(inputs), shaped as for the allocating form.
    /// - Throws: The errors of the allocating form, before any work; `gradients` is then unchanged.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = GLA.defaultChunkSize, subChunkSize: Int = GLA.defaultSubChunkSize,
        outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?, workspace: BackwardWorkspace<T>,
        gradients: inout Inputs<T>
    ) throws(KernelError) {
        let problem = try backwardProblem(
            inputs, scale: scale, sequences: sequences, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, chunking: (chunkSize, subChunkSize))
        let (c, sub) = try validateChunking(chunkSize, subChunkSize)
        try runChunkedBackward(
            problem, inputs, chunkSize: c, subChunkSize: sub, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, into: &gradients, workspace: workspace)
    }

    /// The same gradients as
    /// ``backward(_:scale:sequences:chunkSize:subChunkSize:outputGradient:finalStateGradient:)`` by
    /// differentiating the naive recurrence token by token: the backward's test oracle.
    ///
    /// Runs the recurrence `S_t = diag(a_t)·S_{t−1} + k_t·v_tᵀ`, `o_t = S_tᵀ·(scale·q_t)` with
    /// `a_t = exp(gk_t)` forward, keeping every state, then backward with the state adjoint
    /// `dS_t = scale·q_t·do_tᵀ + diag(a_{t+1})·dS_{t+1}` (`dS_T` starting from `finalStateGradient`):
    /// `dq_t = scale·S_t·do_t`, `dk_t = dS_t·v_t`, `dv_t = dS_tᵀ·k_t`,
    /// `dgk_t = a_t ⊙ rowsum(dS_t ⊙ S_{t−1})`, `dh0 = diag(a_1)·dS_1`. Memory: one sequence's states
    /// of one head at a time, `(length + 1)·K·V` elements.
    ///
    /// - Parameters:
    ///   - inputs: As for the chunked backward.
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - sequences: Packed sequence boundaries; requires B = 1 and must end at T.
    ///   - outputGradient: dL/d(output) `[B, T, H, V]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, H, K, V]`, or nil for zero.
    /// - Returns: The gradients, shaped as the inputs (`initialState` exactly when the inputs have one).
    /// - Throws: The errors of the chunked backward (without the chunking arguments).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func referenceBackward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, sequences: SequenceBoundaries? = nil,
        outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?
    ) throws(KernelError) -> Inputs<T> {
        let problem = try backwardProblem(
            inputs, scale: scale, sequences: sequences, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, chunking: nil)
        return runReferenceBackward(
            problem, inputs, outputGradient: outputGradient, finalStateGradient: finalStateGradient)
    }

    /// Validates a backward call: input shapes, boundaries and scale (``Problem``), the chunking, the
    /// cotangents' shapes, then the values of the final-state cotangent and, with `scanValues`, of
    /// the inputs and the output cotangent (``requireFiniteValues(_:outputGradient:)``).
    static func backwardProblem<T: LRNNScalar>(
        _ x: Inputs<T>, scale: T?, sequences: SequenceBoundaries?, outputGradient: Tensor<T>?,
        finalStateGradient: Tensor<T>?, chunking: (Int, Int)?, scanValues: Bool = true
    ) throws(KernelError) -> Problem<T> {
        let p = try Problem(
            q: x.q, k: x.k, v: x.v, gk: x.gk, scale: scale, initialState: x.initialState,
            cuSeqlens: sequences?.offsets, scanInputs: false)
        if let (c, sub) = chunking { _ = try validateChunking(c, sub) }
        if let dO = outputGradient {
            try KernelError.requireShape(dO, [p.batch, p.tokens, p.heads, p.valueDim], "outputGradient")
        }
        if let dht = finalStateGradient {
            try KernelError.requireShape(dht, [p.stateCount, p.heads, p.keyDim, p.valueDim], "finalStateGradient")
        }
        if scanValues { try requireFiniteValues(x, outputGradient: outputGradient) }
        if let dht = finalStateGradient { try GLA.requireFinite(dht, "finalStateGradient") }
        return p
    }

    /// The value checks of q, k, v, gk and the output cotangent, in that order.
    static func requireFiniteValues<T: LRNNScalar>(_ x: Inputs<T>, outputGradient: Tensor<T>?) throws(KernelError) {
        try GLA.requireFinite(x.q, "q")
        try GLA.requireFinite(x.k, "k")
        try GLA.requireFinite(x.v, "v")
        try GLA.requireLogDecay(x.gk)
        if let dO = outputGradient { try GLA.requireFinite(dO, "outputGradient") }
    }
}
