import LRNNLinearAlgebra

/// ParaGRU: ParaRNN's diagonal multi-head GRU, a nonlinear recurrence solved in parallel over the
/// sequence by Newton's method (``ParaRNN``).
///
/// Per state channel n (head e = n / (D/Hh)), with the input projection `u = x·B + b` (one GEMM per head
/// over all tokens) and `h_{−1}` the initial state (zero when absent):
///
///     z = σ(A[0]·h_{t−1} + u[t,0]),  r = σ(A[1]·h_{t−1} + u[t,1]),  c = tanh(A[2]·h_{t−1}·r + u[t,2])
///     h_t = z·c + (1 − z)·h_{t−1}
///
/// Layout: `x [B, T, Din]`, `A [3, D]`, `B [Hh, Din/Hh, 3, D/Hh]`, `b [3, D]`, states `[N, D]`
/// (N = B, or the number of packed sequences when `sequences` is given; then B = 1), output
/// `h [B, T, D]`. The verbs of the kernel-family contract (docs/kernels/contract.md):
/// ``chunked(_:newton:sequences:chunkSize:)`` is the Newton-parallel form,
/// ``recurrent(_:sequences:)`` the sequential solve after the batched projection,
/// ``reference(_:sequences:)`` the naive token loop (the oracle), ``step(_:A:B:b:state:)`` one token,
/// ``backward(_:newton:sequences:chunkSize:outputGradient:finalStateGradient:)`` the adjoint and
/// ``referenceBackward(_:sequences:outputGradient:finalStateGradient:)`` its naive oracle.
///
/// NaN policy: NaN or ±∞ in any input is rejected with ``KernelError/nonFinite(tensor:)`` naming it.
///
/// Thread safety: static functions with no shared mutable state; any number of threads may call them
/// at once, each result bit-identical to the same call run alone.
///
/// Source: ParaRNN (Danieli et al., 2025), class `GRUDiagMH` (the paper's ParaGRU); the golden cases'
/// `pararnn_gru` op.
public enum ParaGRU {
    /// Everything a ParaGRU call differentiates, and, returned by the backward pass, their gradients
    /// (the same fields, each dL/d of the input).
    ///
    /// `Sendable`: a value of tensors.
    public struct Inputs<T: LRNNScalar>: Sendable {
        /// The input sequence `[B, T, Din]`.
        public var x: Tensor<T>
        /// The diagonal recurrent weights `[3, D]`: update gate, reset gate, candidate.
        public var A: Tensor<T>
        /// The block-diagonal input weights `[Hh, Din/Hh, 3, D/Hh]` (Hh heads).
        public var B: Tensor<T>
        /// The biases `[3, D]`.
        public var b: Tensor<T>
        /// The initial states `[N, D]`, or nil for zeros (a gradient: present exactly when in the inputs).
        public var initialState: Tensor<T>?

        /// The inputs (or gradients) of one call.
        ///
        /// - Parameters:
        ///   - x: `[B, T, Din]`.
        ///   - A: `[3, D]`.
        ///   - B: `[Hh, Din/Hh, 3, D/Hh]`.
        ///   - b: `[3, D]`.
        ///   - initialState: `[N, D]` or nil.
        public init(x: Tensor<T>, A: Tensor<T>, B: Tensor<T>, b: Tensor<T>, initialState: Tensor<T>? = nil) {
            self.x = x
            self.A = A
            self.B = B
            self.b = b
            self.initialState = initialState
        }
    }

    /// The Newton-parallel forward pass: the projection as one GEMM per head over all tokens,
    /// the initial guess `h_t = f(0, x_t)` (the first token of a sequence from its initial state), then
    /// Newton iterations, each a chunked parallel scan of `d_t = J_t·d_{t−1} + r_t` (per-chunk solves in
    /// parallel, the carries across chunks, the fix-up in parallel) and `h ← h + d`, until the residual
    /// `max |h_t − f(h_{t−1}, x_t)|` meets the tolerance. If it does not within `newton.maxIterations`
    /// (or an iterate overflows), the result is the sequential solve's and the report says so.
    ///
    /// - Parameters:
    ///   - inputs: `x`, `A`, `B`, `b` and an optional initial state.
    ///   - newton: the tolerance and the iteration cap.
    ///   - sequences: packed sequence boundaries (empty sequences allowed); requires B = 1.
    ///   - chunkSize: tokens per chunk of the scans (≥ 1).
    /// - Returns: the states `h [B, T, D]`, the final states `[N, D]` and the ``ParaRNN/NewtonReport``.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming the tensor,
    ///   ``KernelError/nonFinite(tensor:)``, ``KernelError/invalidSequenceBoundaries(reason:)``,
    ///   ``KernelError/invalidArgument(name:reason:)`` for a chunk size below 1 or bad Newton options.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, newton: ParaRNN.NewtonOptions = .default, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = ParaRNN.defaultChunkSize
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>, newton: ParaRNN.NewtonReport) {
        let p = try problem(inputs, sequences)
        try requireParaRNNChunkSize(chunkSize)
        try newton.validate()
        let u = ParaRNNProjection.forward(x: inputs.x, B: inputs.B, b: inputs.b, p)
        let r = newtonSolve(p, u: u, A: inputs.A, h0: inputs.initialState, chunkSize: chunkSize, options: newton)
        return (r.h.reshaped([p.batch, p.tokens, p.stateSize]), finalState(p, r.h, inputs.initialState), r.report)
    }

    /// The sequential solve after the batched projection: one GEMM per head over all tokens,
    /// then the cell token by token, in parallel over sequences and groups of channels (the fast
    /// sequential path Newton is measured against).
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:newton:sequences:chunkSize:)``.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    /// - Returns: `h [B, T, D]` and the final states `[N, D]`.
    /// - Throws: as ``chunked(_:newton:sequences:chunkSize:)``.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func recurrent<T: LRNNScalar>(
        _ inputs: Inputs<T>, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        let p = try problem(inputs, sequences)
        let u = ParaRNNProjection.forward(x: inputs.x, B: inputs.B, b: inputs.b, p)
        let h = sequentialSolve(p, u: u, A: inputs.A, h0: inputs.initialState)
        return (h.reshaped([p.batch, p.tokens, p.stateSize]), finalState(p, h, inputs.initialState))
    }

    /// The naive recurrence: for every token the projection by explicit sums, then the cell. The oracle.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:newton:sequences:chunkSize:)``.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    /// - Returns: `h [B, T, D]` and the final states `[N, D]`.
    /// - Throws: as ``chunked(_:newton:sequences:chunkSize:)``.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func reference<T: LRNNScalar>(
        _ inputs: Inputs<T>, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        let p = try problem(inputs, sequences)
        let h = runReference(p, inputs).h
        return (h.reshaped([p.batch, p.tokens, p.stateSize]), finalState(p, h, inputs.initialState))
    }

    /// One token for N sequences: `state ← f(state, x)`.
    ///
    /// - Parameters:
    ///   - x: one token per sequence, `[N, Din]`.
    ///   - A: `[3, D]`.
    ///   - B: `[Hh, Din/Hh, 3, D/Hh]`.
    ///   - b: `[3, D]`.
    ///   - state: `[N, D]`, advanced in place.
    /// - Returns: the new state `[N, D]` (the token's output).
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming `x`, a weight or `state`;
    ///   ``KernelError/nonFinite(tensor:)``. The state is unchanged after an error.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func step<T: LRNNScalar>(
        _ x: Tensor<T>, A: Tensor<T>, B: Tensor<T>, b: Tensor<T>, state: inout Tensor<T>
    ) throws(KernelError) -> Tensor<T> {
        guard x.rank == 2 else {
            throw .shapeMismatch(tensor: "x", shape: x.shape, expected: "[N, Din] (rank 2)")
        }
        let x3 = x.reshaped([x.shape[0], 1, x.shape[1]])
        let p = try ParaRNNProblem(x: x3, A: A, B: B, b: b, sequences: nil)
        try p.requireState(state, "state")
        let u = ParaRNNProjection.forward(x: x3, B: B, b: b, p)
        state = sequentialSolve(p, u: u, A: A, h0: state)
        return state
    }

    /// Gradients of the forward pass for `L = Σ h ⊙ outputGradient + Σ finalState ⊙ finalStateGradient`:
    /// the trajectory recomputed by the Newton-parallel forward, then the adjoint recurrence
    /// `λ_t = g_t + J_{t+1}·λ_{t+1}` (the transposed Jacobians; diagonal here) as a reverse chunked scan
    /// (per-chunk solves in parallel, the carries, the fix-up), the projected-input gradients `dU`
    /// elementwise, and `dx`, `dB` as GEMMs per head (db, dA as sums).
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:newton:sequences:chunkSize:)``.
    ///   - newton: the forward solver's options.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    ///   - chunkSize: tokens per chunk (≥ 1).
    ///   - outputGradient: dL/dh `[B, T, D]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, D]`, or nil for zero.
    /// - Returns: dL/d(x, A, B, b) and, when the inputs have one, dL/d(initialState).
    /// - Throws: as ``chunked(_:newton:sequences:chunkSize:)``, and for the cotangents'
    ///   shapes and values (`outputGradient`, `finalStateGradient`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, newton: ParaRNN.NewtonOptions = .default, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = ParaRNN.defaultChunkSize, outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?
    ) throws(KernelError) -> Inputs<T> {
        let p = try problem(inputs, sequences)
        try requireParaRNNChunkSize(chunkSize)
        try newton.validate()
        try p.requireOutputGradient(outputGradient, "outputGradient")
        try p.requireState(finalStateGradient, "finalStateGradient")
        return runBackward(
            p, inputs, newton: newton, chunkSize: chunkSize, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient)
    }

    /// The same gradients by differentiating the naive recurrence token by token: the backward's oracle.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:newton:sequences:chunkSize:)``.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    ///   - outputGradient: dL/dh `[B, T, D]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, D]`, or nil for zero.
    /// - Returns: as ``backward(_:newton:sequences:chunkSize:outputGradient:finalStateGradient:)``.
    /// - Throws: as ``backward(_:newton:sequences:chunkSize:outputGradient:finalStateGradient:)``.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func referenceBackward<T: LRNNScalar>(
        _ inputs: Inputs<T>, sequences: SequenceBoundaries? = nil, outputGradient: Tensor<T>?,
        finalStateGradient: Tensor<T>?
    ) throws(KernelError) -> Inputs<T> {
        let p = try problem(inputs, sequences)
        try p.requireOutputGradient(outputGradient, "outputGradient")
        try p.requireState(finalStateGradient, "finalStateGradient")
        return runReferenceBackward(p, inputs, outputGradient: outputGradient, finalStateGradient: finalStateGradient)
    }

    /// Validates the inputs (shapes, boundaries, values; the initial state last).
    static func problem<T: LRNNScalar>(_ x: Inputs<T>, _ sequences: SequenceBoundaries?) throws(KernelError)
        -> ParaRNNProblem
    {
        let p = try ParaRNNProblem(x: x.x, A: x.A, B: x.B, b: x.b, sequences: sequences)
        try p.requireState(x.initialState, "initialState")
        return p
    }

    /// The final state of every sequence: its last row of `h`, or its initial state when it is empty.
    static func finalState<T: LRNNScalar>(_ p: ParaRNNProblem, _ h: Tensor<T>, _ h0: Tensor<T>?) -> Tensor<T> {
        let d = p.stateSize
        var out = h0 ?? Tensor<T>.zeros([p.stateCount, d])
        h.withUnsafeBufferPointer { hb in
            out.withUnsafeMutableBufferPointer { ob in
                for (n, s) in p.sequences.enumerated() where s.length > 0 {
                    let row = s.batch * p.tokens + s.end - 1
                    for i in 0..<d { ob[n * d + i] = hb[row * d + i] }
                }
            }
        }
        return out
    }
}
