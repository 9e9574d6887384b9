import LRNNKernels
import LRNNLinearAlgebra

/// A ParaRNN token mixer (for stacks assembled in code): ParaRNN's ParaGRU or ParaLSTM cell over the
/// hidden states, then `o_proj` back to the model width.
///
///     h = Cell(x)   (x [tokens, hidden] → h [tokens, D], the cell's own projection u = x·B + b inside)
///     out = o_proj(h)  [tokens, hidden]   (out = h without the projection)
///
/// Prefill runs the Newton-parallel forward (``/LRNNKernels/ParaGRU/chunked(_:newton:sequences:chunkSize:)``
/// or the ``/LRNNKernels/ParaLSTM`` one), decoding the cell's `step`. Parameters under
/// `model.layers.{i}.attn.`: `A [3, D]`, `B [Hh, hidden/Hh, 3, D/Hh]`, `b [3, D]`, `C [2, D]` (LSTM),
/// `o_proj.weight [hidden, D]`. Random initialisation: A, C ~ U(±0.5) (the papers' scale),
/// B ~ N(0, 1/(hidden/Hh)), b = 0, o_proj N(0, std²). The recurrent state of ``MixerState`` is
/// `[N, D]` (GRU) or `[N, 2·D]` (LSTM: c, then h).
public struct ParaRNNMixer<T: LRNNScalar>: TokenMixer {
    /// The configuration.
    public let configuration: ParaRNNConfiguration
    /// The model width.
    public let hiddenSize: Int
    /// The state size D.
    public let stateSize: Int
    /// `A [3, D]`.
    public internal(set) var A: Tensor<T>
    /// `B [Hh, hidden/Hh, 3, D/Hh]`.
    public internal(set) var B: Tensor<T>
    /// `b [3, D]`.
    public internal(set) var b: Tensor<T>
    /// `C [2, D]` (LSTM), nil for the GRU.
    public internal(set) var C: Tensor<T>?
    /// `o_proj` `[hidden, D]`, nil without the projection.
    public internal(set) var oProj: Linear<T>?

    /// The mixer with its extents; its parameters are supplied by a ``ParameterWalk``.
    init(_ c: ParaRNNConfiguration, hiddenSize h: Int) {
        configuration = c
        hiddenSize = h
        stateSize = c.resolvedStateSize(hiddenSize: h)
        A = Tensor(zeros: [0])
        B = Tensor(zeros: [0])
        b = Tensor(zeros: [0])
        C = c.isLSTM ? Tensor(zeros: [0]) : nil
        oProj = c.useOutputProjection ? Linear(outFeatures: h, inFeatures: stateSize) : nil
    }

    /// `A [3, D]`, `B [heads, hidden/heads, 3, D/heads]`, `b [3, D]`, `C [2, D]` (LSTM), `o_proj`
    /// (with the output projection).
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        let h = hiddenSize
        let d = stateSize
        let hh = configuration.numHeads
        try walk.parameter("A", &A, shape: [3, d], initializer: .uniform(bound: 0.5))
        try walk.parameter(
            "B", &B, shape: [hh, h / hh, 3, d / hh], initializer: .normal(std: 1 / Double(h / hh).squareRoot()))
        try walk.parameter("b", &b, shape: [3, d], initializer: .zeros)
        if C != nil { try walk.parameter("C", &C!, shape: [2, d], initializer: .uniform(bound: 0.5)) }
        if oProj != nil { try walk.child("o_proj", &oProj!) }
    }

    /// The Newton options of the configuration.
    var newton: ParaRNN.NewtonOptions { ParaRNN.NewtonOptions(maxIterations: configuration.newtonMaxIterations) }

    /// A zero state: `[N, D]` (GRU) or `[N, 2·D]` (LSTM).
    public func makeState(sequences n: Int) -> MixerState<T> {
        MixerState(conv: [], recurrent: Tensor<T>.zeros([n, (configuration.isLSTM ? 2 : 1) * stateSize]))
    }

    /// The LSTM's `[N, 2·D]` state as its two halves.
    func lstmState(_ s: Tensor<T>) -> ParaLSTM.State<T> {
        let (n, d) = (s.count / (2 * stateSize), stateSize)
        var c = [T]()
        var h = [T]()
        c.reserveCapacity(n * d)
        h.reserveCapacity(n * d)
        for i in 0..<n {
            c += s.scalars[(2 * i * d)..<((2 * i + 1) * d)]
            h += s.scalars[((2 * i + 1) * d)..<((2 * i + 2) * d)]
        }
        return ParaLSTM.State(c: Tensor(shape: [n, d], scalars: c), h: Tensor(shape: [n, d], scalars: h))
    }

    /// The two halves as one `[N, 2·D]` state.
    func packedState(_ s: ParaLSTM.State<T>) -> Tensor<T> {
        let (n, d) = (s.c.shape[0], stateSize)
        var out = [T]()
        out.reserveCapacity(2 * n * d)
        for i in 0..<n {
            out += s.c.scalars[(i * d)..<((i + 1) * d)]
            out += s.h.scalars[(i * d)..<((i + 1) * d)]
        }
        return Tensor(shape: [n, 2 * d], scalars: out)
    }

    /// The states `h` `[tokens, D]` of the Newton-parallel forward, from `initial` (nil: zeros); the
    /// final state in the mixer's layout.
    func run(_ x: Tensor<T>, layout: SequenceLayout, initial: Tensor<T>?) throws(KernelError) -> (
        h: Tensor<T>, finalState: Tensor<T>
    ) {
        let lead = layout.kernelBatchShape
        let sequences = try KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries)
        let x3 = x.reshaped(lead + [hiddenSize])
        let rows = layout.tokenCount
        if let C {
            let r = try ParaLSTM.chunked(
                ParaLSTM.Inputs(x: x3, A: A, B: B, C: C, b: b, initialState: initial.map(lstmState)), newton: newton,
                sequences: sequences, chunkSize: configuration.chunkSize)
            return (r.output.reshaped([rows, stateSize]), packedState(r.finalState))
        }
        let r = try ParaGRU.chunked(
            ParaGRU.Inputs(x: x3, A: A, B: B, b: b, initialState: initial), newton: newton, sequences: sequences,
            chunkSize: configuration.chunkSize)
        return (r.output.reshaped([rows, stateSize]), r.finalState)
    }

    /// The prefill path (the Newton-parallel forward; packed sequences in one call, each from its own state).
    public func forward(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) throws(KernelError) -> Tensor<T> {
        let r = try run(x, layout: layout, initial: state?.recurrent)
        if state != nil { state!.recurrent = r.finalState }
        return oProj.map { $0(r.h) } ?? r.h
    }

    /// The decoding path (the cell's `step`).
    public func step(_ x: Tensor<T>, state: inout MixerState<T>) throws(KernelError) -> Tensor<T> {
        let n = x.count / hiddenSize
        let width = (configuration.isLSTM ? 2 : 1) * stateSize
        guard state.recurrent.shape == [n, width] else {
            throw .shapeMismatch(
                tensor: "state", shape: state.recurrent.shape, expected: "[\(n), \(width)] (this layer's makeState)")
        }
        let xs = x.reshaped([n, hiddenSize])
        let h: Tensor<T>
        if let C {
            var s = lstmState(state.recurrent)
            h = try ParaLSTM.step(xs, A: A, B: B, C: C, b: b, state: &s)
            state.recurrent = packedState(s)
        } else {
            h = try ParaGRU.step(xs, A: A, B: B, b: b, state: &state.recurrent)
        }
        return oProj.map { $0(h) } ?? h
    }
}
