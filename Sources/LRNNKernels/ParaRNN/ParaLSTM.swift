import LRNNLinearAlgebra

/// ParaLSTM: ParaRNN's diagonal multi-head LSTM with coupled input and forget gates (CIFG) and
/// peepholes, a nonlinear recurrence solved in parallel over the sequence by Newton's method
/// (``ParaRNN``). Its state is the pair (c, h), so each Newton step is a 2×2-block-diagonal linear
/// recurrence.
///
/// Per state channel, with the input projection `u = x·B + b` (one GEMM per head over all tokens), the
/// rows of `A`, `B`, `b` in the order forget (0), output (1), candidate (2):
///
///     f = σ(A[0]·h_{t−1} + u[t,0] + C[0]·c_{t−1}),   g = tanh(A[2]·h_{t−1} + u[t,2])
///     c_t = f·c_{t−1} + (1 − f)·g
///     o = σ(A[1]·h_{t−1} + u[t,1] + C[1]·c_t),        h_t = o·tanh(c_t)
///
/// Layout: `x [B, T, Din]`, `A [3, D]`, `B [Hh, Din/Hh, 3, D/Hh]`, `C [2, D]`, `b [3, D]`, states
/// ``State`` of two `[N, D]` tensors, outputs `h` and `c` `[B, T, D]`. The verbs are those of
/// ``ParaGRU``; the outputs add the cell states `cell`.
///
/// NaN policy: NaN or ±∞ in any input is rejected with ``KernelError/nonFinite(tensor:)`` naming it.
///
/// Thread safety: static functions with no shared mutable state; any number of threads may call them
/// at once.
///
/// Source: ParaRNN (Danieli et al., 2025), class `LSTMCIFGDiagMH` (the paper's ParaLSTM); the golden
/// cases' `pararnn_lstm` op.
public enum ParaLSTM {
    /// A ParaLSTM state (or its gradient): the cell state `c` and the hidden state `h`, each `[N, D]`.
    ///
    /// `Sendable`: a value of tensors.
    public struct State<T: LRNNScalar>: Sendable, Equatable {
        /// The cell states `[N, D]`.
        public var c: Tensor<T>
        /// The hidden states `[N, D]`.
        public var h: Tensor<T>

        /// A state from its parts.
        ///
        /// - Parameters:
        ///   - c: the cell states `[N, D]`.
        ///   - h: the hidden states `[N, D]`.
        public init(c: Tensor<T>, h: Tensor<T>) {
            self.c = c
            self.h = h
        }

        /// Zero states for `count` sequences of `size` channels.
        ///
        /// - Parameters:
        ///   - count: N.
        ///   - size: D.
        /// - Returns: `c = h = 0`, `[N, D]`.
        public static func zeros(count: Int, size: Int) -> State {
            State(c: Tensor<T>.zeros([count, size]), h: Tensor<T>.zeros([count, size]))
        }
    }

    /// Everything a ParaLSTM call differentiates, and, returned by the backward pass, their gradients.
    ///
    /// `Sendable`: a value of tensors.
    public struct Inputs<T: LRNNScalar>: Sendable {
        /// The input sequence `[B, T, Din]`.
        public var x: Tensor<T>
        /// The diagonal recurrent weights `[3, D]`: forget, output, candidate.
        public var A: Tensor<T>
        /// The block-diagonal input weights `[Hh, Din/Hh, 3, D/Hh]` (Hh heads).
        public var B: Tensor<T>
        /// The peepholes `[2, D]`: forget gate (on `c_{t−1}`), output gate (on `c_t`).
        public var C: Tensor<T>
        /// The biases `[3, D]`.
        public var b: Tensor<T>
        /// The initial state (c0, h0), or nil for zeros (a gradient: present exactly when in the inputs).
        public var initialState: State<T>?

        /// The inputs (or gradients) of one call.
        ///
        /// - Parameters:
        ///   - x: `[B, T, Din]`.
        ///   - A: `[3, D]`.
        ///   - B: `[Hh, Din/Hh, 3, D/Hh]`.
        ///   - C: `[2, D]`.
        ///   - b: `[3, D]`.
        ///   - initialState: `(c0, h0)`, each `[N, D]`, or nil.
        public init(
            x: Tensor<T>, A: Tensor<T>, B: Tensor<T>, C: Tensor<T>, b: Tensor<T>, initialState: State<T>? = nil
        ) {
            self.x = x
            self.A = A
            self.B = B
            self.C = C
            self.b = b
            self.initialState = initialState
        }
    }

    /// The Newton-parallel forward pass (as ``ParaGRU/chunked(_:newton:sequences:chunkSize:)``, with the
    /// 2×2-block Jacobians): the projection as GEMMs over all tokens, the initial guess
    /// `(c, h)_t = f(0, x_t)`, Newton iterations of chunked 2×2 scans until the residual over both state
    /// components meets the tolerance, else the sequential solve.
    ///
    /// - Parameters:
    ///   - inputs: `x`, `A`, `B`, `C`, `b` and an optional initial state.
    ///   - newton: the tolerance and the iteration cap.
    ///   - sequences: packed sequence boundaries (empty sequences allowed); requires B = 1.
    ///   - chunkSize: tokens per chunk of the scans (≥ 1).
    /// - Returns: `h [B, T, D]`, the cell states `c [B, T, D]`, the final states and the Newton report.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming the tensor,
    ///   ``KernelError/nonFinite(tensor:)``, ``KernelError/invalidSequenceBoundaries(reason:)``,
    ///   ``KernelError/invalidArgument(name:reason:)`` for a chunk size below 1 or bad Newton options.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, newton: ParaRNN.NewtonOptions = .default, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = ParaRNN.defaultChunkSize
    ) throws(KernelError) -> (output: Tensor<T>, cell: Tensor<T>, finalState: State<T>, newton: ParaRNN.NewtonReport) {
        let p = try problem(inputs, sequences)
        try requireParaRNNChunkSize(chunkSize)
        try newton.validate()
        let u = ParaRNNProjection.forward(x: inputs.x, B: inputs.B, b: inputs.b, p)
        let r = newtonSolve(p, u: u, inputs, chunkSize: chunkSize, options: newton)
        let shape = [p.batch, p.tokens, p.stateSize]
        return (r.h.reshaped(shape), r.c.reshaped(shape), finalState(p, r.c, r.h, inputs.initialState), r.report)
    }

    /// The sequential solve after the batched projection, in parallel over sequences and groups of channels.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:newton:sequences:chunkSize:)``.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    /// - Returns: `h`, `c` `[B, T, D]` and the final states.
    /// - Throws: as ``chunked(_:newton:sequences:chunkSize:)``.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func recurrent<T: LRNNScalar>(
        _ inputs: Inputs<T>, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, cell: Tensor<T>, finalState: State<T>) {
        let p = try problem(inputs, sequences)
        let u = ParaRNNProjection.forward(x: inputs.x, B: inputs.B, b: inputs.b, p)
        let (c, h) = sequentialSolve(p, u: u, inputs)
        let shape = [p.batch, p.tokens, p.stateSize]
        return (h.reshaped(shape), c.reshaped(shape), finalState(p, c, h, inputs.initialState))
    }

    /// The naive recurrence (the projection by explicit sums, then the cell token by token): the oracle.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:newton:sequences:chunkSize:)``.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    /// - Returns: `h`, `c` `[B, T, D]` and the final states.
    /// - Throws: as ``chunked(_:newton:sequences:chunkSize:)``.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func reference<T: LRNNScalar>(
        _ inputs: Inputs<T>, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, cell: Tensor<T>, finalState: State<T>) {
        let p = try problem(inputs, sequences)
        let r = runReference(p, inputs)
        let shape = [p.batch, p.tokens, p.stateSize]
        return (r.h.reshaped(shape), r.c.reshaped(shape), finalState(p, r.c, r.h, inputs.initialState))
    }

    /// One token for N sequences: `state ← f(state, x)`.
    ///
    /// - Parameters:
    ///   - x: one token per sequence, `[N, Din]`.
    ///   - A: `[3, D]`.
    ///   - B: `[Hh, Din/Hh, 3, D/Hh]`.
    ///   - C: `[2, D]`.
    ///   - b: `[3, D]`.
    ///   - state: `(c, h)`, each `[N, D]`, advanced in place.
    /// - Returns: the new hidden state `h [N, D]` (the token's output).
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming `x`, a weight or the state
    ///   (`state.c`, `state.h`); ``KernelError/nonFinite(tensor:)``. The state is unchanged after an error.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func step<T: LRNNScalar>(
        _ x: Tensor<T>, A: Tensor<T>, B: Tensor<T>, C: Tensor<T>, b: Tensor<T>, state: inout State<T>
    ) throws(KernelError) -> Tensor<T> {
        guard x.rank == 2 else {
            throw .shapeMismatch(tensor: "x", shape: x.shape, expected: "[N, Din] (rank 2)")
        }
        let x3 = x.reshaped([x.shape[0], 1, x.shape[1]])
        let inputs = Inputs(x: x3, A: A, B: B, C: C, b: b, initialState: state)
        let p = try ParaRNNProblem(x: x3, A: A, B: B, b: b, sequences: nil)
        try requireCell(p, inputs, states: ("state.c", "state.h"))
        let u = ParaRNNProjection.forward(x: x3, B: B, b: b, p)
        let (c, h) = sequentialSolve(p, u: u, inputs)
        state = State(c: c, h: h)
        return h
    }

    /// Gradients of the forward pass for `L = Σ h ⊙ outputGradient + Σ finalState ⊙ finalStateGradient`
    /// (both components): the trajectory recomputed by the Newton-parallel forward, then the adjoint
    /// `λ_t = g_t + J_{t+1}ᵀ·λ_{t+1}` with the transposed 2×2 Jacobians as a reverse chunked scan, the
    /// projected-input gradients elementwise, and `dx`, `dB` as GEMMs per head (db, dA, dC as sums).
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:newton:sequences:chunkSize:)``.
    ///   - newton: the forward solver's options.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    ///   - chunkSize: tokens per chunk (≥ 1).
    ///   - outputGradient: dL/dh `[B, T, D]`, or nil for zero.
    ///   - finalStateGradient: dL/d(final c, final h), each `[N, D]`, or nil for zero.
    /// - Returns: dL/d(x, A, B, C, b) and, when the inputs have one, dL/d(initial state).
    /// - Throws: as ``chunked(_:newton:sequences:chunkSize:)``, and for the cotangents' shapes and
    ///   values (`outputGradient`, `finalStateGradient.c`, `finalStateGradient.h`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, newton: ParaRNN.NewtonOptions = .default, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = ParaRNN.defaultChunkSize, outputGradient: Tensor<T>?, finalStateGradient: State<T>?
    ) throws(KernelError) -> Inputs<T> {
        let p = try problem(inputs, sequences)
        try requireParaRNNChunkSize(chunkSize)
        try newton.validate()
        try p.requireOutputGradient(outputGradient, "outputGradient")
        try p.requireState(finalStateGradient?.c, "finalStateGradient.c")
        try p.requireState(finalStateGradient?.h, "finalStateGradient.h")
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
    ///   - finalStateGradient: dL/d(final c, final h), or nil for zero.
    /// - Returns: as ``backward(_:newton:sequences:chunkSize:outputGradient:finalStateGradient:)``.
    /// - Throws: as ``backward(_:newton:sequences:chunkSize:outputGradient:finalStateGradient:)``.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func referenceBackward<T: LRNNScalar>(
        _ inputs: Inputs<T>, sequences: SequenceBoundaries? = nil, outputGradient: Tensor<T>?,
        finalStateGradient: State<T>?
    ) throws(KernelError) -> Inputs<T> {
        let p = try problem(inputs, sequences)
        try p.requireOutputGradient(outputGradient, "outputGradient")
        try p.requireState(finalStateGradient?.c, "finalStateGradient.c")
        try p.requireState(finalStateGradient?.h, "finalStateGradient.h")
        return runReferenceBackward(p, inputs, outputGradient: outputGradient, finalStateGradient: finalStateGradient)
    }

    /// Validates the inputs: shapes, boundaries and values of `x`, `A`, `B`, `b`, then `C` and the
    /// initial state.
    static func problem<T: LRNNScalar>(_ x: Inputs<T>, _ sequences: SequenceBoundaries?) throws(KernelError)
        -> ParaRNNProblem
    {
        let p = try ParaRNNProblem(x: x.x, A: x.A, B: x.B, b: x.b, sequences: sequences)
        try requireCell(p, x, states: ("initialState.c", "initialState.h"))
        return p
    }

    /// Checks `C` and the initial state's two tensors (named `states`).
    static func requireCell<T: LRNNScalar>(
        _ p: ParaRNNProblem, _ x: Inputs<T>, states: (String, String)
    ) throws(KernelError) {
        try KernelError.requireShape(x.C, [2, p.stateSize], "C")
        try KernelError.requireFinite(x.C, "C")
        try p.requireState(x.initialState?.c, states.0)
        try p.requireState(x.initialState?.h, states.1)
    }

    /// The final state of every sequence: its last rows of `c` and `h`, or its initial state when empty.
    static func finalState<T: LRNNScalar>(
        _ p: ParaRNNProblem, _ c: Tensor<T>, _ h: Tensor<T>, _ initial: State<T>?
    ) -> State<T> {
        State(c: ParaGRU.finalState(p, c, initial?.c), h: ParaGRU.finalState(p, h, initial?.h))
    }
}
