import LRNNKernels
import LRNNLinearAlgebra

/// A pLSTM 1-D token mixer (``PLSTM1DConfiguration``): projections to per-head queries, keys and
/// values and to the gates, the ``/LRNNKernels/PLSTM1D`` recurrence, and an output projection.
///
///     q, k, v = W_q x, W_k x, W_v x           ([H, DK, JQ], [H, DK, JK], [H, DV, JV] per token)
///     S, M, D = σ(W_S x + b_S), σ(W_M x + b_M), σ(W_D x + b_D)
///     T = tanh(f·(W_T x + b_T))               (JT = 1)
///     out = W_o · pLSTM1D(q, k, v, S, T, M, D)   ([H·DV·JO] → hidden)
///
/// Prefill runs the chunked kernel, decoding its step; the state is `[N, H, DK, DV, JT]`.
/// Parameters under `model.layers.{i}.attn.`: `q_proj.weight`, `k_proj.weight`, `v_proj.weight`,
/// `source_proj.{weight,bias}`, `transition_proj.{weight,bias}`, `mark_proj.{weight,bias}`,
/// `direct_proj.{weight,bias}`, `o_proj.weight`.
public struct PLSTM1DMixer<T: LRNNScalar>: TokenMixer {
    /// The configuration.
    public let configuration: PLSTM1DConfiguration
    /// The model width.
    public let hiddenSize: Int
    var qProj: Linear<T>
    var kProj: Linear<T>
    var vProj: Linear<T>
    var sourceProj: Linear<T>
    var transitionProj: Linear<T>
    var markProj: Linear<T>
    var directProj: Linear<T>
    var oProj: Linear<T>

    /// The mixer with its extents; its parameters are supplied by a ``ParameterWalk``.
    init(_ c: PLSTM1DConfiguration, hiddenSize d: Int) {
        configuration = c
        hiddenSize = d
        let h = c.numHeads
        func linear(_ out: Int, bias: ParameterInitializer?) -> Linear<T> {
            Linear(outFeatures: out, inFeatures: d, bias: bias)
        }
        qProj = linear(h * c.keyDim * c.queryStates, bias: nil)
        kProj = linear(h * c.keyDim * c.keyStates, bias: nil)
        vProj = linear(h * c.valueDim * c.valueStates, bias: nil)
        sourceProj = linear(h * c.transitionStates * c.keyStates * c.valueStates, bias: .zeros)
        transitionProj = linear(h * c.transitionStates * c.transitionStates, bias: .uniform(bound: 0.5))
        markProj = linear(h * c.outputStates * c.queryStates * c.transitionStates, bias: .zeros)
        directProj = linear(h * c.outputStates * c.queryStates * c.keyStates * c.valueStates, bias: .zeros)
        oProj = Linear(outFeatures: d, inFeatures: h * c.valueDim * c.outputStates)
    }

    /// `q_proj`, `k_proj`, `v_proj`, `source_proj`, `transition_proj`, `mark_proj`,
    /// `direct_proj` (the last four with biases), `o_proj`.
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.child("q_proj", &qProj)
        try walk.child("k_proj", &kProj)
        try walk.child("v_proj", &vProj)
        try walk.child("source_proj", &sourceProj)
        try walk.child("transition_proj", &transitionProj)
        try walk.child("mark_proj", &markProj)
        try walk.child("direct_proj", &directProj)
        try walk.child("o_proj", &oProj)
    }

    /// The per-token shapes after the leading `[B, T]` (or `[B]`) of q, k, v, S, T, M, D.
    var gateShapes: [[Int]] {
        let c = configuration
        let h = c.numHeads
        return [
            [h, c.keyDim, c.queryStates], [h, c.keyDim, c.keyStates], [h, c.valueDim, c.valueStates],
            [h, c.transitionStates, c.keyStates, c.valueStates], [h, c.transitionStates, c.transitionStates],
            [h, c.outputStates, c.queryStates, c.transitionStates],
            [h, c.outputStates, c.queryStates, c.keyStates, c.valueStates],
        ]
    }

    /// The kernel inputs of `x [rows, hidden]` with leading shape `lead`, and the gates' values
    /// (S, T, M, D after their activations, as `[rows, …]`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func kernelInputs(_ x: Tensor<T>, lead: [Int]) -> PLSTM1D.Inputs<T> {
        let s = gateShapes
        var source = sourceProj(x)
        sigmoidScaled(&source, factor: 1)
        var transition = transitionProj(x)
        let f = T(configuration.transitionFactor)
        transition.withUnsafeMutableBufferPointer { b in for i in 0..<b.count { b[i] = T.tanh(f * b[i]) } }
        var mark = markProj(x)
        sigmoidScaled(&mark, factor: 1)
        var direct = directProj(x)
        sigmoidScaled(&direct, factor: 1)
        return PLSTM1D.Inputs(
            q: qProj(x).reshaped(lead + s[0]), k: kProj(x).reshaped(lead + s[1]), v: vProj(x).reshaped(lead + s[2]),
            S: source.reshaped(lead + s[3]), T: transition.reshaped(lead + s[4]), M: mark.reshaped(lead + s[5]),
            D: direct.reshaped(lead + s[6]))
    }

    /// A zero state: convolution windows none, recurrent `[N, H, DK, DV, JT]`.
    ///
    /// - Parameter n: the number of sequences N.
    public func makeState(sequences n: Int) -> MixerState<T> {
        let c = configuration
        return MixerState(
            conv: [], recurrent: Tensor(zeros: [n, c.numHeads, c.keyDim, c.valueDim, c.transitionStates]))
    }

    /// The prefill path: the chunked kernel over every sequence of `layout`, each from its own state.
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    ///   - state: the states to start from and update (`recurrent [N, H, DK, DV, JT]`), or nil for zeros.
    /// - Returns: the mixer's output `[tokens, hidden]`.
    /// - Throws: ``/LRNNKernels/KernelError`` when the kernel refuses its inputs.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) throws(KernelError) -> Tensor<T> {
        var inputs = kernelInputs(x, lead: layout.kernelBatchShape)
        inputs.C0 = state?.recurrent
        let sequences = try KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries)
        let r = try PLSTM1D.chunked(inputs, sequences: sequences)
        if state != nil { state!.recurrent = r.finalState }
        return oProj(r.output.reshaped([layout.tokenCount, oProj.weight.shape[1]]))
    }

    /// The decoding path: one ``/LRNNKernels/PLSTM1D/step(q:k:v:S:T:M:D:scale:state:)`` per token.
    ///
    /// - Parameters:
    ///   - x: one token per sequence, `[B, hidden]`.
    ///   - state: the states, advanced by one token.
    /// - Returns: the mixer's output `[B, hidden]`.
    /// - Throws: ``/LRNNKernels/KernelError`` when the kernel refuses its inputs.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(_ x: Tensor<T>, state: inout MixerState<T>) throws(KernelError) -> Tensor<T> {
        let rows = x.count / hiddenSize
        let g = kernelInputs(x.reshaped([rows, hiddenSize]), lead: [rows])
        let y = try PLSTM1D.step(
            q: g.q, k: g.k, v: g.v, S: g.S, T: g.T, M: g.M, D: g.D, state: &state.recurrent)
        return oProj(y.reshaped([rows, oProj.weight.shape[1]]))
    }
}
