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
/// without an output gate it is `g_norm` alone. Parameters carry the checkpoint key under
/// `model.layers.{i}.attn.`.
public struct GLAMixer<T: LRNNScalar>: TokenMixer {
    /// The configuration.
    public let configuration: GLAConfiguration
    /// The model width.
    public let hiddenSize: Int
    /// Query heads H, key/value heads, key and value dims per head.
    public let heads: Int, kvHeads: Int, headKDim: Int, headVDim: Int
    /// `q_proj` `[key_dim, hidden]`.
    public let qProj: Linear<T>
    /// `k_proj` `[key_dim / groups, hidden]`.
    public let kProj: Linear<T>
    /// `v_proj` `[value_dim / groups, hidden]`.
    public let vProj: Linear<T>
    /// `gk_proj.0` `[16, hidden]` (no bias).
    public let gkProj0: Linear<T>
    /// `gk_proj.1` `[key_dim / groups, 16]` with bias.
    public let gkProj1: Linear<T>
    /// `o_proj` `[hidden, value_dim]`.
    public let oProj: Linear<T>
    /// `q_conv1d`, `k_conv1d`, `v_conv1d` `[D, 1, W]` (when `use_short_conv`).
    public let qConv1d: ShortConvolution<T>?, kConv1d: ShortConvolution<T>?, vConv1d: ShortConvolution<T>?
    /// `g_norm_swish_gate` or `g_norm` (weight `[head_v_dim]` when `elementwise_affine`), with
    /// `g_proj` `[value_dim, hidden]` when `use_output_gate`.
    let oNorm: OutputNorm<T>
    let featureMap: Activation?

    init(
        _ c: GLAConfiguration, hiddenSize: Int, normEps: Double, fuseNorm: Bool, prefix p: String,
        store: ParameterStore<T>, initStd: Double
    ) throws(ModelLoadError) {
        configuration = c
        self.hiddenSize = hiddenSize
        heads = c.numHeads
        kvHeads = c.kvHeads
        let kd = c.keyDim(hiddenSize: hiddenSize)
        let vd = c.valueDim(hiddenSize: hiddenSize)
        let groups = c.numHeads / c.kvHeads
        headKDim = kd / c.numHeads
        headVDim = vd / c.numHeads
        func linear(_ name: String, _ out: Int, _ inp: Int, bias: Bool = false) throws(ModelLoadError) -> Linear<T> {
            Linear(
                weight: try store.tensor(p + name + ".weight", [out, inp], .normal(std: initStd)),
                bias: bias ? try store.tensor(p + name + ".bias", [out], .zeros) : nil)
        }
        qProj = try linear("q_proj", kd, hiddenSize)
        kProj = try linear("k_proj", kd / groups, hiddenSize)
        vProj = try linear("v_proj", vd / groups, hiddenSize)
        if c.useShortConv {
            func conv(_ name: String, _ d: Int) throws(ModelLoadError) -> ShortConvolution<T> {
                let w = try store.tensor(
                    p + name + ".weight", [d, 1, c.convSize], .uniform(bound: 1 / Double(c.convSize).squareRoot()))
                return ShortConvolution(weight: w, activation: .silu)
            }
            qConv1d = try conv("q_conv1d", kd)
            kConv1d = try conv("k_conv1d", kd / groups)
            vConv1d = try conv("v_conv1d", vd / groups)
        } else {
            qConv1d = nil
            kConv1d = nil
            vConv1d = nil
        }
        gkProj0 = try linear("gk_proj.0", c.gateLowRankDim, hiddenSize)
        gkProj1 = try linear("gk_proj.1", kd / groups, c.gateLowRankDim, bias: true)
        oProj = try linear("o_proj", hiddenSize, vd)
        let fused = fuseNorm && c.useOutputGate
        let normKey = p + (fused ? "g_norm_swish_gate" : "g_norm") + ".weight"
        let w = c.elementwiseAffine ? try store.tensor(normKey, [headVDim], .ones) : nil
        let norm = RMSNorm(weight: w, dimension: headVDim, eps: T(normEps))
        if c.useOutputGate {
            let g = try linear("g_proj", vd, hiddenSize)
            oNorm =
                fused
                ? .gated(GatedRMSNorm(norm: norm, activation: .silu), gateProj: g)
                : .normThenGate(norm, .silu, gateProj: g)
        } else {
            oNorm = .plain(norm)
        }
        featureMap = c.featureMap?.activation
    }

    /// Zero convolution windows and a zero `[N, H, K, V]` state.
    public func makeState(sequences n: Int) -> MixerState<T> {
        let conv = [qConv1d, kConv1d, vConv1d].compactMap { $0?.zeroState(sequences: n) }
        return MixerState(conv: conv, recurrent: Tensor(zeros: [n, heads, headKDim, headVDim]))
    }

    /// q, k, v and the log decay gk for the kernel, over the H query heads.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func inputs(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) -> (Tensor<T>, Tensor<T>, Tensor<T>, Tensor<T>) {
        var q = projectAndConvolve(
            x, projection: qProj, conv: qConv1d, activationWithoutConv: .identity, layout: layout, state: &state,
            slot: 0)
        var k = projectAndConvolve(
            x, projection: kProj, conv: kConv1d, activationWithoutConv: .identity, layout: layout, state: &state,
            slot: 1)
        var v = projectAndConvolve(
            x, projection: vProj, conv: vConv1d, activationWithoutConv: .identity, layout: layout, state: &state,
            slot: 2)
        var gk = gkProj1(gkProj0(x))
        let groups = heads / kvHeads
        if groups > 1 {
            k = repeatHeads(k, heads: kvHeads, headDim: headKDim, times: groups)
            gk = repeatHeads(gk, heads: kvHeads, headDim: headKDim, times: groups)
            v = repeatHeads(v, heads: kvHeads, headDim: headVDim, times: groups)
        }
        let normalizer = T(configuration.gateLogitNormalizer)
        let clamp = configuration.clampMin.map { T($0) }
        let n = gk.count
        gk.withUnsafeMutableBufferPointer { b in
            for i in 0..<n {
                var y = logSigmoid(b[i]) / normalizer
                if let clamp, y < clamp { y = clamp }
                b[i] = y
            }
        }
        if let featureMap {
            featureMap.apply(&q)
            featureMap.apply(&k)
        }
        return (q, k, v, gk)
    }

    /// The prefill path (chunked GLA).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) throws(KernelError) -> Tensor<T> {
        let (q, k, v, gk) = inputs(x, layout: layout, state: &state)
        let lead = layout.kernelBatchShape
        let inputs = GLA.Inputs(
            q: q.reshaped(lead + [heads, headKDim]), k: k.reshaped(lead + [heads, headKDim]),
            v: v.reshaped(lead + [heads, headVDim]), gk: gk.reshaped(lead + [heads, headKDim]),
            initialState: state?.recurrent)
        let r = try GLA.chunked(inputs, sequences: KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries))
        if state != nil { state!.recurrent = r.finalState }
        var o = r.output.reshaped([layout.tokenCount, heads * headVDim])
        oNorm.apply(&o, input: x)
        return oProj(o)
    }

    /// The decoding path (GLA step).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(_ x: Tensor<T>, state: inout MixerState<T>) throws(KernelError) -> Tensor<T> {
        let b = x.count / hiddenSize
        var s: MixerState<T>? = state
        state = MixerState(conv: [], recurrent: Tensor(zeros: [0]))
        defer { state = s! }
        let (q, k, v, gk) = inputs(x, layout: .uniform(batch: b, length: 1), state: &s)
        let o1 = try GLA.step(
            q: q.reshaped([b, 1, heads, headKDim]), k: k.reshaped([b, 1, heads, headKDim]),
            v: v.reshaped([b, 1, heads, headVDim]), gk: gk.reshaped([b, 1, heads, headKDim]), state: &s!.recurrent)
        var o = o1.reshaped([b, heads * headVDim])
        oNorm.apply(&o, input: x)
        return oProj(o)
    }
}
