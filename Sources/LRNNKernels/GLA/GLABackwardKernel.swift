import LRNNLinearAlgebra

extension GLA {
    /// The chunked backward for one (sequence, head) work item.
    ///
    /// Scratch memory (``workspaceCount`` elements, one block per worker, reused by every item and
    /// chunk; C = chunk size, c = sub-chunk size, p = min(c, 4)): the recomputed chunk-start states
    /// (K×V each, as the forward's), `(maxChunks + 1)·K·V` (the last slot the final state), the state
    /// adjoint `dS` K·V, per chunk the gathered rows `qRows`, `kRows` and the gradient rows `dqRows`,
    /// `dkRows`, `dgRows` (contiguous copies of rows `H·K` apart in the inputs), `decay`, `forward` (exp(γ)),
    /// `reverse` (exp(γ_last − γ)), `qGated`, `kGated`, and the intra-chunk operands `qSub`, `kSub`,
    /// `factorQ`, `factorK`, `product` (each C·K), the recomputed attention `P` and its cotangent `dP`
    /// (each C·C), the forward's sub-chunk scratch (c·K + C·K + p(p+1)/2·(K + 1)), and five K-vectors.
    struct BackwardKernel<T: LRNNScalar> {
        let keyDim: Int
        let valueDim: Int
        let chunkSize: Int
        let subChunkSize: Int
        /// The most chunks of one sequence whose states the kernel recomputes (sizes the chunk-start
        /// state store; 0 when every state comes from a training forward).
        let maxChunks: Int

        /// The gradient tensors' base pointers (shifted to a work item's first row by ``offset(keys:values:state:)``).
        struct Gradients: @unchecked Sendable {
            let q: UnsafeMutablePointer<T>?
            let k: UnsafeMutablePointer<T>?
            let v: UnsafeMutablePointer<T>?
            let gk: UnsafeMutablePointer<T>?
            let h0: UnsafeMutablePointer<T>?

            /// The same tensors from key row offset `keys`, value row offset `values` and state offset `state`.
            func offset(keys: Int, values: Int, state: Int) -> Gradients {
                Gradients(
                    q: q?.advanced(by: keys), k: k?.advanced(by: keys), v: v?.advanced(by: values),
                    gk: gk?.advanced(by: keys), h0: h0?.advanced(by: state))
            }
        }

        var stateSize: Int { keyDim * valueDim }

        /// The forward chunk kernel, whose intra-chunk attention the backward recomputes.
        var forwardKernel: ChunkKernel<T> {
            ChunkKernel(keyDim: keyDim, valueDim: valueDim, chunkSize: chunkSize, subChunkSize: subChunkSize)
        }

        /// The forward's sub-chunk scratch: `qSub` c·K, `kSub` C·K, `pairs` and `pairValues`.
        var forwardScratchCount: Int {
            let direct = Swift.min(subChunkSize, ChunkKernel<T>.directBlock)
            let pairs = direct * (direct + 1) / 2
            return subChunkSize * keyDim + chunkSize * keyDim + pairs * keyDim + pairs
        }

        /// The number of scratch elements one worker needs.
        var workspaceCount: Int {
            (maxChunks + 2) * stateSize + 15 * chunkSize * keyDim + 2 * chunkSize * chunkSize
                + forwardScratchCount + 5 * keyDim
        }

        /// The workspace carved into its blocks.
        struct Buffers {
            let states: UnsafeMutablePointer<T>
            let dS: UnsafeMutablePointer<T>
            let qRows: UnsafeMutablePointer<T>
            let kRows: UnsafeMutablePointer<T>
            let dqRows: UnsafeMutablePointer<T>
            let dkRows: UnsafeMutablePointer<T>
            let dgRows: UnsafeMutablePointer<T>
            /// The chunk's decay factors: the workspace's block, or a training forward's saved ones.
            var decay: UnsafeMutablePointer<T>
            let forward: UnsafeMutablePointer<T>
            let reverse: UnsafeMutablePointer<T>
            let qGated: UnsafeMutablePointer<T>
            let kGated: UnsafeMutablePointer<T>
            let qSub: UnsafeMutablePointer<T>
            let kSub: UnsafeMutablePointer<T>
            let factorQ: UnsafeMutablePointer<T>
            let factorK: UnsafeMutablePointer<T>
            let product: UnsafeMutablePointer<T>
            let attention: UnsafeMutablePointer<T>
            let dP: UnsafeMutablePointer<T>
            let forwardQSub: UnsafeMutablePointer<T>
            let forwardKSub: UnsafeMutablePointer<T>
            let pairs: UnsafeMutablePointer<T>
            let pairValues: UnsafeMutablePointer<T>
            let lastDecay: UnsafeMutablePointer<T>
            let carry: UnsafeMutablePointer<T>
            let ones: UnsafeMutablePointer<T>
            let accumulator: UnsafeMutablePointer<T>
            let factor: UnsafeMutablePointer<T>
        }

        func buffers(_ base: UnsafeMutablePointer<T>) -> Buffers {
            let (dk, cs) = (keyDim, chunkSize)
            let direct = Swift.min(subChunkSize, ChunkKernel<T>.directBlock)
            let pairCount = direct * (direct + 1) / 2
            var next = base
            func take(_ n: Int) -> UnsafeMutablePointer<T> {
                defer { next += n }
                return next
            }
            return Buffers(
                states: take((maxChunks + 1) * stateSize), dS: take(stateSize), qRows: take(cs * dk),
                kRows: take(cs * dk), dqRows: take(cs * dk), dkRows: take(cs * dk), dgRows: take(cs * dk),
                decay: take(cs * dk),
                forward: take(cs * dk), reverse: take(cs * dk), qGated: take(cs * dk), kGated: take(cs * dk),
                qSub: take(cs * dk), kSub: take(cs * dk), factorQ: take(cs * dk), factorK: take(cs * dk),
                product: take(cs * dk), attention: take(cs * cs), dP: take(cs * cs),
                forwardQSub: take(subChunkSize * dk), forwardKSub: take(cs * dk), pairs: take(pairCount * dk),
                pairValues: take(pairCount), lastDecay: take(dk), carry: take(dk), ones: take(dk),
                accumulator: take(dk), factor: take(dk))
        }

        /// Gradients of one sequence of one head. Rows of `q`, `k`, `gk` (and of the key-sized
        /// gradients) are `keyStride` apart, rows of `v`, `outputGradient` (and `dv`) `valueStride`
        /// apart; the states and their cotangents are contiguous K×V. Writes every gradient row of the
        /// sequence and the head's `dh0` (the state adjoint at the sequence start). `savedStates`, when
        /// given, holds the chunk-start states and the final state (K×V each, consecutive) of a training
        /// forward, and `savedDecay` its decay factors (C×K per chunk, consecutive); otherwise they are
        /// recomputed into the workspace with the forward's arithmetic.
        @_specialize(where T == Float)
        @_specialize(where T == Double)
        func run(
            q: UnsafePointer<T>?, k: UnsafePointer<T>?, gk: UnsafePointer<T>?, v: UnsafePointer<T>?,
            outputGradient: UnsafePointer<T>?, initialState: UnsafePointer<T>?,
            finalStateGradient: UnsafePointer<T>?, gradients g: Gradients, keyStride: Int, valueStride: Int,
            length: Int, scale: T, savedStates: UnsafePointer<T>? = nil, savedDecay: UnsafePointer<T>? = nil,
            workspace: UnsafeMutablePointer<T>
        ) {
            let (dk, dv, cs) = (keyDim, valueDim, chunkSize)
            var b = buffers(workspace)
            let workspaceDecay = b.decay
            let chunks = (length + cs - 1) / cs
            precondition(
                savedStates != nil || chunks <= maxChunks, "GLA backward: \(chunks) chunks > \(maxChunks)")
            guard length > 0, let q, let k, let gk, let v, let gq = g.q, let gkk = g.k, let gv = g.v, let gg = g.gk
            else {
                // An empty sequence passes its state through: dh0 = dht.
                if let h0 = g.h0 {
                    if let finalStateGradient {
                        h0.update(from: finalStateGradient, count: stateSize)
                    } else {
                        h0.update(repeating: 0, count: stateSize)
                    }
                }
                return
            }
            let v_ = UnsafeMutablePointer(mutating: v)
            let dO_ = outputGradient.map { UnsafeMutablePointer(mutating: $0) }
            b.ones.update(repeating: 1, count: dk)

            // 1. The chunk-start states (K×V): saved by the training forward, or recomputed as the
            //    forward computes them, S ← diag(exp(γ_last))·S + (K ⊙ exp(γ_last − γ))ᵀ·V.
            let states: UnsafePointer<T>
            if let savedStates {
                states = savedStates
            } else {
                if let initialState {
                    b.states.update(from: initialState, count: stateSize)
                } else {
                    b.states.update(repeating: 0, count: stateSize)
                }
                for c in 0..<chunks {
                    let t0 = c * cs
                    let len = Swift.min(cs, length - t0)
                    gates(
                        q: q + t0 * keyStride, k: k + t0 * keyStride, rowStride: keyStride, gk: gk + t0 * keyStride,
                        gkStride: keyStride, length: len, scale: scale, withQueries: false, decayGiven: false, b)
                    let current = b.states + c * stateSize
                    let next = current + stateSize
                    let d = b.lastDecay
                    for x in 0..<dk {
                        let (src, dst) = (current + x * dv, next + x * dv)
                        let f = d[x]
                        for y in 0..<dv { dst[y] = src[y] * f }
                    }
                    BLAS.gemm(
                        MatrixView(b.kGated, rows: len, columns: dk), .transpose,
                        MatrixView(v_ + t0 * valueStride, rows: len, columns: dv, leadingDimension: valueStride),
                        into: MatrixView(next, rows: dk, columns: dv), beta: 1)
                }
                states = UnsafePointer(b.states)
            }
            let statesMutable = UnsafeMutablePointer(mutating: states)

            // 2. The reverse pass. dS starts as dht; the cumulative sum of dgk starts at
            //    Σ_v dht ⊙ S_T per channel (the final state's share of every token's log decay).
            startAdjoint(
                dS: b.dS, accumulator: b.accumulator, finalState: states + chunks * stateSize,
                finalStateGradient: finalStateGradient)
            for c in stride(from: chunks - 1, through: 0, by: -1) {
                let t0 = c * cs
                let len = Swift.min(cs, length - t0)
                // The chunk's q and k rows, gathered once into contiguous rows (the inputs' rows of one
                // head are H·K apart); the gradient rows are computed there and written back once.
                for i in 0..<len {
                    (b.qRows + i * dk).update(from: q + (t0 + i) * keyStride, count: dk)
                    (b.kRows + i * dk).update(from: k + (t0 + i) * keyStride, count: dk)
                }
                b.decay = savedDecay.map { UnsafeMutablePointer(mutating: $0 + c * cs * dk) } ?? workspaceDecay
                reverseChunk(
                    ChunkRows(
                        q: b.qRows, k: b.kRows, dq: b.dqRows, dk: b.dkRows, dg: b.dgRows,
                        gk: gk + t0 * keyStride, gkStride: keyStride, decayGiven: savedDecay != nil,
                        state: statesMutable + c * stateSize, v: v_ + t0 * valueStride,
                        outputGradient: dO_.map { $0 + t0 * valueStride }, dv: gv + t0 * valueStride,
                        valueStride: valueStride, length: len),
                    dS: b.dS, accumulator: b.accumulator, scale: scale, b)
                for i in 0..<len {
                    let row = (t0 + i) * keyStride
                    (gq + row).update(from: b.dqRows + i * dk, count: dk)
                    (gkk + row).update(from: b.dkRows + i * dk, count: dk)
                    (gg + row).update(from: b.dgRows + i * dk, count: dk)
                }
            }
            if let h0 = g.h0 { h0.update(from: b.dS, count: stateSize) }
        }

        /// The reverse pass's start for one head: `dS` = dht (zero without it) and the dgk running sum
        /// `accumulator` = Σ_v dht ⊙ S_T per channel (the final state's share of every token's log decay).
        @inline(__always)
        func startAdjoint(
            dS: UnsafeMutablePointer<T>, accumulator: UnsafeMutablePointer<T>, finalState: UnsafePointer<T>,
            finalStateGradient: UnsafePointer<T>?
        ) {
            let (dk, dv) = (keyDim, valueDim)
            guard let finalStateGradient else {
                dS.update(repeating: 0, count: stateSize)
                accumulator.update(repeating: 0, count: dk)
                return
            }
            dS.update(from: finalStateGradient, count: stateSize)
            for x in 0..<dk {
                let (row, dRow) = (finalState + x * dv, finalStateGradient + x * dv)
                var sum: T = 0
                for y in 0..<dv { sum += dRow[y] * row[y] }
                accumulator[x] = sum
            }
        }

        /// One chunk of one head in the reverse pass: its operands (contiguous q, k and gradient rows,
        /// `state` the chunk-start state S (K×V), `v`, `outputGradient` and `dv` rows `valueStride` apart).
        struct ChunkRows {
            let q: UnsafeMutablePointer<T>
            let k: UnsafeMutablePointer<T>
            let dq: UnsafeMutablePointer<T>
            let dk: UnsafeMutablePointer<T>
            let dg: UnsafeMutablePointer<T>
            let gk: UnsafePointer<T>
            let gkStride: Int
            let decayGiven: Bool
            let state: UnsafeMutablePointer<T>
            let v: UnsafeMutablePointer<T>
            let outputGradient: UnsafeMutablePointer<T>?
            let dv: UnsafeMutablePointer<T>
            let valueStride: Int
            let length: Int
        }

        /// The reverse pass over one chunk of one head: writes the chunk's dq, dk, dgk rows (contiguous)
        /// and dv rows, and carries the state adjoint `dS` (K×V, at the chunk end on entry, at its start
        /// on return) and the dgk running sum `accumulator` (K) to the chunk start. `b.decay` holds the
        /// chunk's decay factors when `r.decayGiven`, else receives them.
        @inline(__always)
        func reverseChunk(
            _ r: ChunkRows, dS: UnsafeMutablePointer<T>, accumulator: UnsafeMutablePointer<T>, scale: T,
            _ b: Buffers
        ) {
            let (dk, dv, len, valueStride) = (keyDim, valueDim, r.length, r.valueStride)
            let (qc, kc, dqc, dkc) = (r.q, r.k, r.dq, r.dk)
            gates(
                q: qc, k: kc, rowStride: dk, gk: r.gk, gkStride: r.gkStride, length: len, scale: scale,
                withQueries: r.outputGradient != nil, decayGiven: r.decayGiven, b)
            let dSView = MatrixView(dS, rows: dk, columns: dv)
            let stateView = MatrixView(r.state, rows: dk, columns: dv)  // S
            let vView = MatrixView(r.v, rows: len, columns: dv, leadingDimension: valueStride)
            let dqView = MatrixView(dqc, rows: len, columns: dk)
            let dkView = MatrixView(dkc, rows: len, columns: dk)
            let dvView = MatrixView(r.dv, rows: len, columns: dv, leadingDimension: valueStride)

            // dK = (V·dSᵀ) ⊙ exp(γ_last − γ),  dV = (K ⊙ exp(γ_last − γ))·dS  (dS at the chunk end).
            BLAS.gemm(vView, .none, dSView, .transpose, into: dkView)
            scaleRows(dkc, by: b.reverse, rows: len, stride: dk)
            BLAS.gemm(MatrixView(b.kGated, rows: len, columns: dk), .none, dSView, .none, into: dvView)

            if let dO = r.outputGradient {
                let dOView = MatrixView(dO, rows: len, columns: dv, leadingDimension: valueStride)
                // dQ = scale·(dO·Sᵀ) ⊙ exp(γ)  (S at the chunk start).
                BLAS.gemm(dOView, .none, stateView, .transpose, into: dqView, alpha: scale)
                scaleRows(dqc, by: b.forward, rows: len, stride: dk)
                // dV += Pᵀ·dO with P recomputed as in the forward pass.
                forwardKernel.intraChunkAttention(
                    q: qc, k: kc, keyStride: dk, length: len, scale: scale, decay: b.decay,
                    qSub: b.forwardQSub, kSub: b.forwardKSub, attention: b.attention, pairs: b.pairs,
                    pairValues: b.pairValues, carry: b.carry, ones: b.ones)
                BLAS.gemm(
                    MatrixView(b.attention, rows: len, columns: len), .transpose, dOView, .none, into: dvView,
                    beta: 1)
                // dP = scale·dO·Vᵀ on j ≤ i; its intra-chunk share of dQ and dK.
                BLAS.gemm(
                    dOView, .none, vView, .transpose, into: MatrixView(b.dP, rows: len, columns: len),
                    alpha: scale)
                for i in 0..<(len - 1) {
                    (b.dP + i * len + i + 1).update(repeating: 0, count: len - 1 - i)
                }
                let intra = IntraBuffers(
                    q: qc, k: kc, dq: dqc, dk: dkc, keyStride: dk, length: len, decay: b.decay,
                    dP: b.dP, qSub: b.qSub, kSub: b.kSub, factorQ: b.factorQ, factorK: b.factorK,
                    product: b.product, carry: b.carry)
                intraGradients(rows: 0..<len, subChunkSize: subChunkSize, intra)
            } else {
                dqc.update(repeating: 0, count: len * dk)
            }

            // dS ← diag(exp(γ_last))·dS + scale·(Q ⊙ exp(γ))ᵀ·dO  (now at the chunk start).
            for x in 0..<dk {
                let d = b.lastDecay[x]
                let row = dS + x * dv
                for y in 0..<dv { row[y] *= d }
            }
            if let dO = r.outputGradient {
                BLAS.gemm(
                    MatrixView(b.qGated, rows: len, columns: dk), .transpose,
                    MatrixView(dO, rows: len, columns: dv, leadingDimension: valueStride), into: dSView, beta: 1)
            }

            // dgk_t = Σ_{u ≥ t} (q_u ⊙ dq_u − k_u ⊙ dk_u) + Σ_v dht ⊙ S_T, a reverse cumulative sum.
            for i in stride(from: len - 1, through: 0, by: -1) {
                let (qi, ki) = (qc + i * dk, kc + i * dk)
                let (dqi, dki, dgi) = (dqc + i * dk, dkc + i * dk, r.dg + i * dk)
                for x in 0..<dk {
                    let s = accumulator[x] + (qi[x] * dqi[x] - ki[x] * dki[x])
                    accumulator[x] = s
                    dgi[x] = s
                }
            }
        }

        /// `rows[i] ⊙= factors[i]` for `rows` rows `stride` apart and contiguous factor rows of K.
        @inline(__always)
        func scaleRows(_ rows: UnsafeMutablePointer<T>, by factors: UnsafeMutablePointer<T>, rows n: Int, stride: Int) {
            let dk = keyDim
            for i in 0..<n {
                let r = rows + i * stride
                let f = factors + i * dk
                for x in 0..<dk { r[x] *= f[x] }
            }
        }

        /// The chunk's decay factors and gated operands, every exponent ≤ 0: `decay` a_i = exp(gk_i),
        /// `forward` exp(γ_i) = Π_{s ≤ i} a_s, `lastDecay` exp(γ_last), `reverse`
        /// exp(γ_last − γ_j) = Π_{j < s < len} a_s, `kGated` k_j ⊙ reverse_j and, with `withQueries`,
        /// `qGated` scale·q_i ⊙ forward_i. Factors below the flush threshold are zero, as in the forward.
        /// Rows of `q` and `k` are `keyStride` apart, rows of `gk` `gkStride` apart. With `decayGiven`,
        /// `decay` already holds the factors (a training forward's) and `gk` is not read.
        @inline(__always)
        func gates(
            q: UnsafePointer<T>, k: UnsafePointer<T>, rowStride keyStride: Int, gk: UnsafePointer<T>, gkStride: Int,
            length len: Int, scale: T, withQueries: Bool, decayGiven: Bool, _ b: Buffers
        ) {
            let dk = keyDim
            let tiny = GLA.flushBelow(T.self)
            let carry = b.carry
            carry.update(repeating: 1, count: dk)
            for i in 0..<len {
                let a = b.decay + i * dk
                let f = b.forward + i * dk
                if !decayGiven { GLA.decayFactors(gk + i * gkStride, into: a, count: dk) }
                for x in 0..<dk {
                    let c = carry[x] * a[x]
                    let kept: T = c * (c < tiny ? 0 : 1)
                    carry[x] = kept
                    f[x] = kept
                }
                if withQueries {
                    let qi = q + i * keyStride
                    let qg = b.qGated + i * dk
                    for x in 0..<dk { qg[x] = scale * qi[x] * f[x] }
                }
            }
            b.lastDecay.update(from: carry, count: dk)
            carry.update(repeating: 1, count: dk)
            for j in stride(from: len - 1, through: 0, by: -1) {
                let kj = k + j * keyStride
                let r = b.reverse + j * dk
                let kg = b.kGated + j * dk
                let a = b.decay + j * dk
                for x in 0..<dk {
                    r[x] = carry[x]
                    kg[x] = kj[x] * carry[x]
                    let c = carry[x] * a[x]
                    carry[x] = c * (c < tiny ? 0 : 1)
                }
            }
        }
    }
}
