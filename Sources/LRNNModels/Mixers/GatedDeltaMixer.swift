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
/// Parameters carry the checkpoint key under `model.layers.{i}.attn.`.
public struct GatedDeltaMixer<T: LRNNScalar>: TokenMixer {
    /// The model width.
    public let hiddenSize: Int
    /// Query/key heads H, value heads HV, key and value dims per head, Householder steps n.
    public let heads: Int, valueHeads: Int, headKDim: Int, headVDim: Int, householder: Int
    /// `q_proj` `[H·K, hidden]`.
    public let qProj: Linear<T>
    /// `k_proj` `[n·H·K, hidden]`.
    public let kProj: Linear<T>
    /// `v_proj` `[n·HV·V, hidden]`.
    public let vProj: Linear<T>
    /// `b_proj` `[n·HV, hidden]`.
    public let bProj: Linear<T>
    /// `a_proj` `[HV, hidden]` (when the forget gate is on).
    public let aProj: Linear<T>?
    /// `A_log` `[HV]` (when the forget gate is on).
    public let aLog: Tensor<T>?
    /// `dt_bias` `[HV]` (when the forget gate is on).
    public let dtBias: Tensor<T>?
    /// `o_proj` `[hidden, HV·V]`.
    public let oProj: Linear<T>
    /// `q_conv1d`, `k_conv1d`, `v_conv1d` `[D, 1, W]` (when `use_short_conv`).
    public let qConv1d: ShortConvolution<T>?, kConv1d: ShortConvolution<T>?, vConv1d: ShortConvolution<T>?
    /// `o_norm` (weight `[head_v_dim]`), gated by `g_proj` `[HV·V, hidden]` when the output gate is on.
    let oNorm: OutputNorm<T>
    let betaFactor: T

    init(
        _ c: GatedDeltaNetConfiguration, hiddenSize: Int, normEps: Double, prefix p: String,
        store: ParameterStore<T>, initStd: Double
    ) throws(ModelLoadError) {
        try self.init(
            hiddenSize: hiddenSize, heads: c.numHeads, valueHeads: c.valueHeads, headKDim: c.headDim,
            headVDim: c.headVDim, householder: 1, forgetGate: true, outputGate: c.useGate,
            outputGateActivation: c.outputGateActivation.activation,
            shortConv: c.useShortConv ? c.convSize : nil, allowNegEigval: c.allowNegEigval, normEps: normEps,
            prefix: p, store: store, initStd: initStd)
    }

    init(
        _ c: GatedDeltaProductConfiguration, hiddenSize: Int, normEps: Double, prefix p: String,
        store: ParameterStore<T>, initStd: Double
    ) throws(ModelLoadError) {
        try self.init(
            hiddenSize: hiddenSize, heads: c.numHeads, valueHeads: c.numHeads, headKDim: c.headDim,
            headVDim: c.headVDim, householder: c.numHouseholder, forgetGate: c.useForgetGate,
            outputGate: c.useOutputGate, outputGateActivation: .silu, shortConv: c.useShortConv ? c.convSize : nil,
            allowNegEigval: c.allowNegEigval, normEps: normEps, prefix: p, store: store, initStd: initStd)
    }

    private init(
        hiddenSize: Int, heads: Int, valueHeads: Int, headKDim: Int, headVDim: Int, householder n: Int,
        forgetGate: Bool, outputGate: Bool, outputGateActivation: Activation, shortConv: Int?, allowNegEigval: Bool,
        normEps: Double, prefix p: String, store: ParameterStore<T>, initStd: Double
    ) throws(ModelLoadError) {
        self.hiddenSize = hiddenSize
        self.heads = heads
        self.valueHeads = valueHeads
        self.headKDim = headKDim
        self.headVDim = headVDim
        self.householder = n
        betaFactor = allowNegEigval ? 2 : 1
        let kd = heads * headKDim
        let vd = valueHeads * headVDim
        func linear(_ name: String, _ out: Int, _ inp: Int) throws(ModelLoadError) -> Linear<T> {
            Linear(weight: try store.tensor(p + name + ".weight", [out, inp], .normal(std: initStd)))
        }
        qProj = try linear("q_proj", kd, hiddenSize)
        kProj = try linear("k_proj", kd * n, hiddenSize)
        vProj = try linear("v_proj", vd * n, hiddenSize)
        bProj = try linear("b_proj", valueHeads * n, hiddenSize)
        if forgetGate {
            aProj = try linear("a_proj", valueHeads, hiddenSize)
            aLog = try store.tensor(p + "A_log", [valueHeads], .logDecayRate)
            dtBias = try store.tensor(p + "dt_bias", [valueHeads], .inverseSoftplusTimeStep)
        } else {
            aProj = nil
            aLog = nil
            dtBias = nil
        }
        if let w = shortConv {
            func conv(_ name: String, _ d: Int) throws(ModelLoadError) -> ShortConvolution<T> {
                let t = try store.tensor(p + name + ".weight", [d, 1, w], .uniform(bound: 1 / Double(w).squareRoot()))
                return ShortConvolution(weight: t, activation: .silu)
            }
            qConv1d = try conv("q_conv1d", kd)
            kConv1d = try conv("k_conv1d", kd * n)
            vConv1d = try conv("v_conv1d", vd * n)
        } else {
            qConv1d = nil
            kConv1d = nil
            vConv1d = nil
        }
        let norm = RMSNorm(
            weight: try store.tensor(p + "o_norm.weight", [headVDim], .ones), dimension: headVDim, eps: T(normEps))
        if outputGate {
            oNorm = .gated(
                GatedRMSNorm(norm: norm, activation: outputGateActivation),
                gateProj: try linear("g_proj", vd, hiddenSize))
        } else {
            oNorm = .plain(norm)
        }
        oProj = try linear("o_proj", hiddenSize, vd)
    }

    /// Zero convolution windows and a zero `[N, HV, K, V]` state.
    public func makeState(sequences n: Int) -> MixerState<T> {
        let conv = [qConv1d, kConv1d, vConv1d].compactMap { $0?.zeroState(sequences: n) }
        return MixerState(conv: conv, recurrent: Tensor(zeros: [n, valueHeads, headKDim, headVDim]))
    }

    /// q, k, v, β and g for the kernel, with q and k already expanded to the value heads.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func inputs(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) -> (Tensor<T>, Tensor<T>, Tensor<T>, Tensor<T>, Tensor<T>?) {
        var q = projectAndConvolve(
            x, projection: qProj, conv: qConv1d, activationWithoutConv: .silu, layout: layout, state: &state, slot: 0)
        var k = projectAndConvolve(
            x, projection: kProj, conv: kConv1d, activationWithoutConv: .silu, layout: layout, state: &state, slot: 1)
        let v = projectAndConvolve(
            x, projection: vProj, conv: vConv1d, activationWithoutConv: .silu, layout: layout, state: &state, slot: 2)
        l2Normalize(&q, groupSize: headKDim)
        l2Normalize(&k, groupSize: headKDim)
        if valueHeads > heads {
            let r = valueHeads / heads
            q = repeatHeads(q, heads: heads, headDim: headKDim, times: r)
            k = repeatHeads(k, heads: heads * householder, headDim: headKDim, times: r)
        }
        var beta = bProj(x)
        sigmoidScaled(&beta, factor: betaFactor)
        var g: Tensor<T>? = nil
        if let aProj, let aLog, let dtBias {
            var a = aProj(x)
            let hv = valueHeads
            let rows = a.count / hv
            let aLogs = aLog.scalars
            let bias = dtBias.scalars
            a.withUnsafeMutableBufferPointer { ab in
                for r in 0..<rows {
                    for h in 0..<hv {
                        let i = r * hv + h
                        ab[i] = gatedLogDecay(aLog: aLogs[h], ab[i] + bias[h])
                    }
                }
            }
            g = a
        }
        return (q, k, v, beta, g)
    }

    /// The prefill path (chunked delta rule).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) throws(KernelError) -> Tensor<T> {
        let (q, k, v, beta, g) = inputs(x, layout: layout, state: &state)
        var o = try DeltaRuleRunner.forward(
            q: q, k: k, v: v, beta: beta, g: g, heads: valueHeads, keyDim: headKDim, valueDim: headVDim,
            householder: householder, layout: layout, state: &state)
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
        let (q, k, v, beta, g) = inputs(x, layout: .uniform(batch: b, length: 1), state: &s)
        var o = try DeltaRuleRunner.step(
            q: q, k: k, v: v, beta: beta, g: g, heads: valueHeads, keyDim: headKDim, valueDim: headVDim,
            householder: householder, batch: b, state: &s!.recurrent)
        oNorm.apply(&o, input: x)
        return oProj(o)
    }
}
