import LRNNKernels
import LRNNLinearAlgebra

extension SoftmaxAttention {
    /// The gradients of causal softmax attention (FlashAttention-2's backward, Dao 2023,
    /// Algorithm 2, with two passes so that every gradient row has one writer), in BLAS level 3.
    ///
    /// For `L = Σ o ⊙ dO`, with `P = softmax(S)` over the keys a query sees, `S = scale·q·kᵀ` and
    /// `δ_i = Σ_c dO_ic·o_ic` (= `Σ_j P_ij·dP_ij`):
    ///
    ///     dV = Pᵀ·dO,   dP = dO·Vᵀ,   dS = P ⊙ (dP − δ),   dQ = scale·dS·K,   dK = scale·dSᵀ·Q
    ///
    /// summed over the g query heads that share a key/value head. The forward runs first (blocked,
    /// keeping each row's log-sum-exp), then, per key/value head and block of keys, every block of
    /// queries that sees them rebuilds `P = exp(S − logsumexp)` and adds `Pᵀ·dO` and `dSᵀ·Q` (four
    /// GEMMs per block pair), and per block of queries every key block it sees adds `dS·K`
    /// (three GEMMs). Nothing of size T × T is held; key blocks outside the causal window are
    /// skipped. docs/kernels/attention.md derives it.
    ///
    /// - Parameters:
    ///   - q: queries `[B, Tq, H, D]` (rotary embedding already applied).
    ///   - k: keys `[B, Tk, Hkv, D]`, Tk ≥ Tq; Hkv divides H.
    ///   - v: values `[B, Tk, Hkv, D]`.
    ///   - outputGradient: dL/d(output) `[B, Tq, H, D]`.
    ///   - cuSeqlensQ: packed query sequences, as for
    ///     ``blocked(q:k:v:cuSeqlensQ:cuSeqlensK:windowSize:scale:blockSize:)``.
    ///   - cuSeqlensK: packed key sequences, as for the forward.
    ///   - windowSize: the sliding window w ≥ 1, or nil.
    ///   - scale: the score scale (nil: `1/√D`).
    ///   - blockSize: the query and key block size in tokens (≥ 1).
    /// - Returns: dL/dq `[B, Tq, H, D]`, dL/dk and dL/dv `[B, Tk, Hkv, D]` (zero for a key no
    ///   query sees).
    /// - Throws: the errors of the forward, and
    ///   ``/LRNNKernels/KernelError/shapeMismatch(tensor:shape:expected:)`` or
    ///   ``/LRNNKernels/KernelError/nonFinite(tensor:)`` naming `outputGradient`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backward<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, outputGradient: Tensor<T>, cuSeqlensQ: [Int]? = nil,
        cuSeqlensK: [Int]? = nil, windowSize: Int? = nil, scale: T? = nil, blockSize: Int = defaultBlockSize
    ) throws(KernelError) -> (q: Tensor<T>, k: Tensor<T>, v: Tensor<T>) {
        if blockSize < 1 { throw .invalidArgument(name: "blockSize", reason: "must be ≥ 1, got \(blockSize)") }
        let p = try AttentionProblem(
            q: q, k: k, v: v, cuSeqlensQ: cuSeqlensQ, cuSeqlensK: cuSeqlensK, windowSize: windowSize,
            blockSize: blockSize)
        try KernelError.requireShape(outputGradient, q.shape, "outputGradient")
        try KernelError.requireFinite(outputGradient, "outputGradient")
        let s = try resolvedScale(scale, headDim: p.headDim)
        var o = Tensor<T>.zeros(q.shape)
        var lse = Tensor<T>.zeros([p.headDim == 0 ? 0 : q.count / p.headDim])
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    o.withUnsafeMutableBufferPointer { ob in
                        lse.withUnsafeMutableBufferPointer { lb in
                            p.run(
                                scale: s, q: qb.baseAddress!, k: kb.baseAddress!, v: vb.baseAddress!,
                                out: ob.baseAddress!, logSumExp: lb.baseAddress!)
                        }
                    }
                }
            }
        }
        return p.backward(scale: s, q: q, k: k, v: v, output: o, logSumExp: lse, outputGradient: outputGradient)
    }
}

extension AttentionProblem {
    /// The blocked backward from the forward's output and log-sum-exp (`[query rows, H]`, from
    /// ``run(scale:q:k:v:out:logSumExp:)``). Tensors are rows: q, o, dO `[query rows, H·D]`, k, v
    /// `[key rows, Hkv·D]`; the gradients have the same shapes as q, k, v.
    ///
    /// Pass 1, work items (sequence, key block, key/value head): dK and dV of the block, every
    /// query block that sees it folded in. Pass 2, work items (sequence, query block, key/value
    /// head): dQ of the block over the key blocks it sees. Each gradient row is written by one
    /// item and its sums run in a fixed order, so the result does not depend on the thread count.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: LRNNScalar>(
        scale: T, q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, output o: Tensor<T>, logSumExp lse: Tensor<T>,
        outputGradient dO: Tensor<T>
    ) -> (q: Tensor<T>, k: Tensor<T>, v: Tensor<T>) {
        let (h, hkv, d, bs) = (heads, kvHeads, headDim, blockSize)
        precondition(
            q.count == o.count && q.count == dO.count && lse.count * d == q.count && k.count == v.count,
            "AttentionProblem.backward: q \(q.shape), o \(o.shape), dO \(dO.shape), lse \(lse.shape)")
        var dq = Tensor<T>.zeros(q.shape)
        var dk = Tensor<T>.zeros(k.shape)
        var dv = Tensor<T>.zeros(v.shape)
        // δ = rowsum(dO ⊙ o) per query row and head.
        var delta = Tensor<T>.zeros(lse.shape)
        o.withUnsafeBufferPointer { ob in
            dO.withUnsafeBufferPointer { gb in
                delta.withUnsafeMutableBufferPointer { db in
                    for n in 0..<qStart.count {
                        for r in (qStart[n] * h)..<((qStart[n] + qLength[n]) * h) {
                            var s: T = 0
                            for c in 0..<d { s += ob[r * d + c] * gb[r * d + c] }
                            db[r] = s
                        }
                    }
                }
            }
        }
        var keyBlocks: [(sequence: Int, first: Int)] = []
        var queryBlocks: [(sequence: Int, first: Int)] = []
        for n in 0..<qStart.count {
            for first in stride(from: 0, to: kLength[n], by: bs) { keyBlocks.append((n, first)) }
            for first in stride(from: 0, to: qLength[n], by: bs) { queryBlocks.append((n, first)) }
        }
        let g = h / hkv
        let size = AttentionBackwardWorkspace<T>.count(rows: g * bs, headDim: d, keys: bs)
        let workers = Swift.min(Threading.workerCount, Swift.max(keyBlocks.count, queryBlocks.count) * hkv)
        if workers == 0 { return (dq, dk, dv) }
        var workspace = [T](repeating: 0, count: workers * size)
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    lse.withUnsafeBufferPointer { lb in
                        delta.withUnsafeBufferPointer { db in
                            dO.withUnsafeBufferPointer { gb in
                                workspace.withUnsafeMutableBufferPointer { wb in
                                    let rows = AttentionRows(
                                        q: qb.baseAddress!, k: kb.baseAddress!, v: vb.baseAddress!,
                                        logSumExp: lb.baseAddress!, delta: db.baseAddress!,
                                        outputGradient: gb.baseAddress!)
                                    dk.withUnsafeMutableBufferPointer { dkb in
                                        dv.withUnsafeMutableBufferPointer { dvb in
                                            keyValueGradients(
                                                scale: scale, rows, blocks: keyBlocks, workspace: wb.baseAddress!,
                                                workspaceSize: size, workers: workers, dk: dkb.baseAddress!,
                                                dv: dvb.baseAddress!)
                                        }
                                    }
                                    dq.withUnsafeMutableBufferPointer { dqb in
                                        queryGradients(
                                            scale: scale, rows, blocks: queryBlocks, workspace: wb.baseAddress!,
                                            workspaceSize: size, workers: workers, dq: dqb.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dq, dk, dv)
    }

    /// The query positions (indices within sequence n) that see at least one key of
    /// `first ..< first + count`: key ≤ position ≤ key + w − 1.
    func queriesSeeing(sequence n: Int, keys first: Int, count: Int) -> Range<Int> {
        let offset = kLength[n] - qLength[n]
        let lo = Swift.max(0, first - offset)
        let hi = window.map { Swift.min(qLength[n], first + count - 1 + $0 - offset) } ?? qLength[n]
        return lo..<Swift.max(lo, hi)
    }

    /// Whether a block of queries at key positions `firstPosition … lastPosition` and keys
    /// `key ..< key + count` has a pair outside the causal window (as the forward decides).
    func needsMask(firstPosition: Int, lastPosition: Int, key: Int, count: Int) -> Bool {
        key + count - 1 > firstPosition || (window.map { key <= lastPosition - $0 } ?? false)
    }

    /// Pass 1: dK, dV per (sequence, key block, key/value head).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func keyValueGradients<T: LRNNScalar>(
        scale: T, _ rows: AttentionRows<T>, blocks: [(sequence: Int, first: Int)],
        workspace: UnsafeMutablePointer<T>, workspaceSize size: Int, workers: Int, dk: UnsafeMutablePointer<T>,
        dv: UnsafeMutablePointer<T>
    ) {
        let (h, hkv, d, bs) = (heads, kvHeads, headDim, blockSize)
        let g = h / hkv
        let items = blocks.count * hkv
        if items == 0 { return }
        Threading.parallelFor(items, workers: Swift.min(workers, items)) { item, worker in
            let (n, key) = blocks[item / hkv]
            let kvHead = item % hkv
            let kn = Swift.min(bs, kLength[n] - key)
            var ws = AttentionBackwardWorkspace(workspace + worker * size, rows: g * bs, headDim: d, keys: bs)
            let kvOffset = (kStart[n] + key) * hkv * d + kvHead * d
            let keys = rows.k + kvOffset
            let values = rows.v + kvOffset
            ws.keyAccumulator.update(repeating: 0, count: kn * d)
            ws.valueAccumulator.update(repeating: 0, count: kn * d)
            let queries = queriesSeeing(sequence: n, keys: key, count: kn)
            let offset = kLength[n] - qLength[n]
            var first = queries.lowerBound
            while first < queries.upperBound {
                let count = Swift.min(bs, queries.upperBound - first)
                let firstPosition = offset + first
                ws.load(rows, heads: h, group: g, kvHead: kvHead, row: qStart[n] + first, tokens: count, scale: scale)
                let masked = needsMask(
                    firstPosition: firstPosition, lastPosition: firstPosition + count - 1, key: key, count: kn)
                ws.scoreGradients(
                    keys: keys, values: values, count: kn, rowStride: hkv * d,
                    mask: masked
                        ? AttentionMask(firstKey: key, firstQuery: firstPosition, headsPerRow: g, window: window) : nil)
                // dV += Pᵀ·dO, dK += dSᵀ·(scale·Q).
                let r = ws.rows
                BLAS.gemm(
                    MatrixView(ws.probabilities, rows: r, columns: kn, leadingDimension: bs), .transpose,
                    MatrixView(ws.outputGradient, rows: r, columns: d), .none,
                    into: MatrixView(ws.valueAccumulator, rows: kn, columns: d), beta: 1)
                BLAS.gemm(
                    MatrixView(ws.scoreGradient, rows: r, columns: kn, leadingDimension: bs), .transpose,
                    MatrixView(ws.queries, rows: r, columns: d), .none,
                    into: MatrixView(ws.keyAccumulator, rows: kn, columns: d), beta: 1)
                first += count
            }
            for t in 0..<kn {
                (dk + kvOffset + t * hkv * d).update(from: ws.keyAccumulator + t * d, count: d)
                (dv + kvOffset + t * hkv * d).update(from: ws.valueAccumulator + t * d, count: d)
            }
        }
    }

    /// Pass 2: dQ per (sequence, query block, key/value head).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func queryGradients<T: LRNNScalar>(
        scale: T, _ rows: AttentionRows<T>, blocks: [(sequence: Int, first: Int)],
        workspace: UnsafeMutablePointer<T>, workspaceSize size: Int, workers: Int, dq: UnsafeMutablePointer<T>
    ) {
        let (h, hkv, d, bs) = (heads, kvHeads, headDim, blockSize)
        let g = h / hkv
        let items = blocks.count * hkv
        if items == 0 { return }
        Threading.parallelFor(items, workers: Swift.min(workers, items)) { item, worker in
            let (n, first) = blocks[item / hkv]
            let kvHead = item % hkv
            let count = Swift.min(bs, qLength[n] - first)
            var ws = AttentionBackwardWorkspace(workspace + worker * size, rows: g * bs, headDim: d, keys: bs)
            ws.load(rows, heads: h, group: g, kvHead: kvHead, row: qStart[n] + first, tokens: count, scale: scale)
            let r = ws.rows
            ws.queryAccumulator.update(repeating: 0, count: r * d)
            let firstPosition = kLength[n] - qLength[n] + first
            let lastPosition = firstPosition + count - 1
            var key = window.map { Swift.max(0, firstPosition - $0 + 1) } ?? 0
            let kBase = kStart[n] * hkv * d + kvHead * d
            while key <= lastPosition {
                let kn = Swift.min(bs, lastPosition + 1 - key)
                let keys = rows.k + kBase + key * hkv * d
                ws.scoreGradients(
                    keys: keys, values: rows.v + kBase + key * hkv * d, count: kn, rowStride: hkv * d,
                    mask: needsMask(firstPosition: firstPosition, lastPosition: lastPosition, key: key, count: kn)
                        ? AttentionMask(firstKey: key, firstQuery: firstPosition, headsPerRow: g, window: window) : nil)
                // dQ += dS·K (times scale when written).
                BLAS.gemm(
                    MatrixView(ws.scoreGradient, rows: r, columns: kn, leadingDimension: bs), .none,
                    MatrixView(UnsafeMutablePointer(mutating: keys), rows: kn, columns: d, leadingDimension: hkv * d),
                    .none, into: MatrixView(ws.queryAccumulator, rows: r, columns: d), beta: 1)
                key += kn
            }
            let width = g * d
            for t in 0..<count {
                let dst = dq + (qStart[n] + first + t) * h * d + kvHead * width
                let src = ws.queryAccumulator + t * width
                for c in 0..<width { dst[c] = src[c] * scale }
            }
        }
    }
}

/// The row-major inputs of the attention backward: q, dO `[query rows, H·D]`, k, v
/// `[key rows, Hkv·D]`, the forward's log-sum-exp and δ `[query rows, H]`.
struct AttentionRows<T: LRNNScalar> {
    let q: UnsafePointer<T>, k: UnsafePointer<T>, v: UnsafePointer<T>
    let logSumExp: UnsafePointer<T>, delta: UnsafePointer<T>
    let outputGradient: UnsafePointer<T>
}

/// One worker's workspace for the attention backward, for one block of queries (rows = tokens ×
/// the g heads of a group, as the forward packs them): scaled queries and dO `[rows, D]`, the
/// rows' log-sum-exp and δ, the probabilities P and the score gradients dS `[rows, keys]`, and the
/// accumulators (dQ `[rows, D]`; dK, dV `[keys, D]`).
struct AttentionBackwardWorkspace<T: LRNNScalar> {
    let queries: UnsafeMutablePointer<T>
    let outputGradient: UnsafeMutablePointer<T>
    let logSumExp: UnsafeMutablePointer<T>
    let delta: UnsafeMutablePointer<T>
    let probabilities: UnsafeMutablePointer<T>
    let scoreGradient: UnsafeMutablePointer<T>
    let queryAccumulator: UnsafeMutablePointer<T>
    let keyAccumulator: UnsafeMutablePointer<T>
    let valueAccumulator: UnsafeMutablePointer<T>
    let headDim: Int, keyBlock: Int
    var rows = 0

    /// The elements of one workspace.
    static func count(rows: Int, headDim d: Int, keys: Int) -> Int {
        3 * rows * d + 2 * rows + 2 * rows * keys + 2 * keys * d
    }

    init(_ base: UnsafeMutablePointer<T>, rows: Int, headDim d: Int, keys: Int) {
        queries = base
        outputGradient = queries + rows * d
        queryAccumulator = outputGradient + rows * d
        logSumExp = queryAccumulator + rows * d
        delta = logSumExp + rows
        probabilities = delta + rows
        scoreGradient = probabilities + rows * keys
        keyAccumulator = scoreGradient + rows * keys
        valueAccumulator = keyAccumulator + keys * d
        headDim = d
        keyBlock = keys
    }

    /// Packs `tokens` query rows from `row` on: the group's g heads of each token as g rows of D
    /// (queries times `scale`), with their dO, log-sum-exp and δ.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    mutating func load(
        _ src: AttentionRows<T>, heads h: Int, group g: Int, kvHead: Int, row: Int, tokens: Int, scale: T
    ) {
        let d = headDim
        let width = g * d
        rows = tokens * g
        for t in 0..<tokens {
            let offset = (row + t) * h * d + kvHead * width
            let q = src.q + offset
            let dO = src.outputGradient + offset
            let dq = queries + t * width
            let dg = outputGradient + t * width
            for c in 0..<width {
                dq[c] = q[c] * scale
                dg[c] = dO[c]
            }
            let stats = (row + t) * h + kvHead * g
            for hh in 0..<g {
                logSumExp[t * g + hh] = src.logSumExp[stats + hh]
                delta[t * g + hh] = src.delta[stats + hh]
            }
        }
    }

    /// For one block of `count` keys and values (rows `rowStride` apart): `P = exp(Q̃·Kᵀ − lse)`
    /// (zero outside the mask), `dP = dO·Vᵀ` and `dS = P ⊙ (dP − δ)` into ``scoreGradient``.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func scoreGradients(
        keys: UnsafePointer<T>, values: UnsafePointer<T>, count: Int, rowStride: Int, mask: AttentionMask?
    ) {
        precondition(count <= keyBlock, "AttentionBackwardWorkspace: \(count) keys")
        let d = headDim
        let p = MatrixView(probabilities, rows: rows, columns: count, leadingDimension: keyBlock)
        let ds = MatrixView(scoreGradient, rows: rows, columns: count, leadingDimension: keyBlock)
        BLAS.gemm(
            MatrixView(queries, rows: rows, columns: d), .none,
            MatrixView(UnsafeMutablePointer(mutating: keys), rows: count, columns: d, leadingDimension: rowStride),
            .transpose, into: p)
        BLAS.gemm(
            MatrixView(outputGradient, rows: rows, columns: d), .none,
            MatrixView(UnsafeMutablePointer(mutating: values), rows: count, columns: d, leadingDimension: rowStride),
            .transpose, into: ds)
        for row in 0..<rows {
            let pr = probabilities + row * keyBlock
            let sr = scoreGradient + row * keyBlock
            let l = logSumExp[row]
            let dl = delta[row]
            if let mask {
                let position = mask.firstQuery + row / mask.headsPerRow
                let oldest = mask.window.map { position - $0 + 1 } ?? Int.min
                for c in 0..<count {
                    let key = mask.firstKey + c
                    let e = key > position || key < oldest ? 0 : T.exp(pr[c] - l)
                    pr[c] = e
                    sr[c] = e * (sr[c] - dl)
                }
            } else {
                for c in 0..<count {
                    let e = T.exp(pr[c] - l)
                    pr[c] = e
                    sr[c] = e * (sr[c] - dl)
                }
            }
        }
    }
}
