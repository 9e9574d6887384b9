import LRNNLinearAlgebra

extension DeltaRule {
    /// The gradients of the chunkwise delta rule: dL/d(inputs) for
    /// L = Σ output ⊙ `outputGradient` + Σ finalState ⊙ `finalStateGradient`.
    ///
    /// The forward is the recurrence of ``DeltaRule`` (per head, S the K×V state):
    ///
    ///     S ← exp(g_t)·S;   for j < n:  S ← (I − β k kᵀ)·S + β k vᵀ   (k, v, β of step t·n + j)
    ///     o_t = Sᵀ(scale·q_t)
    ///
    /// Per (sequence, head) work item, a forward sweep over the chunks stores each chunk's start
    /// state S_c, its corrected values U', its T = (I + A)⁻¹ and its masked products P and Ã (for
    /// a long sequence only every m-th state is kept and a segment of m chunks is swept again when
    /// the reverse pass reaches it); the reverse pass over the chunks then carries dS from chunk to
    /// chunk and differentiates the chunk's WY/UT form in BLAS level-3 products:
    ///
    ///     dU' = diag(e^{γ_c − γ})·K·dS' + Pᵀ·dO_s          dR = Tᵀ·dU'        dA = −dR·U'ᵀ
    ///     dS  = e^{γ_c}·dS' + Qᵀ·diag(e^{γ_pos})·dO_s − Kᵀ·diag(β ⊙ e^{γ})·dR
    ///
    /// (dS' the gradient of the next chunk's start state, dO_s = scale·dO), followed by dq, dk, dv,
    /// dβ and the gradient of every log-decay factor, which the reverse cumulative sum of the
    /// within-chunk log decays turns into dg. docs/kernels/delta-rule.md gives the derivation.
    /// A log decay of −∞ (or one whose exponential underflows) is a reset, as in the forward: its
    /// gradient is 0 and no gradient crosses it.
    ///
    /// Source: the backward of the compact WY representation in Yang et al. 2024, "Parallelizing
    /// Linear Transformers with the Delta Rule over Sequence Length" (fla's
    /// `chunk_delta_rule_bwd` / `chunk_gated_delta_rule_bwd`).
    ///
    /// - Parameters:
    ///   - inputs: the forward's inputs: `q` `[B, T, H, K]`, `k` `[B, T·n, H, K]`,
    ///     `v` `[B, T·n, H, V]`, `beta` `[B, T·n, H]`, optional `g` `[B, T, H]` (log decays ≤ 0,
    ///     −∞ a reset) and optional `initialState` `[N, H, K, V]`.
    ///   - scale: the query scale; `nil` means `1/√K` (a constant: not differentiated).
    ///   - numHouseholder: n ≥ 1, the Householder steps per token (a constant).
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - chunkSize: Householder steps per chunk (rounded down to a multiple of n, at least n).
    ///   - outputGradient: dL/d(output) `[B, T, H, V]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, H, K, V]`, or nil for zero.
    /// - Returns: the gradients as an ``Inputs`` value: `q`, `k`, `v`, `beta` of the inputs' shapes,
    ///   `g` exactly when the inputs have a gate (one value per token, the derivative with respect
    ///   to the log value) and `initialState` exactly when the inputs have one.
    /// - Throws: the forward's ``KernelError``s (``KernelError/shapeMismatch(tensor:shape:expected:)``,
    ///   ``KernelError/nonFinite(tensor:)``, ``KernelError/invalidArgument(name:reason:)``,
    ///   ``KernelError/invalidSequenceBoundaries(reason:)``), plus `shapeMismatch` and `nonFinite`
    ///   naming `outputGradient` or `finalStateGradient`, and `invalidArgument` naming `chunkSize`
    ///   when it is below 1.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, numHouseholder: Int = 1, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = DeltaRule.defaultChunkSize, outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?
    ) throws(KernelError) -> Inputs<T> {
        let p = try validateBackward(
            inputs, chunkSize: chunkSize, numHouseholder: numHouseholder, sequences: sequences,
            outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, scanRows: false)
        let scale = try DeltaRuleProblem.resolveScale(scale, keyDim: p.keyDim)
        return try runBackward(
            p, inputs, scale: scale, chunkSize: chunkSize, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient)
    }

    /// ``backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:)``
    /// into caller-owned gradients, with a caller-owned workspace: the form for loops that run
    /// the backward again and again (training, benchmarks).
    ///
    /// Each tensor of `gradients` that already has the shape of its input is overwritten in
    /// place (every element is written); one of any other shape, or a missing `g` or
    /// `initialState`, is replaced by a new tensor, and `g` and `initialState` are set to nil
    /// when the inputs have none. The gradients' storage is reused only when the caller holds no
    /// other copy of those tensors (otherwise Swift's copy-on-write copies it first). The results
    /// are bit-identical to the allocating form's.
    ///
    /// - Parameters:
    ///   - inputs: the forward's inputs, as for the allocating form.
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - numHouseholder: n ≥ 1, the Householder steps per token.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - chunkSize: Householder steps per chunk.
    ///   - outputGradient: dL/d(output) `[B, T, H, V]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, H, K, V]`, or nil for zero.
    ///   - workspace: the scratch memory kept between calls (``/LRNNKernels/BackwardWorkspace``).
    ///   - gradients: receives dL/d(inputs), shaped as for the allocating form.
    /// - Throws: the errors of the allocating form: all before any work (`gradients` is then
    ///   unchanged) except ``KernelError/nonFinite(tensor:)`` naming q, k, v or `outputGradient`,
    ///   which the pass finds as it reads their rows (`gradients` then holds unspecified values, as
    ///   the forward's `output` does when it throws).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, numHouseholder: Int = 1, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = DeltaRule.defaultChunkSize, outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?,
        workspace: BackwardWorkspace<T>, gradients: inout Inputs<T>
    ) throws(KernelError) {
        let p = try validateBackward(
            inputs, chunkSize: chunkSize, numHouseholder: numHouseholder, sequences: sequences,
            outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, scanRows: false)
        let scale = try DeltaRuleProblem.resolveScale(scale, keyDim: p.keyDim)
        try runBackward(
            p, inputs, scale: scale, chunkSize: chunkSize, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, into: &gradients, workspace: workspace)
    }

    /// Validates a backward call: the forward's checks (`DeltaRuleProblem.validate`) and the
    /// cotangents' shapes and values.
    ///
    /// - Parameter scanRows: whether to scan q, k, v and `outputGradient` for NaN/±∞ here; the
    ///   chunked backward passes false and scans them as it reads them (`runBackward`).
    /// - Throws: the forward's ``KernelError``s, ``KernelError/shapeMismatch(tensor:shape:expected:)``
    ///   or ``KernelError/nonFinite(tensor:)`` naming `outputGradient` or `finalStateGradient`.
    static func validateBackward<T: LRNNScalar>(
        _ x: Inputs<T>, chunkSize: Int, numHouseholder: Int, sequences: SequenceBoundaries?,
        outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?, scanRows: Bool = true
    ) throws(KernelError) -> DeltaRuleProblem {
        guard chunkSize >= 1 else {
            throw .invalidArgument(name: "chunkSize", reason: "must be at least 1, got \(chunkSize)")
        }
        let p = try DeltaRuleProblem.validate(
            q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, initialState: x.initialState,
            sequences: sequences, numHouseholder: numHouseholder, scanSequences: scanRows)
        if let d = outputGradient {
            try KernelError.requireShape(d, p.outputShape, "outputGradient")
            if scanRows { try DeltaRuleProblem.requireFinite(d, "outputGradient") }
        }
        if let d = finalStateGradient {
            try KernelError.requireShape(d, p.stateShape, "finalStateGradient")
            try DeltaRuleProblem.requireFinite(d, "finalStateGradient")
        }
        return p
    }

    /// Zero gradients of the inputs' shapes (`g` and `initialState` present as in `x`).
    static func zeroGradients<T: LRNNScalar>(like x: Inputs<T>) -> Inputs<T> {
        Inputs(
            q: Tensor(zeros: x.q.shape), k: Tensor(zeros: x.k.shape), v: Tensor(zeros: x.v.shape),
            beta: Tensor(zeros: x.beta.shape), g: x.g.map { Tensor(zeros: $0.shape) },
            initialState: x.initialState.map { Tensor(zeros: $0.shape) })
    }
}
