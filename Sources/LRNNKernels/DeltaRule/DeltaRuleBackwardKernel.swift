import LRNNLinearAlgebra

/// The chunkwise delta-rule backward for one work item (one sequence × one head), over raw
/// pointers into the caller's `[B, T, H, D]` tensors and gradients.
///
/// Per chunk of c steps (c_t = c/n tokens) with start state S, the forward sweep
/// (``sweep(chunk:slot:state:workspace:)``) recomputes and stores
///
///     [P; Ã] = [Q; K]·Kᵀ masked and decayed   (P = QKᵀ ⊙ D_pos ⊙ M, Ã = strictly-lower(KKᵀ ⊙ D))
///     T = (I + diag(β)·Ã)⁻¹,  U' = T·(diag(β)·V − diag(β ⊙ e^γ)·K·S)
///     S ← e^{γ_c}·S + Kᵀ·diag(e^{γ_c − γ})·U'
///
/// and the reverse step (``reverse(chunk:slot:workspace:)``) turns dS' (the gradient of the
/// chunk-end state) into dS (of the chunk-start state) and writes the chunk's dq, dk, dv, dβ, dg.
/// docs/kernels/delta-rule.md derives every product.
struct DeltaRuleBackwardKernel<T: LRNNScalar> {
    let problem: DeltaRuleProblem
    let q: UnsafePointer<T>
    let k: UnsafePointer<T>
    let v: UnsafePointer<T>
    let beta: UnsafePointer<T>
    let g: UnsafePointer<T>?
    let initialState: UnsafePointer<T>?
    let outputGradient: UnsafePointer<T>?
    let finalStateGradient: UnsafePointer<T>?
    let dq: UnsafeMutablePointer<T>
    let dk: UnsafeMutablePointer<T>
    let dv: UnsafeMutablePointer<T>
    let dbeta: UnsafeMutablePointer<T>
    let dg: UnsafeMutablePointer<T>?
    let dh0: UnsafeMutablePointer<T>?
    let scale: T
    /// Tokens per chunk c_t (a chunk has c = c_t·n steps).
    let chunkTokens: Int
    /// Chunks whose stored values fit the workspace at once (a segment).
    let segmentChunks: Int
    /// Segment checkpoints the workspace holds (0 when every sequence fits one segment).
    let checkpoints: Int

    var cs: Int { chunkTokens * problem.householder }
    var kv: Int { problem.keyDim * problem.valueDim }
    /// Scalars stored per chunk: S, U', T and [P; Ã].
    var slotCount: Int { kv + cs * problem.valueDim + cs * cs + (chunkTokens + cs) * cs }

    /// The workspace of one worker, in scalars.
    var workspaceCount: Int {
        let (ct, dk, dv) = (chunkTokens, problem.keyDim, problem.valueDim)
        return segmentChunks * slotCount + checkpoints * kv
            + 3 * cs * dk + dk * cs + ct * dk + ct * dv + 3 * cs * dv + ct * dk + cs * cs + ct * cs + cs * cs
            + 3 * kv + 6 * cs
    }

    /// Views into one worker's workspace.
    struct Workspace {
        let slots: UnsafeMutablePointer<T>
        let checkpoints: UnsafeMutablePointer<T>
        let kc: UnsafeMutablePointer<T>  // K rows, c×K
        let wb: UnsafeMutablePointer<T>  // W₀ (sweep) / dW (reverse), c×K
        let ktr: UnsafeMutablePointer<T>  // Kᵀ, K×c
        let qc: UnsafeMutablePointer<T>  // Q rows, c_t×K
        let doc: UnsafeMutablePointer<T>  // scale·dO rows, c_t×V
        let rb: UnsafeMutablePointer<T>  // R (sweep) / dU', dR (reverse), c×V
        let ub: UnsafeMutablePointer<T>  // diag(e^{γ_c−γ})·U', c×V
        let kh: UnsafeMutablePointer<T>  // K·dS', c×V
        let dqc: UnsafeMutablePointer<T>  // c_t×K
        let dkc: UnsafeMutablePointer<T>  // c×K
        let ab: UnsafeMutablePointer<T>  // diag(β)·Ã (sweep) / dA, E (reverse), c×c
        let dp: UnsafeMutablePointer<T>  // dP, c_t×c
        let decay: UnsafeMutablePointer<T>  // D, c×c
        let cur: UnsafeMutablePointer<T>  // the running state, K×V
        let ds: UnsafeMutablePointer<T>  // dS', K×V
        let dsn: UnsafeMutablePointer<T>  // dS, K×V
        let gam: UnsafeMutablePointer<T>
        let egam: UnsafeMutablePointer<T>
        let endFactor: UnsafeMutablePointer<T>
        let reset: UnsafeMutablePointer<T>
        let dgam: UnsafeMutablePointer<T>
        let dbc: UnsafeMutablePointer<T>
    }

    /// Carves a workspace of ``workspaceCount`` scalars at `base` into its parts.
    func workspace(at base: UnsafeMutablePointer<T>) -> Workspace {
        let (ct, dk, dv) = (chunkTokens, problem.keyDim, problem.valueDim)
        var p = base
        func take(_ count: Int) -> UnsafeMutablePointer<T> {
            defer { p += count }
            return p
        }
        let ws = Workspace(
            slots: take(segmentChunks * slotCount), checkpoints: take(checkpoints * kv), kc: take(cs * dk),
            wb: take(cs * dk), ktr: take(dk * cs), qc: take(ct * dk), doc: take(ct * dv), rb: take(cs * dv),
            ub: take(cs * dv), kh: take(cs * dv), dqc: take(ct * dk), dkc: take(cs * dk), ab: take(cs * cs),
            dp: take(ct * cs), decay: take(cs * cs), cur: take(kv), ds: take(kv), dsn: take(kv), gam: take(cs),
            egam: take(cs), endFactor: take(cs), reset: take(cs), dgam: take(cs), dbc: take(cs))
        precondition(
            p - base == workspaceCount, "DeltaRuleBackwardKernel: workspace layout \(p - base) ≠ \(workspaceCount)")
        return ws
    }

    /// The stored values of segment slot `slot`: S (K×V), U' (c×V), T (c×c), [P; Ã] ((c_t + c)×c).
    func slot(_ slot: Int, _ ws: Workspace) -> (s: MatrixView<T>, u: MatrixView<T>, t: MatrixView<T>, pa: MatrixView<T>)
    {
        let (ct, dk, dv) = (chunkTokens, problem.keyDim, problem.valueDim)
        let base = ws.slots + slot * slotCount
        return (
            MatrixView(base, rows: dk, columns: dv), MatrixView(base + kv, rows: cs, columns: dv),
            MatrixView(base + kv + cs * dv, rows: cs, columns: cs),
            MatrixView(base + kv + cs * dv + cs * cs, rows: ct + cs, columns: cs)
        )
    }

    /// Runs work item `item = s·H + h`: sequence s, head h.
    func run(item: Int, workspace ws: Workspace) {
        let p = problem
        let (hh, kv) = (p.heads, kv)
        let seq = p.sequences[item / hh]
        let h = item % hh
        let stateOffset = seq.index(p, head: h) * kv
        let length = seq.end - seq.start
        let chunks = (length + chunkTokens - 1) / chunkTokens
        // dS starts as the final-state cotangent.
        if let d = finalStateGradient {
            ws.ds.update(from: d + stateOffset, count: kv)
        } else {
            ws.ds.update(repeating: 0, count: kv)
        }
        func loadInitial() {
            if let h0 = initialState {
                ws.cur.update(from: h0 + stateOffset, count: kv)
            } else {
                ws.cur.update(repeating: 0, count: kv)
            }
        }
        if chunks > 0 {
            let segments = (chunks + segmentChunks - 1) / segmentChunks
            if segments > 1 {
                // Checkpoints: the state at every segment start (slot 0 serves as scratch).
                precondition(segments <= checkpoints, "DeltaRuleBackwardKernel: \(segments) segments > \(checkpoints)")
                loadInitial()
                for c in 0..<chunks {
                    if c % segmentChunks == 0 {
                        (ws.checkpoints + (c / segmentChunks) * kv).update(from: ws.cur, count: kv)
                    }
                    sweep(chunk: c, seq: seq, head: h, slot: 0, workspace: ws)
                }
            }
            for segment in (0..<segments).reversed() {
                let first = segment * segmentChunks
                let last = Swift.min(chunks, first + segmentChunks)
                if segments > 1 {
                    ws.cur.update(from: ws.checkpoints + segment * kv, count: kv)
                } else {
                    loadInitial()
                }
                for c in first..<last { sweep(chunk: c, seq: seq, head: h, slot: c - first, workspace: ws) }
                for c in (first..<last).reversed() {
                    reverse(chunk: c, seq: seq, head: h, slot: c - first, workspace: ws)
                }
            }
        }
        if let dh0 { (dh0 + stateOffset).update(from: ws.ds, count: kv) }
    }

    /// The chunk's token range inside its sequence: packed row of its first token and its token count.
    @inline(__always)
    func chunkRows(_ c: Int, _ seq: DeltaRuleProblem.Sequence) -> (row0: Int, tokens: Int) {
        let t0 = seq.start + c * chunkTokens
        return (seq.batch * problem.tokens + t0, Swift.min(chunkTokens, seq.end - t0))
    }

    /// Gathers the chunk's K rows (and Kᵀ) and Q rows, fills the decay factors, and returns exp(γ_c).
    @inline(__always)
    func gather(row0: Int, tokens nt: Int, head h: Int, workspace ws: Workspace) -> T {
        let p = problem
        let (hh, dk, n) = (p.heads, p.keyDim, p.householder)
        let ns = nt * n
        let step0 = row0 * n
        for i in 0..<ns {
            (ws.kc + i * dk).update(from: k + ((step0 + i) * hh + h) * dk, count: dk)
        }
        for a in 0..<dk {
            let dst = ws.ktr + a * cs
            for i in 0..<ns { dst[i] = ws.kc[i * dk + a] }
        }
        for i in 0..<nt {
            (ws.qc + i * dk).update(from: q + ((row0 + i) * hh + h) * dk, count: dk)
        }
        guard let g else { return 1 }
        return DeltaRuleBackwardDecay.fill(
            g: g + row0 * hh + h, stride: hh, steps: ns, n: n, gam: ws.gam, egam: ws.egam, endFactor: ws.endFactor,
            reset: ws.reset, decay: ws.decay, ldd: cs)
    }

    /// Recomputes chunk `c` forward from the running state `ws.cur`: stores S, U', T and [P; Ã] in
    /// `slot`, and advances `ws.cur` to the chunk-end state.
    func sweep(chunk c: Int, seq: DeltaRuleProblem.Sequence, head h: Int, slot sl: Int, workspace ws: Workspace) {
        let p = problem
        let (hh, dk, dv, n) = (p.heads, p.keyDim, p.valueDim, p.householder)
        let (row0, nt) = chunkRows(c, seq)
        let ns = nt * n
        let step0 = row0 * n
        let gated = g != nil
        let stateDecay = gather(row0: row0, tokens: nt, head: h, workspace: ws)
        let st = slot(sl, ws)
        let sv = st.s
        sv.base.update(from: ws.cur, count: kv)
        let kc = MatrixView(ws.kc, rows: ns, columns: dk)
        let kt = MatrixView(ws.ktr, rows: dk, columns: ns, leadingDimension: cs)
        let qc = MatrixView(ws.qc, rows: nt, columns: dk)
        let pa = MatrixView(st.pa.base, rows: nt + ns, columns: ns, leadingDimension: cs)
        let pm = pa.block(rows: 0..<nt, columns: 0..<ns)
        let at = pa.block(rows: nt..<(nt + ns), columns: 0..<ns)
        // [P; Ã] = [Q; K]·Kᵀ, masked and decayed.
        BLAS.gemm(qc, kt, into: pm)
        BLAS.gemm(kc, kt, into: at)
        for i in 0..<nt {
            let pos = i * n + n - 1
            let row = pm.row(i)
            if gated {
                let drow = ws.decay + pos * cs
                for j in 0...pos { row[j] *= drow[j] }
            }
            for j in (pos + 1)..<Swift.max(ns, pos + 1) { row[j] = 0 }
        }
        let am = MatrixView(ws.ab, rows: ns, columns: ns, leadingDimension: cs)
        for i in 0..<ns {
            let row = at.row(i)
            let arow = am.row(i)
            let bi = beta[(step0 + i) * hh + h]
            if gated {
                let drow = ws.decay + i * cs
                for j in 0..<i {
                    row[j] *= drow[j]
                    arow[j] = bi * row[j]
                }
            } else {
                for j in 0..<i { arow[j] = bi * row[j] }
            }
            for j in i..<ns { row[j] = 0 }
        }
        // T = (I + diag(β)·Ã)⁻¹.
        let tm = MatrixView(st.t.base, rows: ns, columns: ns, leadingDimension: cs)
        for i in 0..<ns {
            let row = tm.row(i)
            for j in 0..<ns { row[j] = 0 }
            row[i] = 1
        }
        BLAS.trsm(am, side: .left, triangle: .lower, diagonal: .unit, tm)
        // R = diag(β)·V − diag(β ⊙ e^γ)·K·S, U' = T·R.
        let rb = MatrixView(ws.rb, rows: ns, columns: dv)
        let wb = MatrixView(ws.wb, rows: ns, columns: dk)
        for i in 0..<ns {
            let bi = beta[(step0 + i) * hh + h]
            let we = gated ? bi * ws.egam[i] : bi
            let src = v + ((step0 + i) * hh + h) * dv
            let r = rb.row(i)
            for e in 0..<dv { r[e] = bi * src[e] }
            let kr = kc.row(i)
            let w = wb.row(i)
            for a in 0..<dk { w[a] = we * kr[a] }
        }
        BLAS.gemm(wb, sv, into: rb, alpha: -1, beta: 1)
        let u = MatrixView(st.u.base, rows: ns, columns: dv)
        BLAS.gemm(tm, rb, into: u)
        // S ← e^{γ_c}·S + Kᵀ·diag(e^{γ_c − γ})·U'.
        let cur = MatrixView(ws.cur, rows: dk, columns: dv)
        if gated {
            let ub = MatrixView(ws.ub, rows: ns, columns: dv)
            for j in 0..<ns {
                let f = ws.endFactor[j]
                let src = u.row(j)
                let dst = ub.row(j)
                for e in 0..<dv { dst[e] = f * src[e] }
            }
            BLAS.gemm(kt, ub, into: cur, alpha: 1, beta: stateDecay)
        } else {
            BLAS.gemm(kt, u, into: cur, alpha: 1, beta: 1)
        }
    }

    /// The reverse step of chunk `c`: with `ws.ds` = dS' (the chunk-end state's gradient) on entry,
    /// writes the chunk's gradients and leaves dS (the chunk-start state's gradient) in `ws.ds`.
    func reverse(chunk c: Int, seq: DeltaRuleProblem.Sequence, head h: Int, slot sl: Int, workspace ws: Workspace) {
        let p = problem
        let (hh, dk, dv, n) = (p.heads, p.keyDim, p.valueDim, p.householder)
        let (row0, nt) = chunkRows(c, seq)
        let ns = nt * n
        let step0 = row0 * n
        let gated = g != nil
        let stateDecay = gather(row0: row0, tokens: nt, head: h, workspace: ws)
        let st = slot(sl, ws)
        let sv = st.s
        let u = MatrixView(st.u.base, rows: ns, columns: dv)
        let tm = MatrixView(st.t.base, rows: ns, columns: ns, leadingDimension: cs)
        let pa = MatrixView(st.pa.base, rows: nt + ns, columns: ns, leadingDimension: cs)
        let pm = pa.block(rows: 0..<nt, columns: 0..<ns)
        let at = pa.block(rows: nt..<(nt + ns), columns: 0..<ns)
        let kc = MatrixView(ws.kc, rows: ns, columns: dk)
        let kt = MatrixView(ws.ktr, rows: dk, columns: ns, leadingDimension: cs)
        let qc = MatrixView(ws.qc, rows: nt, columns: dk)
        let dsv = MatrixView(ws.ds, rows: dk, columns: dv)
        let dsn = MatrixView(ws.dsn, rows: dk, columns: dv)
        let dU = MatrixView(ws.rb, rows: ns, columns: dv)
        let dqc = MatrixView(ws.dqc, rows: nt, columns: dk)
        let dkc = MatrixView(ws.dkc, rows: ns, columns: dk)
        let dgam = ws.dgam
        let dbc = ws.dbc
        for i in 0..<ns {
            dgam[i] = 0
            dbc[i] = 0
        }
        let betaAt = { (i: Int) -> T in self.beta[(step0 + i) * hh + h] }

        // From S' = e^{γ_c}·S + Kᵀ·diag(b)·U' (b_j = e^{γ_c − γ_j}): KH = K·dS', dU' = diag(b)·KH,
        // dK = diag(b)·U'·dS'ᵀ, db_j = ⟨KH_j, U'_j⟩, dS = e^{γ_c}·dS'.
        BLAS.gemm(kc, dsv, into: dU)
        if gated {
            for j in 0..<ns {
                let b = ws.endFactor[j]
                let row = dU.row(j)
                let ur = u.row(j)
                var acc: T = 0
                for e in 0..<dv { acc += row[e] * ur[e] }
                let t = b * acc
                dgam[ns - 1] += t
                dgam[j] -= t
                for e in 0..<dv { row[e] *= b }
            }
            let ub = MatrixView(ws.ub, rows: ns, columns: dv)
            for j in 0..<ns {
                let f = ws.endFactor[j]
                let src = u.row(j)
                let dst = ub.row(j)
                for e in 0..<dv { dst[e] = f * src[e] }
            }
            BLAS.gemm(ub, .none, dsv, .transpose, into: dkc)
            var acc: T = 0
            for e in 0..<kv { acc += sv.base[e] * ws.ds[e] }
            dgam[ns - 1] += stateDecay * acc
        } else {
            BLAS.gemm(u, .none, dsv, .transpose, into: dkc)
        }
        for e in 0..<kv { ws.dsn[e] = stateDecay * ws.ds[e] }

        // From O = scale·[diag(e^{γ_pos})·Q·S + P·U'], with dO_s = scale·dO.
        if let dO = outputGradient {
            let doc = MatrixView(ws.doc, rows: nt, columns: dv)
            for i in 0..<nt {
                let src = dO + ((row0 + i) * hh + h) * dv
                let dst = doc.row(i)
                for e in 0..<dv { dst[e] = scale * src[e] }
            }
            // dU' += Pᵀ·dO_s; dP = dO_s·U'ᵀ (masked; its decay share to dγ; then ⊙ D_pos).
            BLAS.gemm(pm, .transpose, doc, .none, into: dU, alpha: 1, beta: 1)
            let dp = MatrixView(ws.dp, rows: nt, columns: ns, leadingDimension: cs)
            BLAS.gemm(doc, .none, u, .transpose, into: dp)
            for i in 0..<nt {
                let pos = i * n + n - 1
                let row = dp.row(i)
                for j in (pos + 1)..<Swift.max(ns, pos + 1) { row[j] = 0 }
                if gated {
                    let prow = pm.row(i)
                    let drow = ws.decay + pos * cs
                    var sum: T = 0
                    for j in 0...pos {
                        let t = row[j] * prow[j]
                        sum += t
                        dgam[j] -= t
                        row[j] *= drow[j]
                    }
                    dgam[pos] += sum
                }
            }
            // dQ = diag(e^{γ_pos})·dO_s·Sᵀ + dP·K;  dK += dPᵀ·Q;  dS += Qᵀ·diag(e^{γ_pos})·dO_s.
            BLAS.gemm(doc, .none, sv, .transpose, into: dqc)
            if gated {
                for i in 0..<nt {
                    let pos = i * n + n - 1
                    let f = ws.egam[pos]
                    let row = dqc.row(i)
                    let qr = qc.row(i)
                    var acc: T = 0
                    for a in 0..<dk { acc += qr[a] * row[a] }
                    dgam[pos] += f * acc
                    for a in 0..<dk { row[a] *= f }
                    let drow = doc.row(i)
                    for e in 0..<dv { drow[e] *= f }
                }
            }
            BLAS.gemm(dp, kc, into: dqc, alpha: 1, beta: 1)
            BLAS.gemm(dp, .transpose, qc, .none, into: dkc, alpha: 1, beta: 1)
            BLAS.gemm(qc, .transpose, doc, .none, into: dsn, alpha: 1, beta: 1)
        } else {
            dqc.fill(0)
        }

        // dR = Tᵀ·dU' (T unit lower), dA = −dR·U'ᵀ (strictly lower).
        BLAS.trmm(tm, side: .left, triangle: .lower, transA: .transpose, diagonal: .unit, dU)
        let dR = dU
        let da = MatrixView(ws.ab, rows: ns, columns: ns, leadingDimension: cs)
        BLAS.gemm(dR, .none, u, .transpose, into: da, alpha: -1)
        // A_ij = β_i·Ã_ij: dβ_i += Σ_j dA_ij Ã_ij; E = diag(β)·dA ⊙ D (strictly lower) = d(K·Kᵀ).
        for i in 0..<ns {
            let row = da.row(i)
            let arow = at.row(i)
            let bi = betaAt(i)
            var sum: T = 0
            for j in 0..<i {
                let t = row[j] * arow[j]
                sum += t
                if gated { dgam[j] -= bi * t }
            }
            dbc[i] += sum
            if gated {
                dgam[i] += bi * sum
                let drow = ws.decay + i * cs
                for j in 0..<i { row[j] *= bi * drow[j] }
            } else {
                for j in 0..<i { row[j] *= bi }
            }
            for j in i..<ns { row[j] = 0 }
        }
        BLAS.gemm(da, kc, into: dkc, alpha: 1, beta: 1)
        BLAS.gemm(da, .transpose, kc, .none, into: dkc, alpha: 1, beta: 1)
        // dW₀ = −dR·Sᵀ, W₀ = diag(β ⊙ e^γ)·K.
        let dw = MatrixView(ws.wb, rows: ns, columns: dk)
        BLAS.gemm(dR, .none, sv, .transpose, into: dw, alpha: -1)
        for i in 0..<ns {
            let bi = betaAt(i)
            let ei = gated ? ws.egam[i] : 1
            let row = dw.row(i)
            let kr = kc.row(i)
            let dkr = dkc.row(i)
            var acc: T = 0
            for a in 0..<dk { acc += kr[a] * row[a] }
            dbc[i] += ei * acc
            if gated { dgam[i] += bi * ei * acc }
            let f = bi * ei
            for a in 0..<dk { dkr[a] += f * row[a] }
        }
        // Y = diag(β)·V: dV = diag(β)·dR, dβ_i += ⟨v_i, dR_i⟩; then dS −= Kᵀ·diag(β ⊙ e^γ)·dR.
        for i in 0..<ns {
            let bi = betaAt(i)
            let row = dR.row(i)
            let vr = v + ((step0 + i) * hh + h) * dv
            let dvr = dv_ + ((step0 + i) * hh + h) * dv
            var acc: T = 0
            for e in 0..<dv {
                acc += vr[e] * row[e]
                dvr[e] = bi * row[e]
            }
            dbc[i] += acc
            let f = gated ? bi * ws.egam[i] : bi
            for e in 0..<dv { row[e] *= f }
        }
        BLAS.gemm(kt, dR, into: dsn, alpha: -1, beta: 1)

        // Write dq, dk, dβ; dg from the reverse cumulative sum of dγ within each reset-free segment.
        for i in 0..<nt { (dq + ((row0 + i) * hh + h) * dk).update(from: dqc.row(i), count: dk) }
        for i in 0..<ns {
            (self.dk + ((step0 + i) * hh + h) * dk).update(from: dkc.row(i), count: dk)
            dbeta[(step0 + i) * hh + h] = dbc[i]
        }
        if let dg {
            var acc: T = 0
            for i in (0..<ns).reversed() {
                acc += dgam[i]
                if i % n == 0 {
                    let target = dg + (row0 + i / n) * hh + h
                    if ws.reset[i] != 0 {
                        target.pointee = 0
                        acc = 0
                    } else {
                        target.pointee = acc
                    }
                }
            }
        }
        ws.ds.update(from: ws.dsn, count: kv)
    }

    private var dv_: UnsafeMutablePointer<T> { dv }
}
