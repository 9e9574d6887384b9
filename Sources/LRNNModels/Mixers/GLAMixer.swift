import LRNNKernels
import LRNNLinearAlgebra

/// fla's `GatedLinearAttention` token mixer (`model_type` `gla`).
///
///     q = q_proj x,  k = k_proj x,  v = v_proj x      (silu(conv(·)) with short convolutions)
///     gk = logsigmoid(gk_proj.1(gk_proj.0 x)) / 16     (clamped below at clamp_min when set)
///     q, k ← feature_map(q, k) when set;  k, v, gk repeated over each group of query heads
///     o = gla(q, k, v, gk), scale 1/√head_k
///     y = o_proj(RMSNorm(o_h)·w·silu(g_proj x))        (g_norm_swish_gate; other forms below)
///
/// Without fusion (`fuse_norm` false) the norm is `g_norm` followed by `o·silu(g_proj x)`;
/// without an output gate it is `g_norm` alone. Its parameters are named once, in ``walkParameters(_:)``.
public struct GLAMixer<T: LRNNScalar>: TokenMixer, ProjectedKernelMixer {
    /// The configuration.
    public let configuration: GLAConfiguration
    /// The model width.
    public let hiddenSize: Int
    /// Query heads H, key/value heads, key and value dims per head.
    public let heads: Int, kvHeads: Int, headKDim: Int, headVDim: Int
    /// `q_proj` `[key_dim, hidden]`.
    public internal(set) var qProj: Linear<T>
    /// `k_proj` `[key_dim / groups, hidden]`.
    public internal(set) var kProj: Linear<T>
    /// `v_proj` `[value_dim / groups, hidden]`.
    public internal(set) var vProj: Linear<T>
    /// `gk_proj.0` `[16, hidden]` (no bias).
    public internal(set) var gkProj0: Linear<T>
    /// `gk_proj.1` `[key_dim / groups, 16]` with bias.
    public internal(set) var gkProj1: Linear<T>
    /// `o_proj` `[hidden, value_dim]`.
    public internal(set) var oProj: Linear<T>
    /// `q_conv1d`, `k_conv1d`, `v_conv1d` `[D, 1, W]` (when `use_short_conv`).
    public internal(set) var qConv1d: ShortConvolution<T>?, kConv1d: ShortConvolution<T>?, vConv1d: ShortConvolution<T>?
    /// `g_norm_swish_gate` or `g_norm` (weight `[head_v_dim]` when `elementwise_affine`), with
    /// `g_proj` `[value_dim, hidden]` when `use_output_gate`.
    var oNorm: OutputNorm<T>
    /// The norm's key component: `g_norm_swish_gate` (fused) or `g_norm`.
    let normName: String
    let featureMap: Activation?

    /// The mixer with its extents; its parameters are supplied by a ``ParameterWalk``.
    init(_ c: GLAConfiguration, hiddenSize: Int, normEps: Double, fuseNorm: Bool) {
        configuration = c
        self.hiddenSize = hiddenSize
        heads = c.numHeads
        kvHeads = c.kvHeads
        let kd = c.keyDim(hiddenSize: hiddenSize)
        let vd = c.valueDim(hiddenSize: hiddenSize)
        let groups = c.numHeads / c.kvHeads
        headKDim = kd / c.numHeads
        headVDim = vd / c.numHeads
        qProj = Linear(outFeatures: kd, inFeatures: hiddenSize)
        kProj = Linear(outFeatures: kd / groups, inFeatures: hiddenSize)
        vProj = Linear(outFeatures: vd / groups, inFeatures: hiddenSize)
        if c.useShortConv {
            qConv1d = ShortConvolution(channels: kd, width: c.convSize, activation: .silu)
            kConv1d = ShortConvolution(channels: kd / groups, width: c.convSize, activation: .silu)
            vConv1d = ShortConvolution(channels: vd / groups, width: c.convSize, activation: .silu)
        } else {
            qConv1d = nil
            kConv1d = nil
            vConv1d = nil
        }
        gkProj0 = Linear(outFeatures: c.gateLowRankDim, inFeatures: hiddenSize)
        gkProj1 = Linear(outFeatures: kd / groups, inFeatures: c.gateLowRankDim, bias: .zeros)
        oProj = Linear(outFeatures: hiddenSize, inFeatures: vd)
        let fused = fuseNorm && c.useOutputGate
        normName = fused ? "g_norm_swish_gate" : "g_norm"
        let norm = RMSNorm<T>(dimension: headVDim, eps: T(normEps), hasWeight: c.elementwiseAffine)
        if c.useOutputGate {
            let g = Linear<T>(outFeatures: vd, inFeatures: hiddenSize)
            oNorm =
                fused
                ? .gated(GatedRMSNorm(norm: norm, activation: .silu), gateProj: g)
                : .normThenGate(norm, .silu, gateProj: g)
        } else {
            oNorm = .plain(norm)
        }
        featureMap = c.featureMap?.activation
    }

    /// `q_proj`, `k_proj`, `v_proj`, the convolutions `q_conv1d`, `k_conv1d`, `v_conv1d` (with
    /// `use_short_conv`), `gk_proj.0`, `gk_proj.1`, `o_proj`, then the norm (`g_norm_swish_gate`
    /// fused, else `g_norm`; its weight with `elementwise_affine`) and `g_proj` (with
    /// `use_output_gate`).
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.child("q_proj", &qProj)
        try walk.child("k_proj", &kProj)
        try walk.child("v_proj", &vProj)
        if qConv1d != nil {
            try walk.child("q_conv1d", &qConv1d!)
            try walk.child("k_conv1d", &kConv1d!)
            try walk.child("v_conv1d", &vConv1d!)
        }
        try walk.child("gk_proj.0", &gkProj0)
        try walk.child("gk_proj.1", &gkProj1)
        try walk.child("o_proj", &oProj)
        try oNorm.walkParameters(&walk, normName: normName)
    }

    /// Zero convolution windows and a zero `[N, H, K, V]` state.
    public func makeState(sequences n: Int) -> MixerState<T> {
        let conv = [qConv1d, kConv1d, vConv1d].compactMap { $0?.zeroState(sequences: n) }
        return MixerState(conv: conv, recurrent: Tensor(zeros: [n, heads, headKDim, headVDim]))
    }

    /// GLA over the H query heads.
    var kernel: GLAMixerKernel<T> { GLAMixerKernel(heads: heads, keyDim: headKDim, valueDim: headVDim) }

    /// q, k, v: each `silu(conv(proj x))` with short convolutions, `proj x` without, in the order
    /// of their convolution windows.
    var features: (q: ProjectedFeature<T>, k: ProjectedFeature<T>, v: ProjectedFeature<T>) {
        (
            ProjectedFeature(projection: qProj, conv: qConv1d, activation: qConv1d == nil ? .identity : .silu),
            ProjectedFeature(projection: kProj, conv: kConv1d, activation: kConv1d == nil ? .identity : .silu),
            ProjectedFeature(projection: vProj, conv: vConv1d, activation: vConv1d == nil ? .identity : .silu)
        )
    }

    /// k, v and the gate logits `gk_proj.1(gk_proj.0 x)` repeated from the key/value heads over
    /// each group of query heads (unchanged with one group).
    ///
    /// - Parameters:
    ///   - k: `[tokens, kv_heads·K]`.
    ///   - v: `[tokens, kv_heads·V]`.
    ///   - gateLogits: `[tokens, kv_heads·K]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func repeatedOverGroups(k: Tensor<T>, v: Tensor<T>, gateLogits: Tensor<T>) -> (
        k: Tensor<T>, v: Tensor<T>, gateLogits: Tensor<T>
    ) {
        let groups = heads / kvHeads
        return (
            repeatHeads(k, heads: kvHeads, headDim: headKDim, times: groups),
            repeatHeads(v, heads: kvHeads, headDim: headVDim, times: groups),
            repeatHeads(gateLogits, heads: kvHeads, headDim: headKDim, times: groups)
        )
    }

    /// The stage after the projections and the repetition, shared by inference and training:
    /// gk = logsigmoid(z) / normalizer (clamped at `clamp_min`), the feature map on q and k.
    ///
    /// - Parameters:
    ///   - q: the queries `[tokens, H·K]`.
    ///   - k: the repeated keys `[tokens, H·K]`.
    ///   - v: the repeated values `[tokens, H·V]`.
    ///   - gateLogits: the repeated gate logits z `[tokens, H·K]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func kernelFeatures(q: consuming Tensor<T>, k: consuming Tensor<T>, v: Tensor<T>, gateLogits: Tensor<T>)
        -> GLAMixerKernel<T>.Features
    {
        let gk = GLADecayGate.forward(
            gateLogits, normalizer: T(configuration.gateLogitNormalizer), clampMin: configuration.clampMin.map { T($0) }
        )
        if let featureMap {
            featureMap.apply(&q)
            featureMap.apply(&k)
        }
        return GLAMixerKernel<T>.Features(q: q, k: k, v: v, gk: gk)
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
    ) -> GLAMixerKernel<T>.Features {
        let f = features
        let q = f.q(x, layout: layout, state: &state, slot: 0)
        let r = repeatedOverGroups(
            k: f.k(x, layout: layout, state: &state, slot: 1), v: f.v(x, layout: layout, state: &state, slot: 2),
            gateLogits: gkProj1(gkProj0(x)))
        return kernelFeatures(q: q, k: r.k, v: r.v, gateLogits: r.gateLogits)
    }

    /// The prefill path (chunked GLA).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) throws(KernelError) -> Tensor<T> {
        try skeletonForward(x, layout: layout, state: &state)
    }

    /// The decoding path (GLA step).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(_ x: Tensor<T>, state: inout MixerState<T>) throws(KernelError) -> Tensor<T> {
        try skeletonStep(x, state: &state)
    }
}
