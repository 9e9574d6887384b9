import LRNNLinearAlgebra

extension DeltaRule {
    /// The delta rule token by token through ``step(q:k:v:beta:g:scale:numHouseholder:state:)``:
    /// fla's `fused_recurrent_delta_rule` / `fused_recurrent_gated_delta_rule`, the path a decoder
    /// takes.
    ///
    /// Without `sequences` every token advances all B batch entries at once (one `step` per
    /// token); with them each packed sequence runs alone from its own initial state. Each step
    /// is BLAS level 2 (gemv, ger) on the K×V state, so the cost is O(T·n·H·K·V) with no level-3
    /// blocking: ``chunked(_:scale:numHouseholder:sequences:chunkSize:)`` is the fast path for
    /// whole sequences.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:numHouseholder:sequences:chunkSize:)``.
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - numHouseholder: n ≥ 1.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    /// - Returns: the output `[B, T, H, V]` and the final states `[N, H, K, V]`.
    /// - Throws: the same ``KernelError``s as `chunked` (every input is scanned before any work).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func recurrent<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, numHouseholder: Int = 1, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        let x = inputs
        let p = try DeltaRuleProblem.validate(
            q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, initialState: x.initialState, sequences: sequences,
            numHouseholder: numHouseholder)
        let scale = try DeltaRuleProblem.resolveScale(scale, keyDim: p.keyDim)
        let n = p.householder
        var output = Tensor<T>.zeros(p.outputShape)
        var finalState = x.initialState ?? Tensor<T>.zeros(p.stateShape)
        // Groups of sequences that advance together: all batch entries, or one packed sequence.
        let groups: [(batches: Range<Int>, slots: Range<Int>, tokens: Range<Int>)] =
            sequences == nil
            ? [(0..<p.batch, 0..<p.batch, 0..<p.tokens)]
            : p.sequences.map { (0..<1, $0.stateSlot..<($0.stateSlot + 1), $0.start..<$0.end) }
        for group in groups where !group.tokens.isEmpty && !group.batches.isEmpty {
            var state = finalState.slice(batches: group.slots)
            for t in group.tokens {
                let steps = (t * n)..<((t + 1) * n)
                let o = try step(
                    q: x.q.slice(batches: group.batches, tokens: t..<(t + 1)),
                    k: x.k.slice(batches: group.batches, tokens: steps),
                    v: x.v.slice(batches: group.batches, tokens: steps),
                    beta: x.beta.slice(batches: group.batches, tokens: steps),
                    g: x.g?.slice(batches: group.batches, tokens: t..<(t + 1)), scale: scale, numHouseholder: n,
                    state: &state)
                output.replaceSlice(batches: group.batches, tokens: t..<(t + 1), with: o)
            }
            finalState.replaceSlice(batches: group.slots, with: state)
        }
        return (output, finalState)
    }
}
