import LRNNKernels
import LRNNLinearAlgebra

/// fla's softmax-attention token mixer (`fla/layers/attn.py`, `Attention`), the layers of a hybrid
/// model that its `attn` configuration names:
///
///     q = q_proj x,  k = k_proj x,  v = v_proj x        (biases when qkv_bias)
///     q, k ← RoPE(q, k)   (positions from 0 per sequence, continuing across prefill pieces and decoding)
///     o = causal softmax(q·kᵀ/√head_dim)·v             (grouped KV heads, optional sliding window)
///     y = o_proj(o)
///
/// Prefill runs ``SoftmaxAttention``'s blocked streaming softmax (BLAS level 3); decoding attends
/// from the ``AttentionCache`` of the ``MixerState``. Parameters carry the checkpoint key under
/// `model.layers.{i}.attn.`.
public struct AttentionMixer<T: LRNNScalar>: TokenMixer {
    /// The model width.
    public let hiddenSize: Int
    /// Query heads H, key/value heads Hkv, head size D = hidden / H.
    public let heads: Int, kvHeads: Int, headDim: Int
    /// The sliding window (nil: global attention).
    public let windowSize: Int?
    /// `q_proj` `[H·D, hidden]` (bias `[H·D]` when `qkv_bias`).
    public internal(set) var qProj: Linear<T>
    /// `k_proj` `[Hkv·D, hidden]` (bias when `qkv_bias`).
    public internal(set) var kProj: Linear<T>
    /// `v_proj` `[Hkv·D, hidden]` (bias when `qkv_bias`).
    public internal(set) var vProj: Linear<T>
    /// `o_proj` `[hidden, H·D]`, no bias.
    public internal(set) var oProj: Linear<T>
    /// The rotary embedding (base `rope_theta`).
    public let rotary: RotaryEmbedding<T>
    /// The query and key block size of the prefill path.
    public let blockSize: Int

    /// The mixer with its extents; its parameters are supplied by a ``ParameterWalk``.
    init(_ c: AttentionConfiguration, hiddenSize: Int) {
        self.hiddenSize = hiddenSize
        heads = c.numHeads
        kvHeads = c.kvHeads
        headDim = c.headDim(hiddenSize: hiddenSize)
        windowSize = c.windowSize
        blockSize = SoftmaxAttention.defaultBlockSize
        let kvWidth = kvHeads * headDim
        let bias: ParameterInitializer? = c.qkvBias ? .zeros : nil
        qProj = Linear(outFeatures: heads * headDim, inFeatures: hiddenSize, bias: bias)
        kProj = Linear(outFeatures: kvWidth, inFeatures: hiddenSize, bias: bias)
        vProj = Linear(outFeatures: kvWidth, inFeatures: hiddenSize, bias: bias)
        oProj = Linear(outFeatures: hiddenSize, inFeatures: heads * headDim)
        rotary = RotaryEmbedding(headDim: headDim, base: c.ropeTheta ?? 10000)
    }

    /// `q_proj`, `k_proj`, `v_proj` (with biases when `qkv_bias`), `o_proj`.
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.child("q_proj", &qProj)
        try walk.child("k_proj", &kProj)
        try walk.child("v_proj", &vProj)
        try walk.child("o_proj", &oProj)
    }

    /// An empty key/value cache (global, or a ring of `window_size − 1` rows) for `n` sequences.
    ///
    /// - Parameter n: the number of sequences.
    public func makeState(sequences n: Int) -> MixerState<T> {
        MixerState(
            conv: [], recurrent: Tensor(zeros: [0]),
            attention: AttentionCache(sequences: n, kvHeads: kvHeads, headDim: headDim, windowSize: windowSize))
    }

    /// The score scale `1/√D`.
    var scale: T { 1 / T(headDim).squareRoot() }

    /// Projections and rotary embedding of `x [tokens, hidden]`, positions from `offsets`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func inputs(
        _ x: Tensor<T>, boundaries: [Int], offsets: [Int]
    ) throws(KernelError) -> (q: Tensor<T>, k: Tensor<T>, v: Tensor<T>) {
        var q = qProj(x)
        var k = kProj(x)
        let v = vProj(x)
        try KernelError.requireFinite(q, "q")
        try KernelError.requireFinite(k, "k")
        try KernelError.requireFinite(v, "v")
        rotary.apply(q: &q, qHeads: heads, k: &k, kHeads: kvHeads, boundaries: boundaries, offsets: offsets)
        return (q, k, v)
    }

    /// The prefill path: blocked attention over each sequence's cached keys (if any) and new ones.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) throws(KernelError) -> Tensor<T> {
        let boundaries = layout.boundaries
        let n = layout.sequenceCount
        var cache = state?.attention
        if state != nil {
            precondition(cache?.sequenceCount == n, "AttentionMixer: a state without a cache for \(n) sequences")
            state!.attention = nil
        }
        defer { if state != nil { state!.attention = cache } }
        let lengths = (0..<n).map { boundaries[$0 + 1] - boundaries[$0] }
        let (q, k, v) = try inputs(
            x, boundaries: boundaries, offsets: cache?.positions ?? Array(repeating: 0, count: n))
        var o = Tensor<T>.zeros([layout.tokenCount, heads * headDim])
        let w = kvHeads * headDim
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    o.withUnsafeMutableBufferPointer { ob in
                        guard let c = cache else {
                            AttentionProblem(
                                heads: heads, kvHeads: kvHeads, headDim: headDim, window: windowSize,
                                blockSize: blockSize, qStart: Array(boundaries.dropLast()), qLength: lengths,
                                kStart: Array(boundaries.dropLast()), kLength: lengths
                            ).run(
                                scale: scale, q: qb.baseAddress!, k: kb.baseAddress!, v: vb.baseAddress!,
                                out: ob.baseAddress!)
                            return
                        }
                        // Each sequence's keys: its cached rows in position order, then the new rows.
                        let stored = (0..<n).map { c.storedRows($0) }
                        var kStart = [Int]()
                        var total = 0
                        for s in 0..<n {
                            kStart.append(total)
                            total += stored[s] + lengths[s]
                        }
                        var keys = [T](repeating: 0, count: total * w)
                        var values = [T](repeating: 0, count: total * w)
                        keys.withUnsafeMutableBufferPointer { ek in
                            values.withUnsafeMutableBufferPointer { ev in
                                for s in 0..<n {
                                    let dk = ek.baseAddress! + kStart[s] * w
                                    let dv = ev.baseAddress! + kStart[s] * w
                                    c.copyOrdered(s, keys: dk, values: dv)
                                    let m = stored[s] * w
                                    (dk + m).update(from: kb.baseAddress! + boundaries[s] * w, count: lengths[s] * w)
                                    (dv + m).update(from: vb.baseAddress! + boundaries[s] * w, count: lengths[s] * w)
                                }
                                AttentionProblem(
                                    heads: heads, kvHeads: kvHeads, headDim: headDim, window: windowSize,
                                    blockSize: blockSize, qStart: Array(boundaries.dropLast()), qLength: lengths,
                                    kStart: kStart, kLength: (0..<n).map { stored[$0] + lengths[$0] }
                                ).run(
                                    scale: scale, q: qb.baseAddress!, k: ek.baseAddress!, v: ev.baseAddress!,
                                    out: ob.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        if cache != nil {
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    cache!.append(
                        k: kb.baseAddress!, v: vb.baseAddress!, first: Array(boundaries.dropLast()), count: lengths)
                }
            }
        }
        return oProj(o)
    }

    /// The decoding path: one token per sequence attends to its cache and itself; the cache keeps it.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(_ x: Tensor<T>, state: inout MixerState<T>) throws(KernelError) -> Tensor<T> {
        let b = x.count / hiddenSize
        guard var cache = state.attention else {
            preconditionFailure("AttentionMixer.step: the state has no attention cache")
        }
        precondition(cache.sequenceCount == b, "AttentionMixer.step: \(b) tokens for a cache of \(cache.sequenceCount)")
        state.attention = nil
        defer { state.attention = cache }
        let (q, k, v) = try inputs(x, boundaries: (0...b).map { $0 }, offsets: cache.positions)
        var o = Tensor<T>.zeros([b, heads * headDim])
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    o.withUnsafeMutableBufferPointer { ob in
                        cache.attendOneToken(
                            q: qb.baseAddress!, kNew: kb.baseAddress!, vNew: vb.baseAddress!, heads: heads,
                            scale: scale, blockSize: blockSize, out: ob.baseAddress!)
                    }
                    cache.append(
                        k: kb.baseAddress!, v: vb.baseAddress!, first: Array(0..<b),
                        count: Array(repeating: 1, count: b))
                }
            }
        }
        return oProj(o)
    }
}
