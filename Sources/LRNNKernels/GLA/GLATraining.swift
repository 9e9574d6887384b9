import LRNNLinearAlgebra

extension GLA {
    /// The training forward: ``chunked(_:scale:sequences:chunkSize:subChunkSize:output:finalState:)``
    /// that also keeps, in `saved`, the chunk-start states and decay factors its backward would
    /// recompute (fla's `chunk_gla_fwd` keeping `h` for `chunk_gla_bwd`).
    ///
    /// As it advances each head's state S (K×V) chunk by chunk it writes the state at every chunk
    /// start and the final state into `saved` (``Saved``) for the sequences its plan keeps, instead of
    /// updating one state in place, and forms each chunk's decay factors exp(gk) there instead of in
    /// its workspace; the output and the final state are bit-identical to the caller-owned form's.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:sequences:chunkSize:subChunkSize:)``.
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - sequences: Packed sequence boundaries. Requires B = 1.
    ///   - chunkSize: Tokens per chunk (≥ 1); the backward must use the same.
    ///   - subChunkSize: Tokens per sub-chunk (≥ 1; clamped to `chunkSize`); the backward must use the same.
    ///   - output: overwritten with the output; must have shape `[B, T, H, V]`.
    ///   - finalState: overwritten with the final states; must have shape `[N, H, K, V]`.
    ///   - saved: receives the saved states (its previous values are dropped).
    /// - Throws: as the caller-owned form, plus ``KernelError/invalidArgument(name:reason:)`` naming
    ///   `saved` when another call is using it. A call refused before it starts (an invalid
    ///   argument, `saved` in use) leaves `saved` as it was; one that fails while it computes (a
    ///   non-finite input found by the scan) leaves `saved` holding no values.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = GLA.defaultChunkSize, subChunkSize: Int = GLA.defaultSubChunkSize,
        output: inout Tensor<T>, finalState: inout Tensor<T>, saving saved: Saved<T>
    ) throws(KernelError) {
        try chunked(
            inputs, scale: scale, sequences: sequences, chunkSize: chunkSize, subChunkSize: subChunkSize,
            output: &output, finalState: &finalState, saving: saved, budget: GLASavePlan.defaultBudget)
    }

    /// The training forward with the plan's budget as an argument (tests lower it to reach partial
    /// saving on small problems).
    static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T?, sequences: SequenceBoundaries?, chunkSize: Int, subChunkSize: Int,
        output: inout Tensor<T>, finalState: inout Tensor<T>, saving saved: Saved<T>, budget: Int
    ) throws(KernelError) {
        let x = inputs
        let (problem, c, sub) = try validateCallerOwned(
            x, scale: scale, sequences: sequences, chunkSize: chunkSize, subChunkSize: subChunkSize, output: output,
            finalState: finalState)
        let plan = savePlan(problem, x, chunkSize: c, subChunkSize: sub, budget: budget)
        guard let base = saved.storage.acquireForWriting(plan) else {
            throw .invalidArgument(name: "saved", reason: "is in use by another call")
        }
        var done = false
        defer { saved.storage.release(plan: done ? plan : nil) }
        finalState.resetState(from: x.initialState)
        try runChunked(
            problem, q: x.q, k: x.k, v: x.v, gk: x.gk, chunkSize: c, subChunkSize: sub, output: &output,
            state: &finalState, saving: (plan, base)
        ).check(gk: x.gk)
        done = true
    }

    /// The saved-states plan of a call: the sequences it keeps and the key (shapes, initial state,
    /// chunking and boundaries) the backward checks.
    static func savePlan<T: LRNNScalar>(
        _ p: Problem<T>, _ x: Inputs<T>, chunkSize: Int, subChunkSize: Int, budget: Int
    ) -> GLASavePlan {
        let lengths = p.segments.map(\.length)
        // The chunk size the kernels run with (clamped to the longest sequence).
        let c = Swift.min(chunkSize, Swift.max(1, lengths.max() ?? 0))
        let key =
            x.q.shape + [-1] + x.k.shape + [-1] + x.v.shape + [-1] + x.gk.shape + [
                -1, x.initialState != nil ? 1 : 0, c, Swift.min(subChunkSize, c), -1,
            ] + lengths
        return GLASavePlan(
            lengths: lengths, heads: p.heads, stateCount: p.keyDim * p.valueDim, keyDim: p.keyDim, chunkTokens: c,
            budget: budget,
            key: key)
    }

    /// ``backward(_:scale:sequences:chunkSize:subChunkSize:outputGradient:finalStateGradient:workspace:gradients:)``
    /// after a training forward: the chunk-start states and decay factors of the sequences `saved`
    /// holds are read instead of swept again and formed from gk; the others are recomputed as without
    /// saved values. The gradients are
    /// bit-identical to the form without saved values (the backward's sweep makes the same products
    /// as the forward).
    ///
    /// - Parameters:
    ///   - inputs: the forward's inputs, the same values `saved` was filled from.
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - sequences: Packed sequence boundaries, as in the forward.
    ///   - chunkSize: Tokens per chunk, as in the forward.
    ///   - subChunkSize: Tokens per sub-chunk, as in the forward.
    ///   - outputGradient: dL/d(output) `[B, T, H, V]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, H, K, V]`, or nil for zero.
    ///   - workspace: The scratch memory kept between calls (``/LRNNKernels/BackwardWorkspace``).
    ///   - gradients: Receives dL/d(inputs), as for the form without saved values.
    ///   - saved: the states of
    ///     ``chunked(_:scale:sequences:chunkSize:subChunkSize:output:finalState:saving:)`` on these
    ///     inputs (read only: one forward's values serve any number of backward calls).
    /// - Throws: the errors of the form without saved values, and
    ///   ``KernelError/invalidArgument(name:reason:)`` naming `saved` when it holds no values, holds
    ///   those of a call with other shapes, initial state, boundaries or chunking, or is in use by
    ///   another call; all before any work (`gradients` is then unchanged), except that when every
    ///   sequence's values were saved the pass scans q, k, v and `outputGradient` as it reads them:
    ///   ``KernelError/nonFinite(tensor:)`` naming one of them then comes after the pass, with
    ///   `gradients` holding unspecified values. On that path gk is not read (the saved decay factors
    ///   stand for it), so it must be the forward's, as every input must.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = GLA.defaultChunkSize, subChunkSize: Int = GLA.defaultSubChunkSize,
        outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?, workspace: BackwardWorkspace<T>,
        gradients: inout Inputs<T>, saved: Saved<T>
    ) throws(KernelError) {
        try backward(
            inputs, scale: scale, sequences: sequences, chunkSize: chunkSize, subChunkSize: subChunkSize,
            outputGradient: outputGradient, finalStateGradient: finalStateGradient, workspace: Optional(workspace),
            gradients: &gradients, saved: saved)
    }

    /// The backward from saved states with an optional workspace (tests pass none).
    static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T?, sequences: SequenceBoundaries?, chunkSize: Int, subChunkSize: Int,
        outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?, workspace: BackwardWorkspace<T>?,
        gradients: inout Inputs<T>, saved: Saved<T>
    ) throws(KernelError) {
        let problem = try backwardProblem(
            inputs, scale: scale, sequences: sequences, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, chunking: (chunkSize, subChunkSize), scanValues: false)
        let (c, sub) = try validateChunking(chunkSize, subChunkSize)
        guard let (plan, base) = saved.storage.acquireForReading() else {
            throw .invalidArgument(name: "saved", reason: "is in use by another call")
        }
        defer { saved.storage.releaseAfterReading() }
        guard let plan, let base else {
            throw .invalidArgument(name: "saved", reason: "holds no values: fill it with a training forward first")
        }
        // The saved plan must be the one this call's forward would have made (its budget may differ).
        let expected = savePlan(problem, inputs, chunkSize: c, subChunkSize: sub, budget: 0)
        guard expected.key == plan.key && expected.chunkTokens == plan.chunkTokens else {
            throw .invalidArgument(
                name: "saved", reason: "holds the values of a forward with other shapes, boundaries or chunking")
        }
        // The grouped path scans the values as it reads them; any other scans them here, first.
        if !savedPathScansInputs(plan, lengths: problem.segments.map(\.length)) {
            try requireFiniteValues(inputs, outputGradient: outputGradient)
        }
        try runChunkedBackward(
            problem, inputs, chunkSize: c, subChunkSize: sub, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, into: &gradients, workspace: workspace,
            saved: (plan, UnsafePointer(base)))
    }

    /// Validates a call into caller-owned output and state (the inference and the training forward):
    /// the inputs' shapes, boundaries and scale (``Problem``, values scanned later), the chunking and
    /// the shapes of `output` and `finalState`.
    static func validateCallerOwned<T: LRNNScalar>(
        _ x: Inputs<T>, scale: T?, sequences: SequenceBoundaries?, chunkSize: Int, subChunkSize: Int,
        output: Tensor<T>, finalState: Tensor<T>
    ) throws(KernelError) -> (problem: Problem<T>, chunkSize: Int, subChunkSize: Int) {
        let problem = try Problem(
            q: x.q, k: x.k, v: x.v, gk: x.gk, scale: scale, initialState: x.initialState, sequences: sequences,
            scanInputs: false)
        let (c, sub) = try validateChunking(chunkSize, subChunkSize)
        try KernelError.requireShape(
            output, [problem.batch, problem.tokens, problem.heads, problem.valueDim], "output")
        try KernelError.requireShape(
            finalState, [problem.stateCount, problem.heads, problem.keyDim, problem.valueDim], "finalState")
        return (problem, c, sub)
    }
}
