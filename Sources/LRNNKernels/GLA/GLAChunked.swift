import LRNNLinearAlgebra
import RealModule

extension GLA {
    /// Runs the chunked kernel over every (sequence, head group) work item in parallel, writing every row of
    /// `output` and advancing `state` (the initial states on entry, the final states on return).
    /// Returns what the scan of q, k, v and gk found (every element is read exactly once, chunk by
    /// chunk, in the pass that brings the chunk's rows into cache). With `saving`, the heads of the
    /// sequences its plan keeps advance their state through the plan's slots instead of in place
    /// (every chunk-start state and the final state stay there, ``GLASavePlan``), with the same
    /// arithmetic, and the final state is copied back into `finalState`.
    static func runChunked<T: LRNNScalar>(
        _ p: Problem<T>, q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, chunkSize: Int,
        subChunkSize: Int, output: inout Tensor<T>, state finalState: inout Tensor<T>,
        saving: (plan: GLASavePlan, base: UnsafeMutablePointer<T>)? = nil
    ) -> InputFlags {
        let (tokens, heads, dk, dv) = (p.tokens, p.heads, p.keyDim, p.valueDim)
        let segments = p.segments
        // No sequences (B = 0): nothing to run. A chunk longer than the longest sequence only
        // enlarges the workspaces (a caller may pass any chunk size), so it is clamped.
        guard !segments.isEmpty else { return [] }
        let chunkSize = Swift.min(chunkSize, Swift.max(1, segments.map(\.length).max() ?? 0))
        let subChunkSize = Swift.min(subChunkSize, chunkSize)
        let scale = p.scale
        precondition(saving.map { $0.plan.chunkTokens == chunkSize } ?? true, "GLA: save plan of another chunking")
        let savedBase = saving?.base
        let plan = saving?.plan
        var flagBuffer: [UInt8] = []
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    gk.withUnsafeBufferPointer { gb in
                        output.withUnsafeMutableBufferPointer { ob in
                            finalState.withUnsafeMutableBufferPointer { sb in
                                let qp = UnsafeMutablePointer(mutating: qb.baseAddress)
                                let kp = UnsafeMutablePointer(mutating: kb.baseAddress)
                                let vp = UnsafeMutablePointer(mutating: vb.baseAddress)
                                let gp = UnsafeMutablePointer(mutating: gb.baseAddress)
                                let op = ob.baseAddress
                                let sp = sb.baseAddress
                                // Work items are (sequence, head group), just enough groups that every
                                // worker has one. Chunk by chunk, the group's rows are first touched as
                                // contiguous spans (a token's heads are adjacent: H·D per row), so their
                                // misses overlap, then each head runs the chunk from cache.
                                let workers = Threading.workerCount
                                let groups = Swift.max(
                                    1, Swift.min(heads, (workers + segments.count - 1) / segments.count))
                                let lineScalars = Swift.max(1, 64 / MemoryLayout<T>.stride)
                                flagBuffer = [UInt8](repeating: 0, count: segments.count * groups)
                                // One workspace per worker, allocated here once for all work items.
                                let kernel = ChunkKernel<T>(
                                    keyDim: dk, valueDim: dv, chunkSize: chunkSize, subChunkSize: subChunkSize)
                                let items = segments.count * groups
                                let workerSlots = Swift.max(1, Swift.min(items, workers))
                                let perWorker = kernel.workspaceCount
                                let workspaces = UnsafeMutablePointer<T>.allocate(capacity: workerSlots * perWorker)
                                workspaces.initialize(repeating: 0, count: workerSlots * perWorker)
                                defer { workspaces.deallocate() }
                                flagBuffer.withUnsafeMutableBufferPointer { fb in
                                    let fp = fb.baseAddress!
                                    Threading.parallelFor(items, workers: workerSlots) { item, worker in
                                        let seg = segments[item / groups]
                                        let group = item % groups
                                        let hLo = group * heads / groups
                                        let hHi = (group + 1) * heads / groups
                                        guard seg.length > 0, hLo < hHi, let qp, let kp, let vp, let gp, let op, let sp
                                        else { return }
                                        var flags: InputFlags = []
                                        defer { fp[item] = flags.rawValue }
                                        let workspace = workspaces + worker * perWorker
                                        let stateBase = sp + (item / groups) * heads * dk * dv
                                        var t0 = 0
                                        while t0 < seg.length {
                                            let len = Swift.min(chunkSize, seg.length - t0)
                                            let row0 = seg.batch * tokens + seg.start + t0
                                            for i in 0..<len {
                                                let keyRow = ((row0 + i) * heads + hLo) * dk
                                                let valueRow = ((row0 + i) * heads + hLo) * dv
                                                let keySpan = (hHi - hLo) * dk
                                                let valueSpan = (hHi - hLo) * dv
                                                if NonFiniteScan.scan(qp + keyRow, count: keySpan).nonFinite {
                                                    flags.insert(.nonFiniteQ)
                                                }
                                                if NonFiniteScan.scan(kp + keyRow, count: keySpan).nonFinite {
                                                    flags.insert(.nonFiniteK)
                                                }
                                                let g = NonFiniteScan.scan(
                                                    gp + keyRow, count: keySpan, allowingNegativeInfinity: true)
                                                if g.nonFinite { flags.insert(.nonFiniteGK) }
                                                if g.positive { flags.insert(.positiveGK) }
                                                if NonFiniteScan.scan(vp + valueRow, count: valueSpan).nonFinite {
                                                    flags.insert(.nonFiniteV)
                                                }
                                                for c in stride(from: 0, to: valueSpan, by: lineScalars) {
                                                    op[valueRow + c] = 0  // overwritten by the chunk's first gemm
                                                }
                                            }
                                            let s = item / groups
                                            for h in hLo..<hHi {
                                                let row = row0 * heads + h
                                                let state = stateBase + h * dk * dv
                                                var current = state
                                                var next: UnsafeMutablePointer<T>? = nil
                                                var decay: UnsafeMutablePointer<T>? = nil
                                                if let plan, let base = savedBase, plan.saved[s] {
                                                    let chunk = t0 / chunkSize
                                                    decay = base + plan.decay(s, head: h, chunk: chunk)
                                                    current = base + plan.state(s, head: h, chunk: chunk)
                                                    next = current + dk * dv
                                                    if chunk == 0 { current.update(from: state, count: dk * dv) }
                                                }
                                                kernel.run(
                                                    q: qp + row * dk, k: kp + row * dk, gk: gp + row * dk,
                                                    v: vp + row * dv, o: op + row * dv, keyStride: heads * dk,
                                                    valueStride: heads * dv, length: len, scale: scale,
                                                    state: current, next: next, decayOut: decay, workspace: workspace)
                                                if let next, t0 + len == seg.length {
                                                    state.update(from: next, count: dk * dv)
                                                }
                                            }
                                            t0 += len
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return InputFlags(rawValue: flagBuffer.reduce(0, |))
    }

    /// The chunked kernel for one head of a work item, over one or more chunks.
    ///
    /// Its scratch memory (``workspaceCount`` elements, allocated once per worker by the caller of the
    /// work-item loop and reused by every chunk) holds row-major, contiguous blocks (C = chunk size, c = sub-chunk size): `decay` C×K
    /// (`exp(gk)` of the chunk), `qGated` C×K, `kGated` C×K, `kSub` C×K, `qSub` c×K, `attention` C×C,
    /// `pairs` p(p+1)/2 × K and `pairValues` p(p+1)/2 with p = min(c, ``directBlock``), and three K-vectors.
    struct ChunkKernel<T: LRNNScalar> {
        let keyDim: Int
        let valueDim: Int
        let chunkSize: Int
        let subChunkSize: Int

        /// The number of scratch elements ``run(q:k:gk:v:o:keyStride:valueStride:length:scale:state:workspace:)`` needs.
        var workspaceCount: Int {
            let direct = Swift.min(subChunkSize, Self.directBlock)
            let pairs = direct * (direct + 1) / 2
            return 4 * chunkSize * keyDim + subChunkSize * keyDim + chunkSize * chunkSize + pairs * keyDim + pairs
                + 3 * keyDim
        }

        /// Processes one sequence of one head, chunk by chunk; `state` (K×V, contiguous) holds the initial
        /// state on entry and the final state on return. Rows of `q`, `k`, `gk` are `keyStride` apart,
        /// rows of `v` and `o` `valueStride` apart. With `next` (one chunk only: `length` ≤ C) the
        /// updated state is written there instead, `state` left as it was (the same arithmetic); with
        /// `decayOut` (one chunk only) the decay factors are written there instead of the workspace.
        @_specialize(where T == Float)
        @_specialize(where T == Double)
        func run(
            q: UnsafeMutablePointer<T>, k: UnsafeMutablePointer<T>, gk: UnsafeMutablePointer<T>,
            v: UnsafeMutablePointer<T>, o: UnsafeMutablePointer<T>, keyStride: Int, valueStride: Int,
            length: Int, scale: T, state: UnsafeMutablePointer<T>, next: UnsafeMutablePointer<T>? = nil,
            decayOut: UnsafeMutablePointer<T>? = nil, workspace: UnsafeMutablePointer<T>
        ) {
            precondition(
                (next == nil && decayOut == nil) || length <= chunkSize,
                "GLA chunk kernel: out-of-place update of several chunks")
            let (dk, dv, cs, sub) = (keyDim, valueDim, chunkSize, subChunkSize)
            do {
                let base = workspace
                let decay = decayOut ?? base
                let qGated = base + cs * dk
                let kGated = qGated + cs * dk
                let kSub = kGated + cs * dk
                let qSub = kSub + cs * dk
                let attention = qSub + sub * dk
                let pairs = attention + cs * cs
                let direct = Swift.min(sub, Self.directBlock)
                let pairValues = pairs + (direct * (direct + 1) / 2) * dk
                let carry = pairValues + direct * (direct + 1) / 2
                let ones = carry + dk
                let stateDecay = ones + dk
                ones.update(repeating: 1, count: dk)
                let tiny = GLA.flushBelow(T.self)
                let stateView = MatrixView(state, rows: dk, columns: dv)

                var t = 0
                while t < length {
                    let len = Swift.min(cs, length - t)
                    let qc = q + t * keyStride
                    let kc = k + t * keyStride
                    let gc = gk + t * keyStride
                    let vView = MatrixView(v + t * valueStride, rows: len, columns: dv, leadingDimension: valueStride)
                    let oView = MatrixView(o + t * valueStride, rows: len, columns: dv, leadingDimension: valueStride)
                    // The chunk's rows are in cache: the work item's scan has just read them.

                    // a_i = exp(gk_i) ≤ 1, then forward products exp(γ_i) = Π_{s ≤ i} a_s into the gated queries.
                    carry.update(repeating: 1, count: dk)
                    for i in 0..<len {
                        let g = gc + i * keyStride
                        let a = decay + i * dk
                        let qi = qc + i * keyStride
                        let qg = qGated + i * dk
                        GLA.decayFactors(g, into: a, count: dk)
                        for x in 0..<dk {
                            let c = carry[x] * a[x]
                            let f: T = c * (c < tiny ? 0 : 1)
                            carry[x] = f
                            qg[x] = scale * qi[x] * f
                        }
                    }
                    stateDecay.update(from: carry, count: dk)  // exp(γ_last)

                    // Keys gated to the chunk end: k_j ⊙ exp(γ_last − γ_j) = k_j ⊙ Π_{j < s < len} a_s.
                    carry.update(repeating: 1, count: dk)
                    for j in stride(from: len - 1, through: 0, by: -1) {
                        let kj = kc + j * keyStride
                        let kg = kGated + j * dk
                        let a = decay + j * dk
                        for x in 0..<dk {
                            kg[x] = kj[x] * carry[x]
                            let c = carry[x] * a[x]
                            carry[x] = c * (c < tiny ? 0 : 1)
                        }
                    }

                    // Inter-chunk term O = (scale·Q ⊙ exp(γ))·S.
                    BLAS.gemm(MatrixView(qGated, rows: len, columns: dk), .none, stateView, .none, into: oView)

                    // Intra-chunk attention P (lower triangular, len×len).
                    intraChunkAttention(
                        q: qc, k: kc, keyStride: keyStride, length: len, scale: scale, decay: decay,
                        qSub: qSub, kSub: kSub, attention: attention, pairs: pairs, pairValues: pairValues,
                        carry: carry, ones: ones)
                    BLAS.gemm(MatrixView(attention, rows: len, columns: len), .none, vView, .none, into: oView, beta: 1)

                    // State update S ← diag(exp(γ_last))·S + (K ⊙ exp(γ_last − γ))ᵀ·V (into `next` if given).
                    let target = next ?? state
                    if let next {
                        for x in 0..<dk {
                            let (src, dst) = (state + x * dv, next + x * dv)
                            let d = stateDecay[x]
                            for y in 0..<dv { dst[y] = src[y] * d }
                        }
                    } else {
                        for x in 0..<dk {
                            let r = state + x * dv
                            let d = stateDecay[x]
                            for y in 0..<dv { r[y] *= d }
                        }
                    }
                    BLAS.gemm(
                        MatrixView(kGated, rows: len, columns: dk), .transpose, vView,
                        into: MatrixView(target, rows: dk, columns: dv), beta: 1)
                    t += len
                }
            }
        }

        /// ``run(q:k:gk:v:o:keyStride:valueStride:length:scale:state:workspace:)`` with the workspace
        /// as an array of at least ``workspaceCount`` elements.
        func run(
            q: UnsafeMutablePointer<T>, k: UnsafeMutablePointer<T>, gk: UnsafeMutablePointer<T>,
            v: UnsafeMutablePointer<T>, o: UnsafeMutablePointer<T>, keyStride: Int, valueStride: Int,
            length: Int, scale: T, state: UnsafeMutablePointer<T>, workspace: inout [T]
        ) {
            precondition(workspace.count >= workspaceCount, "GLA workspace: \(workspace.count) < \(workspaceCount)")
            workspace.withUnsafeMutableBufferPointer { wb in
                run(
                    q: q, k: k, gk: gk, v: v, o: o, keyStride: keyStride, valueStride: valueStride, length: length,
                    scale: scale, state: state, workspace: wb.baseAddress!)
            }
        }

        /// Builds the len×len lower-triangular intra-chunk matrix
        /// `P_ij = scale·Σ_c q_ic·k_jc·exp(γ_ic − γ_jc)` (j ≤ i) into `attention` (leading dimension len).
        @inline(__always)
        func intraChunkAttention(
            q: UnsafeMutablePointer<T>, k: UnsafeMutablePointer<T>, keyStride: Int, length len: Int, scale: T,
            decay: UnsafeMutablePointer<T>, qSub: UnsafeMutablePointer<T>, kSub: UnsafeMutablePointer<T>,
            attention: UnsafeMutablePointer<T>, pairs: UnsafeMutablePointer<T>,
            pairValues: UnsafeMutablePointer<T>, carry: UnsafeMutablePointer<T>, ones: UnsafeMutablePointer<T>
        ) {
            attention.update(repeating: 0, count: len * len)
            let buffers = AttentionBuffers(
                q: q, k: k, keyStride: keyStride, length: len, scale: scale, decay: decay, qSub: qSub, kSub: kSub,
                attention: attention, pairs: pairs, pairValues: pairValues, carry: carry, ones: ones)
            attend(rows: 0..<len, subChunkSize: subChunkSize, buffers)
        }

        /// The pointers ``attend(rows:subChunkSize:_:)`` works with.
        struct AttentionBuffers {
            let q: UnsafeMutablePointer<T>
            let k: UnsafeMutablePointer<T>
            let keyStride: Int
            let length: Int
            let scale: T
            let decay: UnsafeMutablePointer<T>
            let qSub: UnsafeMutablePointer<T>
            let kSub: UnsafeMutablePointer<T>
            let attention: UnsafeMutablePointer<T>
            let pairs: UnsafeMutablePointer<T>
            let pairValues: UnsafeMutablePointer<T>
            let carry: UnsafeMutablePointer<T>
            let ones: UnsafeMutablePointer<T>
        }

        /// Fills `P[rows, rows]` (the rows' own lower triangle), sub-chunk by sub-chunk.
        ///
        /// For sub-chunk I = rows `n ..< n+m`, every exponent is split at the reference row n:
        /// `exp(γ_i − γ_j) = exp(γ_i − γ_n)·exp(γ_n − γ_j)`. The q side (i ≥ n) is ≤ 1. The k side is ≤ 1
        /// for the earlier rows j < n, so the block `P[I, rows.lower..<n]` is always one GEMM. For the
        /// diagonal block (n ≤ j) the k side is ≥ 1, bounded by `exp(Δ)` with Δ the largest per-channel
        /// decay `γ_n − γ_{n+m−1}` inside the sub-chunk: when Δ ≤ ``boundedDecay`` (far from overflow and
        /// underflow) the diagonal block joins the same GEMM and its upper triangle is cleared. Otherwise
        /// the diagonal block is split again in halves (recursively), and blocks of at most
        /// ``directBlock`` rows use a direct loop over the pairs j ≤ i carrying `k_j ⊙ Π_{j < s ≤ i} a_s`
        /// (nothing above 1), one GEMV summing the pair products over the channels.
        func attend(rows: Range<Int>, subChunkSize sub: Int, _ b: AttentionBuffers) {
            let dk = keyDim
            let (q, k, keyStride, len, scale) = (b.q, b.k, b.keyStride, b.length, b.scale)
            let (decay, qSub, kSub, attention, carry) = (b.decay, b.qSub, b.kSub, b.attention, b.carry)
            let floor = T.exp(-Self.boundedDecay)
            let tiny = GLA.flushBelow(T.self)
            let pView = MatrixView(attention, rows: len, columns: len)
            let lo = rows.lowerBound
            var n = lo
            while n < rows.upperBound {
                let m = Swift.min(sub, rows.upperBound - n)
                // q side: q_{n+r} ⊙ Π_{n < s ≤ n+r} a_s; afterwards carry = exp(−Δ) per channel.
                carry.update(repeating: 1, count: dk)
                for r in 0..<m {
                    let qi = q + (n + r) * keyStride
                    let dst = qSub + r * dk
                    if r > 0 {
                        let a = decay + (n + r) * dk
                        for x in 0..<dk {
                            let c = carry[x] * a[x]
                            carry[x] = c * (c < tiny ? 0 : 1)
                        }
                    }
                    for x in 0..<dk { dst[x] = qi[x] * carry[x] }
                }
                var weak: UInt8 = 1
                for x in 0..<dk { weak &= carry[x] >= floor ? 1 : 0 }
                // k side for the earlier rows: k_j ⊙ Π_{j < s ≤ n} a_s, lo ≤ j < n.
                if n > lo {
                    carry.update(from: decay + n * dk, count: dk)
                    for j in stride(from: n - 1, through: lo, by: -1) {
                        let kj = k + j * keyStride
                        let dst = kSub + j * dk
                        let a = decay + j * dk
                        for x in 0..<dk {
                            dst[x] = kj[x] * carry[x]
                            let c = carry[x] * a[x]
                            carry[x] = c * (c < tiny ? 0 : 1)
                        }
                    }
                }
                if weak != 0 {
                    // k side inside the sub-chunk: k_j / Π_{n < s ≤ j} a_s ≤ exp(Δ), j ≥ n.
                    carry.update(repeating: 1, count: dk)
                    for j in n..<(n + m) {
                        let kj = k + j * keyStride
                        let dst = kSub + j * dk
                        if j > n {
                            let a = decay + j * dk
                            for x in 0..<dk { carry[x] /= a[x] }
                        }
                        for x in 0..<dk { dst[x] = kj[x] * carry[x] }
                    }
                    BLAS.gemm(
                        MatrixView(qSub, rows: m, columns: dk), .none,
                        MatrixView(kSub + lo * dk, rows: n + m - lo, columns: dk), .transpose,
                        into: pView.block(rows: n..<(n + m), columns: lo..<(n + m)), alpha: scale)
                    for r in 0..<(m - 1) {
                        (attention + (n + r) * len + n + r + 1).update(repeating: 0, count: m - 1 - r)
                    }
                    n += m
                    continue
                }
                if n > lo {
                    BLAS.gemm(
                        MatrixView(qSub, rows: m, columns: dk), .none,
                        MatrixView(kSub + lo * dk, rows: n - lo, columns: dk), .transpose,
                        into: pView.block(rows: n..<(n + m), columns: lo..<n), alpha: scale)
                }
                if m > Self.directBlock {
                    attend(rows: n..<(n + m), subChunkSize: (m + 1) / 2, b)
                } else {
                    directDiagonal(rows: n..<(n + m), b)
                }
                n += m
            }
        }

        /// The diagonal block of `rows` by the direct pair loop: pair (i, j), j ≤ i, is the row
        /// `q_i ⊙ k_j ⊙ Π_{j < s ≤ i} a_s`; one GEMV with ones sums each pair over the channels.
        func directDiagonal(rows: Range<Int>, _ b: AttentionBuffers) {
            let dk = keyDim
            let tiny = GLA.flushBelow(T.self)
            let (n, m, len) = (rows.lowerBound, rows.count, b.length)
            var pair = 0
            for j in 0..<m {
                let kj = b.k + (n + j) * b.keyStride
                b.carry.update(from: kj, count: dk)
                for i in j..<m {
                    let qi = b.q + (n + i) * b.keyStride
                    let dst = b.pairs + pair * dk
                    if i > j {
                        let a = b.decay + (n + i) * dk
                        for x in 0..<dk {
                            let c = b.carry[x] * a[x]
                            b.carry[x] = c * (Swift.abs(c) < tiny ? 0 : 1)
                        }
                    }
                    for x in 0..<dk { dst[x] = qi[x] * b.carry[x] }
                    pair += 1
                }
            }
            BLAS.gemv(
                MatrixView(b.pairs, rows: pair, columns: dk), x: b.ones, y: b.pairValues, alpha: b.scale, beta: 0)
            pair = 0
            for j in 0..<m {
                for i in j..<m {
                    b.attention[(n + i) * len + n + j] = b.pairValues[pair]
                    pair += 1
                }
            }
        }

        /// Strong-decay diagonal blocks are halved until they have at most this many rows, then done by
        /// the direct pair loop.
        static var directBlock: Int { 4 }

        /// The largest in-sub-chunk decay (in log space) for which the diagonal block is a GEMM: its
        /// factors then lie in [exp(−Δ), exp(Δ)], far inside the normal range (Float: e^±30 ≈ 1e±13;
        /// Double: e^±200).
        static var boundedDecay: T { T.self == Float.self ? 30 : 200 }

    }
}
