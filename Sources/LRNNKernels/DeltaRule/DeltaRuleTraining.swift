import LRNNLinearAlgebra

extension DeltaRule {
    /// The training forward: ``chunked(_:scale:numHouseholder:sequences:chunkSize:output:finalState:)``
    /// that also keeps, in `saved`, what the backward would recompute (fla's forward keeping its
    /// values for `chunk_gated_delta_rule_bwd`).
    ///
    /// While it computes each chunk it stores U' = T·(diag(β)·V − diag(β ⊙ e^γ)·K·S),
    /// T = (I + diag(β)·Ã)⁻¹ and the masked, decayed [P; Ã] = [Q; K]·Kᵀ (docs/kernels/delta-rule.md)
    /// for the chunks its plan keeps (``Saved``), their chunk-start states S (with a gate; without one
    /// only that of the first chunk of every block of 8, the backward recomputes the others), and the
    /// state at each backward segment start. The output and final state equal the inference form's up to
    /// rounding (A = diag(β)·Ã is formed as (Ã ⊙ D)·β instead of Ã ⊙ (β·D)).
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:numHouseholder:sequences:chunkSize:)``.
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - numHouseholder: n ≥ 1.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - chunkSize: Householder steps per chunk; the backward must use the same.
    ///   - output: overwritten with the output; must have shape `[B, T, H, V]`.
    ///   - finalState: overwritten with the final states; must have shape `[N, H, K, V]`.
    ///   - saved: receives the saved values (its previous values are dropped).
    /// - Throws: as the caller-owned form, plus ``KernelError/invalidArgument(name:reason:)`` naming
    ///   `saved` when another call is using it. A call refused before it starts (an invalid
    ///   argument, `saved` in use) leaves `saved` as it was; one that fails while it computes leaves
    ///   `saved` holding no values.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, numHouseholder: Int = 1, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = DeltaRule.defaultChunkSize, output: inout Tensor<T>, finalState: inout Tensor<T>,
        saving saved: Saved<T>
    ) throws(KernelError) {
        try chunked(
            inputs, scale: scale, numHouseholder: numHouseholder, sequences: sequences, chunkSize: chunkSize,
            output: &output, finalState: &finalState, saving: saved, budget: DeltaRuleSavePlan.defaultBudget,
            stateBudget: backwardStateBudget, stateInterval: nil)
    }

    /// The training forward with the plan's budgets and block length as arguments (tests lower the
    /// budgets to reach partial saving and several segments on small problems, and choose the block
    /// length; nil is the default, `DeltaRuleSavePlan.defaultStateInterval`).
    static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T?, numHouseholder: Int, sequences: SequenceBoundaries?, chunkSize: Int,
        output: inout Tensor<T>, finalState: inout Tensor<T>, saving saved: Saved<T>, budget: Int, stateBudget: Int,
        stateInterval: Int? = nil
    ) throws(KernelError) {
        let x = inputs
        let p = try validateForward(
            x, numHouseholder: numHouseholder, sequences: sequences, chunkSize: chunkSize, output: output,
            finalState: finalState)
        let plan = savePlan(
            p, x, sequences: sequences, chunkSize: chunkSize, budget: budget, stateBudget: stateBudget,
            stateInterval: stateInterval)
        guard let base = saved.storage.acquireForWriting(plan) else {
            throw .invalidArgument(name: "saved", reason: "is in use by another call")
        }
        var done = false
        defer { saved.storage.release(plan: done ? plan : nil) }
        try run(
            p, q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, scale: scale, initialState: x.initialState,
            chunkSize: chunkSize, output: &output, finalState: &finalState, saving: (plan, base))
        done = true
    }

    /// The saved-values plan of a call: its chunks, the backward's segments and budget, and the
    /// key (shapes, n, gate, initial state and the sequence lengths) the backward checks.
    static func savePlan<T: LRNNScalar>(
        _ p: DeltaRuleProblem, _ x: Inputs<T>, sequences: SequenceBoundaries?, chunkSize: Int,
        budget: Int, stateBudget: Int, stateInterval: Int? = nil
    ) -> DeltaRuleSavePlan {
        let key =
            x.q.shape + [-1] + x.k.shape + [-1] + x.v.shape + [-1] + x.beta.shape + [
                -1, p.householder, p.gated ? 1 : 0, x.initialState != nil ? 1 : 0, -1,
            ]
            + p.sequences.map { $0.end - $0.start }  // lengths: nil and [0, T] boundaries are the same call
        return DeltaRuleSavePlan(
            p, chunkTokens: chunkTokens(p, chunkSize: chunkSize), stateBudget: stateBudget, budget: budget,
            stateInterval: stateInterval ?? DeltaRuleSavePlan.defaultStateInterval(p), key: key)
    }

    /// ``backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:workspace:gradients:)``
    /// after a training forward: the chunks whose values `saved` holds are not swept again, and
    /// neither are the segment-start states; the rest is recomputed as without saved values. The
    /// gradients equal the form without saved values up to rounding (the saved values come from the
    /// forward's products, the recomputed ones from the backward's own).
    ///
    /// - Parameters:
    ///   - inputs: the forward's inputs, the same values `saved` was filled from.
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - numHouseholder: n ≥ 1, as in the forward.
    ///   - sequences: optional packed-sequence boundaries, as in the forward.
    ///   - chunkSize: Householder steps per chunk, as in the forward.
    ///   - outputGradient: dL/d(output) `[B, T, H, V]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, H, K, V]`, or nil for zero.
    ///   - workspace: the scratch memory kept between calls (``/LRNNKernels/BackwardWorkspace``).
    ///   - gradients: receives dL/d(inputs), as for the form without saved values.
    ///   - saved: the values of
    ///     ``chunked(_:scale:numHouseholder:sequences:chunkSize:output:finalState:saving:)`` on these
    ///     inputs (read only: one forward's values serve any number of backward calls).
    /// - Throws: the errors of the form without saved values, and
    ///   ``KernelError/invalidArgument(name:reason:)`` naming `saved` when it holds no values, holds
    ///   those of a call with other shapes, n, gate, initial state, boundaries or chunk size, or is in
    ///   use by another call; all before any work (`gradients` is then unchanged) except
    ///   ``KernelError/nonFinite(tensor:)`` naming q, k, v or `outputGradient`, found as the pass reads
    ///   their rows (`gradients` then holds unspecified values).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, numHouseholder: Int = 1, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = DeltaRule.defaultChunkSize, outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?,
        workspace: BackwardWorkspace<T>, gradients: inout Inputs<T>, saved: Saved<T>
    ) throws(KernelError) {
        try backward(
            inputs, scale: scale, numHouseholder: numHouseholder, sequences: sequences, chunkSize: chunkSize,
            outputGradient: outputGradient, finalStateGradient: finalStateGradient, workspace: workspace,
            gradients: &gradients, saved: saved, stateBudget: backwardStateBudget)
    }

    /// The backward from saved values with the backward's state budget as an argument (tests lower
    /// it, with the forward's, to reach several segments on small problems).
    static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T?, numHouseholder: Int, sequences: SequenceBoundaries?, chunkSize: Int,
        outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?, workspace: BackwardWorkspace<T>?,
        gradients: inout Inputs<T>, saved: Saved<T>, stateBudget: Int
    ) throws(KernelError) {
        let p = try validateBackward(
            inputs, chunkSize: chunkSize, numHouseholder: numHouseholder, sequences: sequences,
            outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, scanRows: false)
        let scale = try DeltaRuleProblem.resolveScale(scale, keyDim: p.keyDim)
        guard let (plan, base) = saved.storage.acquireForReading() else {
            throw .invalidArgument(name: "saved", reason: "is in use by another call")
        }
        defer { saved.storage.releaseAfterReading() }
        guard let plan, let base else {
            throw .invalidArgument(name: "saved", reason: "holds no values: fill it with a training forward first")
        }
        // The saved plan must be the one this call's forward would have made (its budget may differ).
        let expected = savePlan(
            p, inputs, sequences: sequences, chunkSize: chunkSize, budget: 0, stateBudget: stateBudget)
        guard
            expected.key == plan.key && expected.chunkTokens == plan.chunkTokens
                && expected.segmentChunks == plan.segmentChunks
        else {
            throw .invalidArgument(
                name: "saved",
                reason: "holds the values of a forward with other shapes, constants, boundaries or chunk size")
        }
        try runBackward(
            p, inputs, scale: scale, chunkSize: chunkSize, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, into: &gradients, workspace: workspace, stateBudget: stateBudget,
            saved: (plan, base))
    }
}

extension DeltaRule {
    /// The checks every chunked forward into caller buffers makes, once: the chunk size, the
    /// inputs (``DeltaRuleProblem``) and the shapes of `output` and `finalState`.
    ///
    /// - Returns: the validated problem.
    /// - Throws: ``KernelError`` naming the first offending argument.
    static func validateForward<T: LRNNScalar>(
        _ x: Inputs<T>, numHouseholder: Int, sequences: SequenceBoundaries?, chunkSize: Int, output: Tensor<T>,
        finalState: Tensor<T>
    ) throws(KernelError) -> DeltaRuleProblem {
        guard chunkSize >= 1 else {
            throw .invalidArgument(name: "chunkSize", reason: "must be at least 1, got \(chunkSize)")
        }
        let p = try DeltaRuleProblem.validate(
            q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, initialState: x.initialState, sequences: sequences,
            numHouseholder: numHouseholder, scanSequences: false)
        try KernelError.requireShape(output, p.outputShape, "output")
        try KernelError.requireShape(finalState, p.stateShape, "finalState")
        return p
    }
}
