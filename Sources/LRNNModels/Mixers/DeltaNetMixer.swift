import LRNNKernels
import LRNNLinearAlgebra

/// fla's `DeltaNet` token mixer (`model_type` `delta_net`).
///
///     q, k = act(conv(q_proj x)), act(conv(k_proj x));  v = silu(conv(v_proj x))
///     q, k ← L2- (or L1-) normalised per head;  β = σ(b_proj x) (×2 with negative eigenvalues)
///     o = delta_rule(q, k, v, β), scale 1/√head_k;   y = o_proj(o_norm(o [, g_proj x]))
///
/// Its parameters are named once, in ``walkParameters(_:)``.
public struct DeltaNetMixer<T: LRNNScalar>: TokenMixer, ProjectedKernelMixer {
    /// The configuration.
    public let configuration: DeltaNetConfiguration
    /// The model width.
    public let hiddenSize: Int
    /// Heads H, key and value dims per head.
    public let heads: Int, headKDim: Int, headVDim: Int
    /// `q_proj` `[key_dim, hidden]`.
    public internal(set) var qProj: Linear<T>
    /// `k_proj` `[key_dim, hidden]`.
    public internal(set) var kProj: Linear<T>
    /// `v_proj` `[value_dim, hidden]`.
    public internal(set) var vProj: Linear<T>
    /// `b_proj` `[H, hidden]` (when `use_beta`).
    public internal(set) var bProj: Linear<T>?
    /// `o_proj` `[hidden, value_dim]`.
    public internal(set) var oProj: Linear<T>
    /// `q_conv1d`, `k_conv1d`, `v_conv1d` `[D, 1, W]` (when `use_short_conv`).
    public internal(set) var qConv1d: ShortConvolution<T>?, kConv1d: ShortConvolution<T>?, vConv1d: ShortConvolution<T>?
    /// `o_norm` (weight `[head_v_dim]`), gated by `g_proj` `[value_dim, hidden]` when `use_gate`.
    var oNorm: OutputNorm<T>
    let qkActivation: Activation

    /// The mixer with its extents; its parameters are supplied by a ``ParameterWalk``.
    init(_ c: DeltaNetConfiguration, hiddenSize: Int, normEps: Double) {
        configuration = c
        self.hiddenSize = hiddenSize
        let kd = c.keyDim(hiddenSize: hiddenSize)
        let vd = c.valueDim(hiddenSize: hiddenSize)
        heads = c.numHeads
        headKDim = kd / c.numHeads
        headVDim = vd / c.numHeads
        qProj = Linear(outFeatures: kd, inFeatures: hiddenSize)
        kProj = Linear(outFeatures: kd, inFeatures: hiddenSize)
        vProj = Linear(outFeatures: vd, inFeatures: hiddenSize)
        bProj = c.useBeta ? Linear(outFeatures: c.numHeads, inFeatures: hiddenSize) : nil
        let silu = c.qkActivation == .silu
        qkActivation = c.qkActivation.activation
        if c.useShortConv {
            qConv1d = ShortConvolution(channels: kd, width: c.convSize, activation: silu ? .silu : .identity)
            kConv1d = ShortConvolution(channels: kd, width: c.convSize, activation: silu ? .silu : .identity)
            vConv1d = ShortConvolution(channels: vd, width: c.convSize, activation: .silu)
        } else {
            qConv1d = nil
            kConv1d = nil
            vConv1d = nil
        }
        let norm = RMSNorm<T>(dimension: headVDim, eps: T(normEps))
        if c.useGate {
            oNorm = .gated(
                GatedRMSNorm(norm: norm, activation: .silu), gateProj: Linear(outFeatures: vd, inFeatures: hiddenSize))
        } else {
            oNorm = .plain(norm)
        }
        oProj = Linear(outFeatures: hiddenSize, inFeatures: vd)
    }

    /// `q_proj`, `k_proj`, `v_proj`, `b_proj` (with `use_beta`), the convolutions `q_conv1d`,
    /// `k_conv1d`, `v_conv1d` (with `use_short_conv`), `o_norm` (with `g_proj`), `o_proj`.
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.child("q_proj", &qProj)
        try walk.child("k_proj", &kProj)
        try walk.child("v_proj", &vProj)
        if bProj != nil { try walk.child("b_proj", &bProj!) }
        if qConv1d != nil {
            try walk.child("q_conv1d", &qConv1d!)
            try walk.child("k_conv1d", &kConv1d!)
            try walk.child("v_conv1d", &vConv1d!)
        }
        try oNorm.walkParameters(&walk, normName: "o_norm")
        try walk.child("o_proj", &oProj)
    }

    /// Zero convolution windows and a zero `[N, H, K, V]` state.
    public func makeState(sequences n: Int) -> MixerState<T> {
        let conv = [qConv1d, kConv1d, vConv1d].compactMap { $0?.zeroState(sequences: n) }
        return MixerState(conv: conv, recurrent: Tensor(zeros: [n, heads, headKDim, headVDim]))
    }

    /// The delta rule over H heads, one step per token.
    var kernel: DeltaRuleMixerKernel<T> {
        DeltaRuleMixerKernel(heads: heads, keyDim: headKDim, valueDim: headVDim, householder: 1)
    }

    /// q, k (`q_proj`/`k_proj`, `q_conv1d`/`k_conv1d`, the qk activation) and v (`v_proj`,
    /// `v_conv1d`, silu), in the order of their convolution windows.
    var features: (q: ProjectedFeature<T>, k: ProjectedFeature<T>, v: ProjectedFeature<T>) {
        (
            ProjectedFeature(projection: qProj, conv: qConv1d, activation: qkActivation),
            ProjectedFeature(projection: kProj, conv: kConv1d, activation: qkActivation),
            ProjectedFeature(projection: vProj, conv: vConv1d, activation: .silu)
        )
    }

    /// The stage after the projections, shared by inference and training: q and k normalised
    /// per head (L2 or sum), β = σ(b_proj x)·(1 or 2) (the constant 1 or 2 without `b_proj`).
    ///
    /// - Parameters:
    ///   - q: the activated queries `[tokens, H·K]`, normalised in place.
    ///   - k: the activated keys `[tokens, H·K]`, normalised in place.
    ///   - v: the values `[tokens, H·V]`.
    ///   - betaLogits: `b_proj x` `[tokens, H]`, or nil without `b_proj`.
    ///   - tokens: the number of tokens.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func kernelFeatures(
        q: consuming Tensor<T>, k: consuming Tensor<T>, v: Tensor<T>, betaLogits: consuming Tensor<T>?, tokens: Int
    ) -> DeltaRuleMixerKernel<T>.Features {
        if configuration.qkNorm == .l2 {
            l2Normalize(&q, groupSize: headKDim)
            l2Normalize(&k, groupSize: headKDim)
        } else {
            sumNormalize(&q, groupSize: headKDim)
            sumNormalize(&k, groupSize: headKDim)
        }
        let factor: T = configuration.allowNegEigval ? 2 : 1
        let beta: Tensor<T>
        if var b = consume betaLogits {
            sigmoidScaled(&b, factor: factor)
            beta = b
        } else {
            beta = Tensor(shape: [tokens, heads], repeating: factor)
        }
        return DeltaRuleMixerKernel<T>.Features(q: q, k: k, v: v, beta: beta, g: nil)
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
            v: f.v(x, layout: layout, state: &state, slot: 2), betaLogits: bProj.map { $0(x) },
            tokens: layout.tokenCount)
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
