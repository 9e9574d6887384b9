import LRNNKernels
import LRNNLinearAlgebra

/// fla's `GatedDeltaNet` (`gated_deltanet`) and `GatedDeltaProduct` (`gated_deltaproduct`)
/// token mixers; DeltaProduct takes n = `num_householder` delta-rule steps per token.
///
///     q = silu(conv(q_proj x)),  k = silu(conv(k_proj x)),  v = silu(conv(v_proj x))
///     (k, v, β are n times wider: features [n][H][d], step j of token t is step t·n + j)
///     q, k ← L2-normalised per head;  β = σ(b_proj x) (×2 with negative eigenvalues)
///     g = −exp(A_log)·softplus(a_proj x + dt_bias)     (per token and value head; optional for DeltaProduct)
///     (computed without overflow or 0·∞: a g beyond the type's range is −∞, a reset of the state)
///     o = delta_rule(q, k, v, β, g, n), scale 1/√head_k;   y = o_proj(o_norm(o [, g_proj x]))
///
/// With `num_v_heads` > `num_heads` (Gated DeltaNet), value head h reads q/k head h / (HV/H).
/// Its parameters are named once, in ``walkParameters(_:)``.
public struct GatedDeltaMixer<T: LRNNScalar>: TokenMixer, ProjectedKernelMixer {
    /// The model width.
    public let hiddenSize: Int
    /// Query/key heads H, value heads HV, key and value dims per head, Householder steps n.
    public let heads: Int, valueHeads: Int, headKDim: Int, headVDim: Int, householder: Int
    /// `q_proj` `[H·K, hidden]`.
    public internal(set) var qProj: Linear<T>
    /// `k_proj` `[n·H·K, hidden]`.
    public internal(set) var kProj: Linear<T>
    /// `v_proj` `[n·HV·V, hidden]`.
    public internal(set) var vProj: Linear<T>
    /// `b_proj` `[n·HV, hidden]`.
    public internal(set) var bProj: Linear<T>
    /// `a_proj` `[HV, hidden]` (when the forget gate is on).
    public internal(set) var aProj: Linear<T>?
    /// `A_log` `[HV]` (when the forget gate is on).
    public internal(set) var aLog: Tensor<T>?
    /// `dt_bias` `[HV]` (when the forget gate is on).
    public internal(set) var dtBias: Tensor<T>?
    /// `o_proj` `[hidden, HV·V]`.
    public internal(set) var oProj: Linear<T>
    /// `q_conv1d`, `k_conv1d`, `v_conv1d` `[D, 1, W]` (when `use_short_conv`).
    public internal(set) var qConv1d: ShortConvolution<T>?, kConv1d: ShortConvolution<T>?, vConv1d: ShortConvolution<T>?
    /// `o_norm` (weight `[head_v_dim]`), gated by `g_proj` `[HV·V, hidden]` when the output gate is on.
    var oNorm: OutputNorm<T>
    let betaFactor: T

    init(_ c: GatedDeltaNetConfiguration, hiddenSize: Int, normEps: Double) {
        self.init(
            hiddenSize: hiddenSize, heads: c.numHeads, valueHeads: c.valueHeads, headKDim: c.headDim,
            headVDim: c.headVDim, householder: 1, forgetGate: true, outputGate: c.useGate,
            outputGateActivation: c.outputGateActivation.activation,
            shortConv: c.useShortConv ? c.convSize : nil, allowNegEigval: c.allowNegEigval, normEps: normEps)
    }

    init(_ c: GatedDeltaProductConfiguration, hiddenSize: Int, normEps: Double) {
        self.init(
            hiddenSize: hiddenSize, heads: c.numHeads, valueHeads: c.numHeads, headKDim: c.headDim,
            headVDim: c.headVDim, householder: c.numHouseholder, forgetGate: c.useForgetGate,
            outputGate: c.useOutputGate, outputGateActivation: .silu, shortConv: c.useShortConv ? c.convSize : nil,
            allowNegEigval: c.allowNegEigval, normEps: normEps)
    }

    /// The mixer with its extents; its parameters are supplied by a ``ParameterWalk``.
    private init(
        hiddenSize: Int, heads: Int, valueHeads: Int, headKDim: Int, headVDim: Int, householder n: Int,
        forgetGate: Bool, outputGate: Bool, outputGateActivation: Activation, shortConv: Int?, allowNegEigval: Bool,
        normEps: Double
    ) {
        self.hiddenSize = hiddenSize
        self.heads = heads
        self.valueHeads = valueHeads
        self.headKDim = headKDim
        self.headVDim = headVDim
        self.householder = n
        betaFactor = allowNegEigval ? 2 : 1
        let kd = heads * headKDim
        let vd = valueHeads * headVDim
        qProj = Linear(outFeatures: kd, inFeatures: hiddenSize)
        kProj = Linear(outFeatures: kd * n, inFeatures: hiddenSize)
        vProj = Linear(outFeatures: vd * n, inFeatures: hiddenSize)
        bProj = Linear(outFeatures: valueHeads * n, inFeatures: hiddenSize)
        if forgetGate {
            aProj = Linear(outFeatures: valueHeads, inFeatures: hiddenSize)
            aLog = Tensor(zeros: [0])
            dtBias = Tensor(zeros: [0])
        } else {
            aProj = nil
            aLog = nil
            dtBias = nil
        }
        if let w = shortConv {
            qConv1d = ShortConvolution(channels: kd, width: w, activation: .silu)
            kConv1d = ShortConvolution(channels: kd * n, width: w, activation: .silu)
            vConv1d = ShortConvolution(channels: vd * n, width: w, activation: .silu)
        } else {
            qConv1d = nil
            kConv1d = nil
            vConv1d = nil
        }
        let norm = RMSNorm<T>(dimension: headVDim, eps: T(normEps))
        if outputGate {
            oNorm = .gated(
                GatedRMSNorm(norm: norm, activation: outputGateActivation),
                gateProj: Linear(outFeatures: vd, inFeatures: hiddenSize))
        } else {
            oNorm = .plain(norm)
        }
        oProj = Linear(outFeatures: hiddenSize, inFeatures: vd)
    }

    /// `q_proj`, `k_proj`, `v_proj`, `b_proj`, then with the forget gate `a_proj`, `A_log`,
    /// `dt_bias`, then the convolutions `q_conv1d`, `k_conv1d`, `v_conv1d`, then `o_norm` (with
    /// `g_proj`) and `o_proj`.
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.child("q_proj", &qProj)
        try walk.child("k_proj", &kProj)
        try walk.child("v_proj", &vProj)
        try walk.child("b_proj", &bProj)
        if aProj != nil {
            try walk.child("a_proj", &aProj!)
            try walk.parameter("A_log", &aLog!, shape: [valueHeads], initializer: .logDecayRate)
            try walk.parameter("dt_bias", &dtBias!, shape: [valueHeads], initializer: .inverseSoftplusTimeStep)
        }
        if qConv1d != nil {
            try walk.child("q_conv1d", &qConv1d!)
            try walk.child("k_conv1d", &kConv1d!)
            try walk.child("v_conv1d", &vConv1d!)
        }
        try oNorm.walkParameters(&walk, normName: "o_norm")
        try walk.child("o_proj", &oProj)
    }

    /// Zero convolution windows and a zero `[N, HV, K, V]` state.
    public func makeState(sequences n: Int) -> MixerState<T> {
        let conv = [qConv1d, kConv1d, vConv1d].compactMap { $0?.zeroState(sequences: n) }
        return MixerState(conv: conv, recurrent: Tensor(zeros: [n, valueHeads, headKDim, headVDim]))
    }

    /// The delta rule over the HV value heads, n steps per token.
    var kernel: DeltaRuleMixerKernel<T> {
        DeltaRuleMixerKernel(heads: valueHeads, keyDim: headKDim, valueDim: headVDim, householder: householder)
    }

    /// q, k, v: each `silu(conv(proj x))` (`silu(proj x)` without short convolutions), in the
    /// order of their convolution windows.
    var features: (q: ProjectedFeature<T>, k: ProjectedFeature<T>, v: ProjectedFeature<T>) {
        (
            ProjectedFeature(projection: qProj, conv: qConv1d, activation: .silu),
            ProjectedFeature(projection: kProj, conv: kConv1d, activation: .silu),
            ProjectedFeature(projection: vProj, conv: vConv1d, activation: .silu)
        )
    }

    /// The stage after the projections, shared by inference and training: q and k
    /// L2-normalised per head and repeated over the value heads, β = σ(b_proj x)·(1 or 2),
    /// g = −exp(A_log)·softplus(a_proj x + dt_bias) with the forget gate.
    ///
    /// - Parameters:
    ///   - q: the activated queries `[tokens, H·K]`.
    ///   - k: the activated keys `[tokens, n·H·K]`.
    ///   - v: the values `[tokens, n·HV·V]`.
    ///   - betaLogits: `b_proj x` `[tokens, n·HV]`.
    ///   - decayLogits: `a_proj x` `[tokens, HV]`, nil without the forget gate.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func kernelFeatures(
        q: consuming Tensor<T>, k: consuming Tensor<T>, v: Tensor<T>, betaLogits: consuming Tensor<T>,
        decayLogits: Tensor<T>?
    ) -> DeltaRuleMixerKernel<T>.Features {
        l2Normalize(&q, groupSize: headKDim)
        l2Normalize(&k, groupSize: headKDim)
        if valueHeads > heads {
            let r = valueHeads / heads
            q = repeatHeads(q, heads: heads, headDim: headKDim, times: r)
            k = repeatHeads(k, heads: heads * householder, headDim: headKDim, times: r)
        }
        sigmoidScaled(&betaLogits, factor: betaFactor)
        var g: Tensor<T>? = nil
        if let a = decayLogits, let aLog, let dtBias {
            g = GatedDecay.forward(a, aLog: aLog, dtBias: dtBias)
        }
        return DeltaRuleMixerKernel<T>.Features(q: q, k: k, v: v, beta: betaLogits, g: g)
    }

    /// The kernel inputs for inference (``ProjectedKernelMixer``).
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    ///   - state: the state whose convolution windows are read and updated, or nil.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func projectKernelInputs(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) -> DeltaRuleMixerKernel<T>.Features {
        let f = features
        return kernelFeatures(
            q: f.q(x, layout: layout, state: &state, slot: 0), k: f.k(x, layout: layout, state: &state, slot: 1),
            v: f.v(x, layout: layout, state: &state, slot: 2), betaLogits: bProj(x), decayLogits: aProj.map { $0(x) })
    }

    /// The prefill path (chunked delta rule).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) throws(KernelError) -> Tensor<T> {
        try skeletonForward(x, layout: layout, state: &state)
    }

    /// The decoding path (delta-rule step).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(_ x: Tensor<T>, state: inout MixerState<T>) throws(KernelError) -> Tensor<T> {
        try skeletonStep(x, state: &state)
    }
}
