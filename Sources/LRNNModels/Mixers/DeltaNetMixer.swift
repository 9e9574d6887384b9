import LRNNKernels
import LRNNLinearAlgebra

/// fla's `DeltaNet` token mixer (`model_type` `delta_net`).
///
///     q, k = act(conv(q_proj x)), act(conv(k_proj x));  v = silu(conv(v_proj x))
///     q, k ← L2- (or L1-) normalised per head;  β = σ(b_proj x) (×2 with negative eigenvalues)
///     o = delta_rule(q, k, v, β), scale 1/√head_k;   y = o_proj(o_norm(o [, g_proj x]))
///
/// Its parameters are named once, in ``walkParameters(_:)``.
public struct DeltaNetMixer<T: LRNNScalar>: TokenMixer {
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

    /// q, k, v and β for the kernel.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func inputs(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) -> (Tensor<T>, Tensor<T>, Tensor<T>, Tensor<T>) {
        let qkFallback: Activation = configuration.qkActivation == .silu ? .silu : .identity
        var q = projectAndConvolve(
            x, projection: qProj, conv: qConv1d, activationWithoutConv: qkFallback, layout: layout, state: &state,
            slot: 0)
        var k = projectAndConvolve(
            x, projection: kProj, conv: kConv1d, activationWithoutConv: qkFallback, layout: layout, state: &state,
            slot: 1)
        let v = projectAndConvolve(
            x, projection: vProj, conv: vConv1d, activationWithoutConv: .silu, layout: layout, state: &state, slot: 2)
        if configuration.qkActivation != .silu {
            qkActivation.apply(&q)
            qkActivation.apply(&k)
        }
        if configuration.qkNorm == .l2 {
            l2Normalize(&q, groupSize: headKDim)
            l2Normalize(&k, groupSize: headKDim)
        } else {
            sumNormalize(&q, groupSize: headKDim)
            sumNormalize(&k, groupSize: headKDim)
        }
        var beta: Tensor<T>
        if let bProj {
            beta = bProj(x)
            sigmoidScaled(&beta, factor: configuration.allowNegEigval ? 2 : 1)
        } else {
            beta = Tensor(shape: [layout.tokenCount, heads], repeating: configuration.allowNegEigval ? 2 : 1)
        }
        return (q, k, v, beta)
    }

    /// The prefill path (chunked delta rule).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) throws(KernelError) -> Tensor<T> {
        let (q, k, v, beta) = inputs(x, layout: layout, state: &state)
        var o = try DeltaRuleRunner.forward(
            q: q, k: k, v: v, beta: beta, g: nil, heads: heads, keyDim: headKDim, valueDim: headVDim, householder: 1,
            layout: layout, state: &state)
        oNorm.apply(&o, input: x)
        return oProj(o)
    }

    /// The decoding path (delta-rule step).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(_ x: Tensor<T>, state: inout MixerState<T>) throws(KernelError) -> Tensor<T> {
        let b = x.count / hiddenSize
        var s: MixerState<T>? = state
        state = MixerState(conv: [], recurrent: Tensor(zeros: [0]))
        defer { state = s! }
        let (q, k, v, beta) = inputs(x, layout: .uniform(batch: b, length: 1), state: &s)
        var o = try DeltaRuleRunner.step(
            q: q, k: k, v: v, beta: beta, g: nil, heads: heads, keyDim: headKDim, valueDim: headVDim, householder: 1,
            batch: b, state: &s!.recurrent)
        oNorm.apply(&o, input: x)
        return oProj(o)
    }
}
