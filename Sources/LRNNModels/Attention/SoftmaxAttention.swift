import LRNNKernels
import LRNNLinearAlgebra

/// Causal softmax attention with grouped key/value heads and an optional sliding window: the
/// function of flash-attn's `flash_attn_func` / `flash_attn_varlen_func` with `causal=True` and
/// `window_size=(w − 1, 0)`, which fla's `Attention` layer calls.
///
///     o_i = Σ_j softmax_j(s_ij) v_j,   s_ij = scale · q_i·k_j   over the keys j that query i sees
///
/// Query heads `j·g ..< (j+1)·g` share key/value head j (g = H / Hkv). Alignment is bottom-right,
/// as flash-attn's: with Tk keys and Tq ≤ Tk queries in a sequence, query i sits at key position
/// `Tk − Tq + i` (the keys before the first query are a cache of earlier tokens) and sees the keys
/// at positions `p − w + 1 … p` (every key up to p without a window).
///
/// ``blocked(q:k:v:cuSeqlensQ:cuSeqlensK:windowSize:scale:blockSize:)`` is the fast path: for each
/// block of queries and key/value head it runs level-3 BLAS products over blocks of keys with the
/// streaming softmax of FlashAttention (Dao et al. 2022, Algorithm 1: a running row maximum `m`,
/// normaliser `l` and unnormalised output, rescaled by `exp(m_old − m_new)` per key block), so
/// memory stays O(T·d + block²) and never holds T × T scores; key blocks entirely outside the
/// causal window are skipped. ``reference(q:k:v:cuSeqlensQ:cuSeqlensK:windowSize:scale:)`` is the
/// naive full softmax per query, the test oracle.
public enum SoftmaxAttention {
    /// The default query and key block size of the blocked path (tokens).
    public static let defaultBlockSize = 64

    /// Attention by blocks with a streaming softmax (BLAS level 3).
    ///
    /// - Parameters:
    ///   - q: queries `[B, Tq, H, D]` (rotary embedding already applied).
    ///   - k: keys `[B, Tk, Hkv, D]`, Tk ≥ Tq; Hkv divides H.
    ///   - v: values `[B, Tk, Hkv, D]`.
    ///   - cuSeqlensQ: packed query sequences (fla's `cu_seqlens`, `[N + 1]` ending at Tq; B must
    ///     be 1); given together with `cuSeqlensK`.
    ///   - cuSeqlensK: the packed key sequences (`[N + 1]` ending at Tk), each at least as long as
    ///     its query sequence.
    ///   - windowSize: the sliding window w ≥ 1 (a query sees itself and the w − 1 keys before it),
    ///     or nil for every earlier key.
    ///   - scale: the score scale (nil: `1/√D`).
    ///   - blockSize: the query and key block size in tokens (≥ 1).
    /// - Returns: the output `[B, Tq, H, D]`.
    /// - Throws: ``/LRNNKernels/KernelError/shapeMismatch(tensor:shape:expected:)`` naming `q`, `k`
    ///   or `v`, ``/LRNNKernels/KernelError/nonFinite(tensor:)``,
    ///   ``/LRNNKernels/KernelError/invalidSequenceBoundaries(reason:)``,
    ///   ``/LRNNKernels/KernelError/invalidArgument(name:reason:)`` for a window or block size
    ///   below 1, a non-finite scale, or fewer keys than queries in a sequence.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func blocked<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, cuSeqlensQ: [Int]? = nil, cuSeqlensK: [Int]? = nil,
        windowSize: Int? = nil, scale: T? = nil, blockSize: Int = defaultBlockSize
    ) throws(KernelError) -> Tensor<T> {
        if blockSize < 1 { throw .invalidArgument(name: "blockSize", reason: "must be ≥ 1, got \(blockSize)") }
        let p = try AttentionProblem(
            q: q, k: k, v: v, cuSeqlensQ: cuSeqlensQ, cuSeqlensK: cuSeqlensK, windowSize: windowSize,
            blockSize: blockSize)
        let s = try resolvedScale(scale, headDim: p.headDim)
        var out = Tensor<T>.zeros(q.shape)
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    out.withUnsafeMutableBufferPointer { ob in
                        p.run(
                            scale: s, q: qb.baseAddress!, k: kb.baseAddress!, v: vb.baseAddress!,
                            out: ob.baseAddress!)
                    }
                }
            }
        }
        return out
    }

    /// The naive reference: for every query and head, the full softmax over the keys it sees.
    ///
    /// - Parameters:
    ///   - q: queries `[B, Tq, H, D]`.
    ///   - k: keys `[B, Tk, Hkv, D]`.
    ///   - v: values `[B, Tk, Hkv, D]`.
    ///   - cuSeqlensQ: packed query sequences, as for the blocked path.
    ///   - cuSeqlensK: packed key sequences, as for the blocked path.
    ///   - windowSize: the sliding window, or nil.
    ///   - scale: the score scale (nil: `1/√D`).
    /// - Returns: the output `[B, Tq, H, D]`.
    /// - Throws: the errors of the blocked path.
    public static func reference<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, cuSeqlensQ: [Int]? = nil, cuSeqlensK: [Int]? = nil,
        windowSize: Int? = nil, scale: T? = nil
    ) throws(KernelError) -> Tensor<T> {
        let p = try AttentionProblem(
            q: q, k: k, v: v, cuSeqlensQ: cuSeqlensQ, cuSeqlensK: cuSeqlensK, windowSize: windowSize, blockSize: 1)
        let s = try resolvedScale(scale, headDim: p.headDim)
        let (h, hkv, d) = (p.heads, p.kvHeads, p.headDim)
        let g = h / hkv
        var out = Tensor<T>(zeros: q.shape)
        for n in 0..<p.qStart.count {
            let offset = p.kLength[n] - p.qLength[n]
            for i in 0..<p.qLength[n] {
                let position = offset + i
                let first = p.window.map { Swift.max(0, position - $0 + 1) } ?? 0
                for head in 0..<h {
                    let kvHead = head / g
                    let qBase = (p.qStart[n] + i) * h * d + head * d
                    var scores: [T] = []
                    for j in first...position {
                        let kBase = (p.kStart[n] + j) * hkv * d + kvHead * d
                        var dot: T = 0
                        for c in 0..<d { dot += q.scalars[qBase + c] * k.scalars[kBase + c] }
                        scores.append(dot * s)
                    }
                    let m = scores.max()!
                    let weights = scores.map { T.exp($0 - m) }
                    let total = weights.reduce(0, +)
                    for (index, j) in (first...position).enumerated() {
                        let vBase = (p.kStart[n] + j) * hkv * d + kvHead * d
                        let w = weights[index] / total
                        for c in 0..<d { out.scalars[qBase + c] += w * v.scalars[vBase + c] }
                    }
                }
            }
        }
        return out
    }

    static func resolvedScale<T: LRNNScalar>(_ scale: T?, headDim: Int) throws(KernelError) -> T {
        let s = scale ?? 1 / T(Swift.max(headDim, 1)).squareRoot()
        if !s.isFinite { throw .invalidArgument(name: "scale", reason: "must be finite, got \(s)") }
        return s
    }
}

/// A validated attention problem: heads, head size, window, and each sequence's query and key rows.
struct AttentionProblem {
    let heads: Int, kvHeads: Int, headDim: Int
    let window: Int?
    let blockSize: Int
    /// Sequence n's queries are rows `qStart[n] ..< qStart[n] + qLength[n]` of `[rows, H·D]`, its
    /// keys and values rows `kStart[n] ..< kStart[n] + kLength[n]` of `[rows, Hkv·D]`.
    let qStart: [Int], qLength: [Int], kStart: [Int], kLength: [Int]

    /// A problem built by the model layer, whose inputs are right by construction.
    init(
        heads: Int, kvHeads: Int, headDim: Int, window: Int?, blockSize: Int, qStart: [Int], qLength: [Int],
        kStart: [Int], kLength: [Int]
    ) {
        precondition(
            heads > 0 && kvHeads > 0 && heads % kvHeads == 0 && (window ?? 1) >= 1 && blockSize >= 1,
            "AttentionProblem: heads \(heads), kvHeads \(kvHeads), window \(String(describing: window)), block \(blockSize)"
        )
        precondition(
            zip(qLength, kLength).allSatisfy { $0 <= $1 }, "AttentionProblem: query lengths \(qLength), keys \(kLength)"
        )
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.window = window
        self.blockSize = blockSize
        self.qStart = qStart
        self.qLength = qLength
        self.kStart = kStart
        self.kLength = kLength
    }

    /// Validates the public entry points' tensors.
    init<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, cuSeqlensQ: [Int]?, cuSeqlensK: [Int]?, windowSize: Int?,
        blockSize: Int
    ) throws(KernelError) {
        guard q.rank == 4 else { throw .shapeMismatch(tensor: "q", shape: q.shape, expected: "[B, Tq, H, D]") }
        let (b, tq, h, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        guard k.rank == 4, k.shape[0] == b, k.shape[3] == d, k.shape[2] >= 1, h % k.shape[2] == 0 else {
            throw .shapeMismatch(
                tensor: "k", shape: k.shape, expected: "[\(b), Tk, Hkv, \(d)] with Hkv dividing H = \(h)")
        }
        let (tk, hkv) = (k.shape[1], k.shape[2])
        try KernelError.requireShape(v, [b, tk, hkv, d], "v")
        if h < 1 { throw .shapeMismatch(tensor: "q", shape: q.shape, expected: "[B, Tq, H ≥ 1, D]") }
        if let w = windowSize, w < 1 {
            throw .invalidArgument(name: "windowSize", reason: "must be ≥ 1 or nil, got \(w)")
        }
        try KernelError.requireFinite(q, "q")
        try KernelError.requireFinite(k, "k")
        try KernelError.requireFinite(v, "v")
        var qs: [Int] = []
        var ql: [Int] = []
        var ks: [Int] = []
        var kl: [Int] = []
        switch (cuSeqlensQ, cuSeqlensK) {
        case (nil, nil):
            if tk < tq {
                throw .invalidArgument(name: "k", reason: "\(tk) keys for \(tq) queries: needs at least as many")
            }
            for n in 0..<b {
                qs.append(n * tq)
                ql.append(tq)
                ks.append(n * tk)
                kl.append(tk)
            }
        case let (cq?, ck?):
            if b != 1 {
                throw .invalidSequenceBoundaries(reason: "packed sequences need batch size 1, got \(b)")
            }
            let cuQ = try KernelError.validateSequenceBoundaries(cq, total: tq)
            let cuK = try KernelError.validateSequenceBoundaries(ck, total: tk)
            if cuQ.count != cuK.count {
                throw .invalidSequenceBoundaries(
                    reason: "cuSeqlensQ has \(cuQ.count - 1) sequences, cuSeqlensK \(cuK.count - 1)")
            }
            for n in 0..<(cuQ.count - 1) {
                let (lq, lk) = (cuQ[n + 1] - cuQ[n], cuK[n + 1] - cuK[n])
                if lk < lq {
                    throw .invalidArgument(
                        name: "cuSeqlensK", reason: "sequence \(n) has \(lk) keys for \(lq) queries")
                }
                qs.append(cuQ[n])
                ql.append(lq)
                ks.append(cuK[n])
                kl.append(lk)
            }
        default:
            throw .invalidSequenceBoundaries(reason: "cuSeqlensQ and cuSeqlensK must be given together")
        }
        self.init(
            heads: h, kvHeads: hkv, headDim: d, window: windowSize, blockSize: blockSize, qStart: qs, qLength: ql,
            kStart: ks, kLength: kl)
    }

    /// The elements of one worker's workspace: packed queries, scores, output, row max and sum.
    var workspaceCount: Int {
        let rows = (heads / kvHeads) * blockSize
        return rows * headDim * 2 + rows * blockSize + 2 * rows
    }

    /// Runs the blocked attention: work items are (sequence, query block, key/value head).
    /// With `logSumExp` (`[query rows, H]`) it also writes each query and head's
    /// `log Σ_j exp(s_ij)` over the keys it sees, what the backward needs to rebuild the probabilities.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func run<T: LRNNScalar>(
        scale: T, q: UnsafePointer<T>, k: UnsafePointer<T>, v: UnsafePointer<T>, out: UnsafeMutablePointer<T>,
        logSumExp: UnsafeMutablePointer<T>? = nil
    ) {
        var blocks: [(sequence: Int, first: Int)] = []
        for n in 0..<qStart.count {
            var i = 0
            while i < qLength[n] {
                blocks.append((n, i))
                i += blockSize
            }
        }
        let items = blocks.count * kvHeads
        if items == 0 { return }
        let workers = Swift.min(Threading.workerCount, items)
        let size = workspaceCount
        var workspace = [T](repeating: 0, count: workers * size)
        let (h, hkv, d, bs) = (heads, kvHeads, headDim, blockSize)
        let g = h / hkv
        workspace.withUnsafeMutableBufferPointer { wb in
            let base = wb.baseAddress!
            Threading.parallelFor(items, workers: workers) { item, worker in
                let (n, first) = blocks[item / hkv]
                let kvHead = item % hkv
                let count = Swift.min(bs, qLength[n] - first)
                var ws = AttentionWorkspace(base + worker * size, rows: g * bs, headDim: d, keys: bs)
                ws.packQueries(
                    q + (qStart[n] + first) * h * d + kvHead * g * d, tokens: count, rowStride: h * d, width: g * d,
                    scale: scale)
                // Query `first + i` sits at key position offset + first + i (bottom-right aligned).
                let firstPosition = kLength[n] - qLength[n] + first
                let lastPosition = firstPosition + count - 1
                var key = window.map { Swift.max(0, firstPosition - $0 + 1) } ?? 0
                let kBase = kStart[n] * hkv * d + kvHead * d
                while key <= lastPosition {
                    let kn = Swift.min(bs, lastPosition + 1 - key)
                    let masked = key + kn - 1 > firstPosition || (window.map { key <= lastPosition - $0 } ?? false)
                    ws.attend(
                        keys: k + kBase + key * hkv * d, values: v + kBase + key * hkv * d, count: kn,
                        rowStride: hkv * d, rows: g * count,
                        mask: masked
                            ? AttentionMask(
                                firstKey: key, firstQuery: firstPosition, headsPerRow: g, window: window)
                            : nil)
                    key += kn
                }
                ws.finish(
                    into: out + (qStart[n] + first) * h * d + kvHead * g * d, tokens: count, rowStride: h * d,
                    width: g * d, logSumExp: logSumExp.map { $0 + (qStart[n] + first) * h + kvHead * g },
                    logSumExpStride: h)
            }
        }
    }
}

/// Which scores of a key block are outside the causal window: row r is query token `r / g` at key
/// position `firstQuery + r / g`; column c is the key at position `firstKey + c`.
struct AttentionMask {
    let firstKey: Int, firstQuery: Int, headsPerRow: Int
    let window: Int?
}

/// One worker's view of its workspace for one block of queries (rows = tokens × heads of a group):
/// packed scaled queries `[rows, D]`, scores `[rows, keys]`, the unnormalised output `[rows, D]`,
/// the running row maximum and the running sum of exponentials.
struct AttentionWorkspace<T: LRNNScalar> {
    let queries: UnsafeMutablePointer<T>
    let scores: UnsafeMutablePointer<T>
    let output: UnsafeMutablePointer<T>
    let maximum: UnsafeMutablePointer<T>
    let sum: UnsafeMutablePointer<T>
    let headDim: Int, keyBlock: Int
    var rows = 0

    init(_ base: UnsafeMutablePointer<T>, rows: Int, headDim d: Int, keys: Int) {
        queries = base
        output = base + rows * d
        scores = output + rows * d
        maximum = scores + rows * keys
        sum = maximum + rows
        headDim = d
        keyBlock = keys
    }

    /// Copies `tokens` rows of `width` = g·D query elements (one token's heads of the group) as
    /// g·tokens rows of D, times `scale`, and resets the running statistics.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    mutating func packQueries(
        _ q: UnsafePointer<T>, tokens: Int, rowStride: Int, width: Int, scale: T
    ) {
        rows = tokens * (width / headDim)
        for t in 0..<tokens {
            let src = q + t * rowStride
            let dst = queries + t * width
            for c in 0..<width { dst[c] = src[c] * scale }
        }
        output.update(repeating: 0, count: rows * headDim)
        maximum.update(repeating: -T.infinity, count: rows)
        sum.update(repeating: 0, count: rows)
    }

    /// Folds one block of `count` keys and values (rows `rowStride` apart) into the running softmax.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func attend(
        keys: UnsafePointer<T>, values: UnsafePointer<T>, count: Int, rowStride: Int, rows r: Int,
        mask: AttentionMask?
    ) {
        precondition(r == rows && count <= keyBlock, "AttentionWorkspace: \(r) rows, \(count) keys")
        let d = headDim
        let s = MatrixView(scores, rows: rows, columns: count, leadingDimension: keyBlock)
        BLAS.gemm(
            MatrixView(queries, rows: rows, columns: d), .none,
            MatrixView(UnsafeMutablePointer(mutating: keys), rows: count, columns: d, leadingDimension: rowStride),
            .transpose, into: s)
        for row in 0..<rows {
            let p = scores + row * keyBlock
            if let mask {
                let position = mask.firstQuery + row / mask.headsPerRow
                let oldest = mask.window.map { position - $0 + 1 } ?? Int.min
                for c in 0..<count {
                    let key = mask.firstKey + c
                    if key > position || key < oldest { p[c] = -T.infinity }
                }
            }
            var blockMax = -T.infinity
            for c in 0..<count where p[c] > blockMax { blockMax = p[c] }
            let old = maximum[row]
            let new = Swift.max(old, blockMax)
            if new == -T.infinity {
                // Nothing seen yet in this row: the block adds nothing.
                for c in 0..<count { p[c] = 0 }
                continue
            }
            var total: T = 0
            for c in 0..<count {
                let e = T.exp(p[c] - new)
                p[c] = e
                total += e
            }
            let alpha = old == -T.infinity ? 0 : T.exp(old - new)
            sum[row] = sum[row] * alpha + total
            maximum[row] = new
            if alpha != 1 {
                let o = output + row * d
                for c in 0..<d { o[c] *= alpha }
            }
        }
        BLAS.gemm(
            s, .none,
            MatrixView(UnsafeMutablePointer(mutating: values), rows: count, columns: d, leadingDimension: rowStride),
            .none, into: MatrixView(output, rows: rows, columns: d), beta: 1)
    }

    /// Writes the normalised output rows back as `tokens` rows of `width` elements, and with
    /// `logSumExp` each row's `maximum + log(sum)` (`tokens` rows of `width / D` entries,
    /// `logSumExpStride` apart).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func finish(
        into out: UnsafeMutablePointer<T>, tokens: Int, rowStride: Int, width: Int,
        logSumExp: UnsafeMutablePointer<T>? = nil, logSumExpStride: Int = 0
    ) {
        let perToken = width / headDim
        for t in 0..<tokens {
            let dst = out + t * rowStride
            for hh in 0..<perToken {
                let row = t * perToken + hh
                let inv = 1 / sum[row]
                let o = output + row * headDim
                for c in 0..<headDim { dst[hh * headDim + c] = o[c] * inv }
                if let logSumExp { logSumExp[t * logSumExpStride + hh] = maximum[row] + T.log(sum[row]) }
            }
        }
    }
}
