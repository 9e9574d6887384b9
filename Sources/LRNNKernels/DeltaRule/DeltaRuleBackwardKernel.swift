import LRNNLinearAlgebra

/// The chunkwise delta-rule backward for one work item (one sequence × a group of heads), over raw
/// pointers into the caller's `[B, T, H, D]` tensors and gradients.
///
/// Per chunk of c steps (c_t = c/n tokens) with start state S, the forward sweep
/// (`sweep`) recomputes and stores
///
///     [P; Ã] = [Q; K]·Kᵀ masked and decayed   (P = QKᵀ ⊙ D_pos ⊙ M, Ã = strictly-lower(KKᵀ ⊙ D))
///     T = (I + diag(β)·Ã)⁻¹,  U' = T·(diag(β)·V − diag(β ⊙ e^γ)·K·S)
///     S ← e^{γ_c}·S + Kᵀ·diag(e^{γ_c − γ})·U'
///
/// and the reverse step (`reverse`) turns dS' (the gradient of the
/// chunk-end state) into dS (of the chunk-start state) and writes the chunk's dq, dk, dv, dβ, dg.
/// Both passes walk the chunks head by head inside each chunk, as the forward does
/// (`DeltaRuleChunkKernel`), so that a chunk's rows of the group's heads are read as contiguous
/// spans. docs/kernels/delta-rule.md derives every product.
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
    /// Segment checkpoints the workspace holds per head (0 when every sequence fits one segment).
    let checkpoints: Int
    /// Head groups per sequence: work item `s·G + j` runs heads `j·H/G ..< (j+1)·H/G` of sequence s.
    let headGroups: Int
    /// A training forward's saved values (`DeltaRule.Saved`), laid out by `plan`, or nil.
    var saved: UnsafeMutablePointer<T>? = nil
    /// The saved values' plan (its chunks and segments are this kernel's), or nil.
    var plan: DeltaRuleSavePlan? = nil

    /// Segment slots the workspace holds per head: none when every chunk is saved.
    var workspaceSlots: Int { plan.map { $0.needsSweep ? segmentChunks : 0 } ?? segmentChunks }

    /// Checkpoints the workspace holds per head: none when they are saved.
    var workspaceCheckpoints: Int { plan == nil ? checkpoints : 0 }

    /// Recomputed chunk-start states the workspace holds per head: those of a block of saved chunks
    /// after its first (`DeltaRuleSavePlan.stateInterval`), when there are saved values.
    var workspaceBlockStates: Int { plan.map { $0.stateInterval - 1 } ?? 0 }

    /// The most heads a group holds (the workspace keeps states and slots for each).
    var groupHeads: Int { (problem.heads + headGroups - 1) / headGroups }

    var cs: Int { chunkTokens * problem.householder }
    var kv: Int { problem.keyDim * problem.valueDim }
    /// Scalars stored per chunk in a workspace slot: S, U', T and [P; Ã] (a saved slot has no S).
    var slotCount: Int { kv + cs * problem.valueDim + cs * cs + (chunkTokens + cs) * cs }

    /// The workspace of one worker, in scalars.
    var workspaceCount: Int {
        let (ct, dk, dv) = (chunkTokens, problem.keyDim, problem.valueDim)
        let r = ct + cs
        return groupHeads * (workspaceSlots * slotCount + (workspaceCheckpoints + workspaceBlockStates) * kv + 2 * kv)
            + 2 * r * dk + 3 * r * dv
            + dv * cs
            + 2 * dk * r
            + dk * cs + r * cs + 2 * cs * ct + 2 * cs * cs + cs * dv + cs * dk + cs * dv + 6 * cs
    }

    /// Views into one worker's workspace (r = c_t + c rows: the chunk's tokens, then its steps).
    struct Workspace {
        let slots: UnsafeMutablePointer<T>
        let checkpoints: UnsafeMutablePointer<T>
        let blockStates: UnsafeMutablePointer<T>  // recomputed states of a saved block, K×V each
        let qk: UnsafeMutablePointer<T>  // [Q; K] rows, r×K (at the reverse step's end: [dQ; dK] rows)
        let qkT: UnsafeMutablePointer<T>  // [Qᵀ | Kᵀ], K×r
        let stack: UnsafeMutablePointer<T>  // [scale·dO; dU' → dR], r×V
        let stackT: UnsafeMutablePointer<T>  // its transpose, V×r
        let utr: UnsafeMutablePointer<T>  // U'ᵀ (columns scaled by e^{γ_c − γ}), V×c
        let x: UnsafeMutablePointer<T>  // S·stackᵀ = [dQᵀ | −dW₀ᵀ], K×r
        let dkT: UnsafeMutablePointer<T>  // dKᵀ, K×c
        let pa2: UnsafeMutablePointer<T>  // [dP; −dA], r×c
        let pT: UnsafeMutablePointer<T>  // Pᵀ, c×c_t
        let dpT: UnsafeMutablePointer<T>  // dP̃ᵀ, c×c_t
        let ab: UnsafeMutablePointer<T>  // diag(β)·Ã (sweep) / E + Eᵀ (reverse), c×c
        let decay: UnsafeMutablePointer<T>  // D, c×c
        let rb: UnsafeMutablePointer<T>  // R (sweep) / dV rows (reverse), c×V
        let wb: UnsafeMutablePointer<T>  // W₀ (sweep), c×K
        let ub: UnsafeMutablePointer<T>  // diag(e^{γ_c − γ})·U' (sweep), c×V
        let cur: UnsafeMutablePointer<T>  // the running state of each head of the group, K×V each
        let scratch: UnsafeMutablePointer<T>  // dS of each head, K×V each
        let gam: UnsafeMutablePointer<T>
        let egam: UnsafeMutablePointer<T>
        let endFactor: UnsafeMutablePointer<T>
        let reset: UnsafeMutablePointer<T>
        let dgam: UnsafeMutablePointer<T>
        let dbc: UnsafeMutablePointer<T>
    }

    /// The dS of the group's head `local` carried through the reverse pass (in `scratch`).
    @inline(__always) func ds(_ ws: Workspace, _ local: Int) -> UnsafeMutablePointer<T> { ws.scratch + local * kv }

    /// The running state of the group's head `local` in the forward sweep (in `cur`).
    @inline(__always) func cur(_ ws: Workspace, _ local: Int) -> UnsafeMutablePointer<T> { ws.cur + local * kv }

    /// Carves a workspace of `workspaceCount` scalars at `base` into its parts.
    func workspace(at base: UnsafeMutablePointer<T>) -> Workspace {
        let (ct, dk, dv) = (chunkTokens, problem.keyDim, problem.valueDim)
        let r = ct + cs
        var p = base
        func take(_ count: Int) -> UnsafeMutablePointer<T> {
            defer { p += count }
            return p
        }
        let ws = Workspace(
            slots: take(groupHeads * workspaceSlots * slotCount),
            checkpoints: take(groupHeads * workspaceCheckpoints * kv),
            blockStates: take(groupHeads * workspaceBlockStates * kv),
            qk: take(r * dk),
            qkT: take(dk * r), stack: take(r * dv), stackT: take(dv * r), utr: take(dv * cs), x: take(dk * r),
            dkT: take(dk * cs), pa2: take(r * cs), pT: take(cs * ct), dpT: take(cs * ct), ab: take(cs * cs),
            decay: take(cs * cs), rb: take(cs * dv), wb: take(cs * dk), ub: take(cs * dv),
            cur: take(groupHeads * kv), scratch: take(groupHeads * kv), gam: take(cs), egam: take(cs),
            endFactor: take(cs), reset: take(cs), dgam: take(cs),
            dbc: take(cs))
        precondition(
            p - base <= workspaceCount, "DeltaRuleBackwardKernel: workspace layout \(p - base) > \(workspaceCount)")
        return ws
    }

    /// The stored values of segment slot `slot` of the group's head `local`: S (K×V), U' (c×V),
    /// T (c×c), [P; Ã] ((c_t + c)×c).
    func slot(_ slot: Int, _ local: Int, _ ws: Workspace) -> (
        s: MatrixView<T>, u: MatrixView<T>, t: MatrixView<T>, pa: MatrixView<T>
    ) {
        slotViews(ws.slots + (slot * groupHeads + local) * slotCount)
    }

    /// The views of the workspace slot at `base`: S, then the values a saved slot holds.
    func slotViews(_ base: UnsafeMutablePointer<T>) -> (
        s: MatrixView<T>, u: MatrixView<T>, t: MatrixView<T>, pa: MatrixView<T>
    ) {
        slotViews(state: base, values: base + kv)
    }

    /// The views of a slot whose chunk-start state is at `state` and whose U' (c×V), T (c×c) and
    /// [P; Ã] ((c_t + c)×c) follow each other at `values` (a saved slot's layout).
    func slotViews(state: UnsafeMutablePointer<T>, values base: UnsafeMutablePointer<T>) -> (
        s: MatrixView<T>, u: MatrixView<T>, t: MatrixView<T>, pa: MatrixView<T>
    ) {
        let (ct, dk, dv) = (chunkTokens, problem.keyDim, problem.valueDim)
        return (
            MatrixView(state, rows: dk, columns: dv), MatrixView(base, rows: cs, columns: dv),
            MatrixView(base + cs * dv, rows: cs, columns: cs),
            MatrixView(base + cs * dv + cs * cs, rows: ct + cs, columns: cs)
        )
    }

    /// Runs work item `item = s·G + j`: sequence s, heads `j·H/G ..< (j+1)·H/G` (G = ``headGroups``),
    /// and returns which of q, k, v and dO held a NaN or ±∞ in the rows it read
    /// (`DeltaRuleChunkKernel.nonFiniteQ` | `nonFiniteK` | `nonFiniteV` | ``nonFiniteOutputGradient``):
    /// every row of the item is read, and scanned as it is, by its chunk's reverse step.
    func run(item: Int, workspace ws: Workspace) -> UInt8 {
        var flags: UInt8 = 0
        let p = problem
        let (hh, kv) = (p.heads, kv)
        let seqIndex = item / headGroups
        let seq = p.sequences[seqIndex]
        let group = item % headGroups
        let heads = (group * hh / headGroups)..<((group + 1) * hh / headGroups)
        let h0 = heads.lowerBound
        let length = seq.end - seq.start
        let chunks = (length + chunkTokens - 1) / chunkTokens
        // dS starts as the final-state cotangent.
        for h in heads {
            let stateOffset = seq.index(p, head: h) * kv
            if let d = finalStateGradient {
                ds(ws, h - h0).update(from: d + stateOffset, count: kv)
            } else {
                ds(ws, h - h0).update(repeating: 0, count: kv)
            }
        }
        func loadInitial() {
            for h in heads {
                if let h0s = initialState {
                    cur(ws, h - h0).update(from: h0s + seq.index(p, head: h) * kv, count: kv)
                } else {
                    cur(ws, h - h0).update(repeating: 0, count: kv)
                }
            }
        }
        func checkpoint(_ index: Int, _ local: Int) -> UnsafeMutablePointer<T> {
            if let saved, let plan { return saved + plan.checkpoint(seqIndex, head: h0 + local, index: index) }
            return ws.checkpoints + (index * groupHeads + local) * kv
        }
        /// The chunk-start state of saved chunk `c` of head `h`, in the block starting at chunk `b0`:
        /// the saved one for `b0`, a recomputed one in the workspace for the others.
        func blockState(_ c: Int, _ b0: Int, _ h: Int, _ ws: Workspace) -> UnsafeMutablePointer<T> {
            if c == b0 { return saved! + plan!.blockState(seqIndex, head: h, chunk: c) }
            return ws.blockStates + ((c - b0 - 1) * groupHeads + h - h0) * kv
        }
        // Chunks from `firstSaved` on come from the saved values (all in the last segment), and so do
        // the checkpoints: no checkpoint sweep, and the last segment sweeps only up to `firstSaved`.
        let firstSaved = plan?.firstSaved[seqIndex] ?? chunks
        if chunks > 0 {
            let segments = (chunks + segmentChunks - 1) / segmentChunks
            if segments > 1 && saved == nil {
                // Checkpoints: the states at every segment start (slot 0 serves as scratch).
                precondition(segments <= checkpoints, "DeltaRuleBackwardKernel: \(segments) segments > \(checkpoints)")
                loadInitial()
                for c in 0..<chunks {
                    for h in heads {
                        if c % segmentChunks == 0 {
                            checkpoint(c / segmentChunks, h - h0).update(from: cur(ws, h - h0), count: kv)
                        }
                        sweep(chunk: c, seq: seq, head: h, local: h - h0, slot: 0, workspace: ws, flags: &flags)
                    }
                }
            }
            for segment in (0..<segments).reversed() {
                let first = segment * segmentChunks
                let last = Swift.min(chunks, first + segmentChunks)
                let sweepEnd = Swift.min(last, firstSaved)
                if first < sweepEnd {
                    if segments > 1 {
                        for h in heads { cur(ws, h - h0).update(from: checkpoint(segment, h - h0), count: kv) }
                    } else {
                        loadInitial()
                    }
                }
                for c in first..<sweepEnd {
                    if c + 1 < chunks { ws.dbc[0] = touch(chunk: c + 1, seq: seq, heads: heads, withOutput: false) }
                    for h in heads {
                        sweep(chunk: c, seq: seq, head: h, local: h - h0, slot: c - first, workspace: ws, flags: &flags)
                    }
                }
                for c in (first..<last).reversed() {
                    if let plan, c >= firstSaved,
                        c + 1 == chunks || (c + 1 - firstSaved) % plan.stateInterval == 0
                    {
                        // The last chunk of a saved block: recompute the block's other chunk-start
                        // states from its saved first one.
                        let b0 = plan.blockStart(seqIndex, chunk: c)
                        for j in b0..<c {
                            if j > b0 { ws.dbc[0] = touch(chunk: j, seq: seq, heads: heads, withOutput: false) }
                            for h in heads {
                                advance(
                                    chunk: j, seq: seq, head: h, from: blockState(j, b0, h, ws),
                                    into: blockState(j + 1, b0, h, ws),
                                    u: saved! + plan.slot(seqIndex, head: h, chunk: j), workspace: ws)
                            }
                        }
                    }
                    if c > 0 { ws.dbc[0] = touch(chunk: c - 1, seq: seq, heads: heads, withOutput: true) }
                    for h in heads {
                        let st =
                            c >= firstSaved
                            ? slotViews(
                                state: blockState(c, plan!.blockStart(seqIndex, chunk: c), h, ws),
                                values: saved! + plan!.slot(seqIndex, head: h, chunk: c))
                            : slot(c - first, h - h0, ws)
                        reverse(chunk: c, seq: seq, head: h, local: h - h0, slot: st, workspace: ws, flags: &flags)
                    }
                }
            }
        }
        if let dh0 {
            for h in heads { (dh0 + seq.index(p, head: h) * kv).update(from: ds(ws, h - h0), count: kv) }
        }
        return flags
    }

    /// The flag ``run(item:workspace:)`` adds for a NaN or ±∞ in dO (beside the forward's q, k, v flags).
    static var nonFiniteOutputGradient: UInt8 { 8 }

    /// Advances head `h` over chunk `c` from chunk-start state `state` into `next` with the forward's
    /// saved U' at `u`: S' = e^{γ_c}·S + Kᵀ·diag(e^{γ_c − γ})·U', the state update of the sweep.
    func advance(
        chunk c: Int, seq: DeltaRuleProblem.Sequence, head h: Int, from state: UnsafeMutablePointer<T>,
        into next: UnsafeMutablePointer<T>, u: UnsafeMutablePointer<T>, workspace ws: Workspace
    ) {
        let p = problem
        let (hh, dk, dv, n) = (p.heads, p.keyDim, p.valueDim, p.householder)
        let (row0, nt) = chunkRows(c, seq)
        let ns = nt * n
        let ldr = chunkTokens + cs
        // Kᵀ straight from the strided rows into the workspace's [Qᵀ | Kᵀ] (its Kᵀ columns).
        Self.transpose(k + (row0 * n * hh + h) * dk, rows: ns, columns: dk, ld: hh * dk, into: ws.qkT + nt, ld: ldr)
        let kt = MatrixView(ws.qkT + nt, rows: dk, columns: ns, leadingDimension: ldr)
        let um = MatrixView(u, rows: ns, columns: dv)
        next.update(from: state, count: kv)
        let sv = MatrixView(next, rows: dk, columns: dv)
        guard let g else {
            addChunkUpdate(into: sv, kt: kt, u: um, stateDecay: 1, gated: false, workspace: ws)
            return
        }
        let stateDecay = DeltaRuleBackwardDecay.endFactors(
            g: g + row0 * hh + h, stride: hh, steps: ns, n: n, gam: ws.gam, endFactor: ws.endFactor)
        addChunkUpdate(into: sv, kt: kt, u: um, stateDecay: stateDecay, gated: true, workspace: ws)
    }

    /// The chunk's state update S ← e^{γ_c}·S + Kᵀ·diag(e^{γ_c − γ})·U' in place (`stateDecay` =
    /// e^{γ_c}; with a gate the end factors e^{γ_c − γ_j} are in `ws.endFactor`, and `ws.ub` holds
    /// the scaled U'), shared by the sweep and the recomputation of a saved block's states.
    @inline(__always)
    func addChunkUpdate(
        into s: MatrixView<T>, kt: MatrixView<T>, u: MatrixView<T>, stateDecay: T, gated: Bool, workspace ws: Workspace
    ) {
        guard gated else {
            BLAS.gemm(kt, u, into: s, alpha: 1, beta: 1)
            return
        }
        let ub = MatrixView(ws.ub, rows: u.rows, columns: u.columns)
        for j in 0..<u.rows {
            let f = ws.endFactor[j]
            let src = u.row(j)
            let dst = ub.row(j)
            for e in 0..<u.columns { dst[e] = f * src[e] }
        }
        BLAS.gemm(kt, ub, into: s, alpha: 1, beta: stateDecay)
    }

    /// The chunk's token range inside its sequence: packed row of its first token and its token count.
    @inline(__always)
    func chunkRows(_ c: Int, _ seq: DeltaRuleProblem.Sequence) -> (row0: Int, tokens: Int) {
        let t0 = seq.start + c * chunkTokens
        return (seq.batch * problem.tokens + t0, Swift.min(chunkTokens, seq.end - t0))
    }

    /// `dst[j·ldd + i] = src[i·lds + j]` for i < rows, j < columns (`DeltaRuleBackwardTranspose`).
    @inline(__always)
    static func transpose(
        _ src: UnsafePointer<T>, rows: Int, columns: Int, ld lds: Int, into dst: UnsafeMutablePointer<T>, ld ldd: Int
    ) {
        DeltaRuleBackwardTranspose.transpose(src, rows: rows, columns: columns, ld: lds, into: dst, ld: ldd)
    }

    /// Reads one scalar per cache line of chunk `c`'s rows of the group's heads (q, k, v, and dO
    /// when `withOutput`: one contiguous span per token and tensor), so that their misses overlap
    /// each other and the current chunk's products instead of stalling the next chunk's loops one
    /// row at a time: a token's rows lie H·D scalars apart (one row per 4 KB page at H = 8,
    /// D = 128), which the hardware prefetchers do not follow. Returns the sum of the values read
    /// (stored by the caller so the loads stay).
    @inline(__always)
    func touch(chunk c: Int, seq: DeltaRuleProblem.Sequence, heads: Range<Int>, withOutput: Bool) -> T {
        let p = problem
        let (hh, dk, dv, n) = (p.heads, p.keyDim, p.valueDim, p.householder)
        let (row0, nt) = chunkRows(c, seq)
        let (h, spanK, spanV) = (heads.lowerBound, heads.count * p.keyDim, heads.count * p.valueDim)
        let line = Swift.max(1, 64 / MemoryLayout<T>.stride)
        var acc: T = 0
        for i in 0..<nt {
            let qr = q + ((row0 + i) * hh + h) * dk
            for a in stride(from: 0, to: spanK, by: line) { acc += qr[a] }
            if withOutput, let dO = outputGradient {
                let orow = dO + ((row0 + i) * hh + h) * dv
                for e in stride(from: 0, to: spanV, by: line) { acc += orow[e] }
            }
        }
        for i in (row0 * n)..<((row0 + nt) * n) {
            let kr = k + (i * hh + h) * dk
            for a in stride(from: 0, to: spanK, by: line) { acc += kr[a] }
            let vr = v + (i * hh + h) * dv
            for e in stride(from: 0, to: spanV, by: line) { acc += vr[e] }
        }
        return acc
    }

    /// Gathers the chunk's rows [Q; K] (c_t + c rows at `ws.qk`) and their transpose [Qᵀ | Kᵀ]
    /// (`ws.qkT`, leading dimension c_t + c), fills the decay factors, and returns exp(γ_c).
    @inline(__always)
    func gather(row0: Int, tokens nt: Int, head h: Int, workspace ws: Workspace, flags: inout UInt8) -> T {
        let p = problem
        let (hh, dk, n) = (p.heads, p.keyDim, p.householder)
        let ns = nt * n
        let step0 = row0 * n
        // The copies scan the rows for NaN/±∞ as they read them (the up-front scan of q and k).
        var bad = false
        for i in 0..<nt {
            bad =
                DeltaRuleRowCopy.copy(
                    q + ((row0 + i) * hh + h) * dk, count: dk, scale: 1, into: ws.qk + i * dk, copy: nil) || bad
        }
        if bad { flags |= DeltaRuleChunkKernel<T>.nonFiniteQ }
        bad = false
        for i in 0..<ns {
            bad =
                DeltaRuleRowCopy.copy(
                    k + ((step0 + i) * hh + h) * dk, count: dk, scale: 1, into: ws.qk + (nt + i) * dk, copy: nil) || bad
        }
        if bad { flags |= DeltaRuleChunkKernel<T>.nonFiniteK }
        Self.transpose(ws.qk, rows: nt + ns, columns: dk, ld: dk, into: ws.qkT, ld: chunkTokens + cs)
        guard let g else { return 1 }
        return DeltaRuleBackwardDecay.fill(
            g: g + row0 * hh + h, stride: hh, steps: ns, n: n, gam: ws.gam, egam: ws.egam, endFactor: ws.endFactor,
            reset: ws.reset, decay: ws.decay, ldd: cs)
    }

    /// Recomputes chunk `c` of head `h` (the group's head `local`) forward from its running state:
    /// stores S, U', T and [P; Ã] in `slot`, and advances the running state to the chunk-end state.
    func sweep(
        chunk c: Int, seq: DeltaRuleProblem.Sequence, head h: Int, local: Int, slot sl: Int, workspace ws: Workspace,
        flags: inout UInt8
    ) {
        let p = problem
        let (hh, dk, dv, n) = (p.heads, p.keyDim, p.valueDim, p.householder)
        let (row0, nt) = chunkRows(c, seq)
        let ns = nt * n
        let step0 = row0 * n
        let ldr = chunkTokens + cs
        let gated = g != nil
        let stateDecay = gather(row0: row0, tokens: nt, head: h, workspace: ws, flags: &flags)
        let st = slot(sl, local, ws)
        let sv = st.s
        let running = cur(ws, local)
        sv.base.update(from: running, count: kv)
        let qk = MatrixView(ws.qk, rows: nt + ns, columns: dk)
        let kc = qk.block(rows: nt..<(nt + ns), columns: 0..<dk)
        let kt = MatrixView(ws.qkT + nt, rows: dk, columns: ns, leadingDimension: ldr)
        let pa = MatrixView(st.pa.base, rows: nt + ns, columns: ns, leadingDimension: cs)
        let pm = pa.block(rows: 0..<nt, columns: 0..<ns)
        let at = pa.block(rows: nt..<(nt + ns), columns: 0..<ns)
        // [P; Ã] = [Q; K]·Kᵀ, masked and decayed.
        BLAS.gemm(qk, kt, into: pa)
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
        addChunkUpdate(
            into: MatrixView(running, rows: dk, columns: dv), kt: kt, u: u, stateDecay: stateDecay, gated: gated,
            workspace: ws)
    }

    /// The reverse step of chunk `c` of head `h` (the group's head `local`): with dS' (the
    /// chunk-end state's gradient) in `ds(ws, local)` on entry, writes the chunk's gradients and
    /// leaves dS (the chunk-start state's gradient) there.
    ///
    /// Every product is a no-transpose gemm (OpenBLAS's fast small-matrix path): the gradients of
    /// K and Q are accumulated transposed (dKᵀ, dQᵀ), and the small transposes (Pᵀ, U'ᵀ, the
    /// stacked [dO; dR]ᵀ) are formed explicitly.
    func reverse(
        chunk c: Int, seq: DeltaRuleProblem.Sequence, head h: Int, local: Int,
        slot st: (s: MatrixView<T>, u: MatrixView<T>, t: MatrixView<T>, pa: MatrixView<T>), workspace ws: Workspace,
        flags: inout UInt8
    ) {
        let p = problem
        let (hh, dk, dv, n) = (p.heads, p.keyDim, p.valueDim, p.householder)
        let (row0, nt) = chunkRows(c, seq)
        let ns = nt * n
        let nr = nt + ns
        let step0 = row0 * n
        let ldr = chunkTokens + cs
        let gated = g != nil
        let stateDecay = gather(row0: row0, tokens: nt, head: h, workspace: ws, flags: &flags)
        let sv = st.s
        let dsp = ds(ws, local)
        let u = MatrixView(st.u.base, rows: ns, columns: dv)
        let tm = MatrixView(st.t.base, rows: ns, columns: ns, leadingDimension: cs)
        let pa = MatrixView(st.pa.base, rows: nt + ns, columns: ns, leadingDimension: cs)
        let pm = pa.block(rows: 0..<nt, columns: 0..<ns)
        let at = pa.block(rows: nt..<(nt + ns), columns: 0..<ns)
        let qk = MatrixView(ws.qk, rows: nr, columns: dk)
        let kc = qk.block(rows: nt..<nr, columns: 0..<dk)
        let qkT = MatrixView(ws.qkT, rows: dk, columns: nr, leadingDimension: ldr)
        let qt = qkT.block(rows: 0..<dk, columns: 0..<nt)
        let kt = qkT.block(rows: 0..<dk, columns: nt..<nr)
        let dsv = MatrixView(dsp, rows: dk, columns: dv)
        let stack = MatrixView(ws.stack, rows: nr, columns: dv)
        let doc = stack.block(rows: 0..<nt, columns: 0..<dv)
        let dU = stack.block(rows: nt..<nr, columns: 0..<dv)
        let utr = MatrixView(ws.utr, rows: dv, columns: ns, leadingDimension: cs)
        let dkT = MatrixView(ws.dkT, rows: dk, columns: ns, leadingDimension: cs)
        let dgam = ws.dgam
        let dbc = ws.dbc
        for i in 0..<ns {
            dgam[i] = 0
            dbc[i] = 0
        }
        let betaAt = { (i: Int) -> T in self.beta[(step0 + i) * hh + h] }

        // scale·dO rows (0 without an output cotangent), scanned for NaN/±∞ as they are read.
        if let dO = outputGradient {
            var bad = false
            for i in 0..<nt {
                bad =
                    DeltaRuleRowCopy.copy(
                        dO + ((row0 + i) * hh + h) * dv, count: dv, scale: scale, into: doc.row(i), copy: nil) || bad
            }
            if bad { flags |= Self.nonFiniteOutputGradient }
        } else {
            doc.fill(0)
        }
        // From S' = e^{γ_c}·S + Kᵀ·diag(b)·U' (b_j = e^{γ_c − γ_j}): dU' = diag(b)·K·dS',
        // dKᵀ = dS'·(diag(b)·U')ᵀ, db_j = ⟨(K·dS')_j, U'_j⟩, dγ_c += e^{γ_c}·⟨S, dS'⟩.
        BLAS.gemm(kc, dsv, into: dU)
        Self.transpose(u.base, rows: ns, columns: dv, ld: dv, into: utr.base, ld: cs)
        if gated {
            for j in 0..<ns {
                let b = ws.endFactor[j]
                let row = dU.row(j)
                let ur = u.row(j)
                let t = b * BLAS.dot(dv, x: row, y: ur)
                dgam[ns - 1] += t
                dgam[j] -= t
                for e in 0..<dv { row[e] *= b }
            }
            // utr ← U'ᵀ·diag(b) for dKᵀ (restored to U'ᵀ below).
            for e in 0..<dv {
                let row = utr.row(e)
                for j in 0..<ns { row[j] *= ws.endFactor[j] }
            }
            BLAS.gemm(dsv, utr, into: dkT)
            Self.transpose(u.base, rows: ns, columns: dv, ld: dv, into: utr.base, ld: cs)
            dgam[ns - 1] += stateDecay * BLAS.dot(kv, x: sv.base, y: dsp)
        } else {
            BLAS.gemm(dsv, utr, into: dkT)
        }

        // dU' += Pᵀ·dO_s (dO_s = scale·dO).
        let hasOutput = outputGradient != nil
        if hasOutput {
            Self.transpose(pm.base, rows: nt, columns: ns, ld: cs, into: ws.pT, ld: chunkTokens)
            BLAS.gemm(
                MatrixView(ws.pT, rows: ns, columns: nt, leadingDimension: chunkTokens), doc, into: dU, alpha: 1,
                beta: 1)
        }
        // dR = Tᵀ·dU' (T unit lower), then [dP; −dA] = [dO_s; dR]·U'ᵀ.
        BLAS.trmm(tm, side: .left, triangle: .lower, transA: .transpose, diagonal: .unit, dU)
        let dR = dU
        let pa2 = MatrixView(ws.pa2, rows: nr, columns: ns, leadingDimension: cs)
        if hasOutput {
            BLAS.gemm(stack, utr, into: pa2)
        } else {
            BLAS.gemm(dR, utr, into: pa2.block(rows: nt..<nr, columns: 0..<ns))
        }
        // dP: masked (j ≤ pos(i)); its decay share ⟨dP, P⟩ to dγ; dP̃ = dP ⊙ D_pos, kept transposed.
        let dpT = MatrixView(ws.dpT, rows: ns, columns: nt, leadingDimension: chunkTokens)
        if hasOutput {
            for i in 0..<nt {
                let pos = i * n + n - 1
                let row = pa2.row(i)
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
            Self.transpose(pa2.base, rows: nt, columns: ns, ld: cs, into: dpT.base, ld: chunkTokens)
        }
        // dA (strictly lower; pa2 holds −dA): A_ij = β_i·Ã_ij gives dβ_i += Σ_j dA_ij·Ã_ij and
        // d(K·Kᵀ) = E = diag(β)·dA ⊙ D; dKᵀ += Kᵀ·(E + Eᵀ).
        let es = MatrixView(ws.ab, rows: ns, columns: ns, leadingDimension: cs)
        for i in 0..<ns {
            let row = pa2.row(nt + i)
            let arow = at.row(i)
            let erow = es.row(i)
            let bi = betaAt(i)
            var sum: T = 0
            for j in 0..<i {
                let t = -row[j] * arow[j]
                sum += t
                if gated { dgam[j] -= bi * t }
            }
            dbc[i] += sum
            if gated {
                dgam[i] += bi * sum
                let drow = ws.decay + i * cs
                for j in 0..<i { erow[j] = -bi * row[j] * drow[j] }
            } else {
                for j in 0..<i { erow[j] = -bi * row[j] }
            }
            erow[i] = 0
        }
        for i in 0..<ns {
            for j in (i + 1)..<Swift.max(ns, i + 1) { es[i, j] = es[j, i] }
        }
        BLAS.gemm(kt, es, into: dkT, alpha: 1, beta: 1)

        // X = S·[diag(e^{γ_pos})·dO_s; dR]ᵀ = [dQ₁ᵀ | −dW₀ᵀ] (dQ₁ = diag(e^{γ_pos})·dO_s·Sᵀ,
        // W₀ = diag(β ⊙ e^γ)·K, dW₀ = −dR·Sᵀ).
        if gated && hasOutput {
            for i in 0..<nt {
                let f = ws.egam[i * n + n - 1]
                let row = doc.row(i)
                for e in 0..<dv { row[e] *= f }
            }
        }
        let stackT = MatrixView(ws.stackT, rows: dv, columns: nr, leadingDimension: ldr)
        Self.transpose(stack.base, rows: nr, columns: dv, ld: dv, into: stackT.base, ld: ldr)
        let xm = MatrixView(ws.x, rows: dk, columns: nr, leadingDimension: ldr)
        BLAS.gemm(sv, stackT, into: xm)
        if gated && hasOutput {
            // ⟨q_i, dQ₁_i⟩ down the columns of Qᵀ and dQ₁ᵀ, vectorised across the tokens.
            for i in 0..<nt { ws.wb[i] = 0 }
            for a in 0..<dk {
                let qr = qt.row(a)
                let xr = xm.row(a)
                for i in 0..<nt { ws.wb[i] += qr[i] * xr[i] }
            }
            for i in 0..<nt { dgam[i * n + n - 1] += ws.wb[i] }
        }
        // dQᵀ = dQ₁ᵀ + Kᵀ·dP̃ᵀ;  dKᵀ += Qᵀ·dP̃.
        let dqT = xm.block(rows: 0..<dk, columns: 0..<nt)
        if hasOutput {
            BLAS.gemm(kt, dpT, into: dqT, alpha: 1, beta: 1)
            BLAS.gemm(qt, pa2.block(rows: 0..<nt, columns: 0..<ns), into: dkT, alpha: 1, beta: 1)
        }
        // dK += diag(β ⊙ e^γ)·dW₀, dβ_i += e_i·⟨k_i, dW₀_i⟩, dγ_i += β_i e_i·⟨k_i, dW₀_i⟩.
        for i in 0..<ns { ws.wb[i] = 0 }
        for a in 0..<dk {
            let xr = xm.row(a) + nt
            let kr = kt.row(a)
            for i in 0..<ns { ws.wb[i] -= kr[i] * xr[i] }
        }
        for i in 0..<ns {
            let bi = betaAt(i)
            let ei = gated ? ws.egam[i] : 1
            ws.ub[i] = -bi * ei  // the factor of −dW₀ᵀ's column i in dKᵀ
            dbc[i] += ei * ws.wb[i]
            if gated { dgam[i] += bi * ei * ws.wb[i] }
        }
        for a in 0..<dk {
            let xr = xm.row(a) + nt
            let dr = dkT.row(a)
            for i in 0..<ns { dr[i] += ws.ub[i] * xr[i] }
        }
        // Y = diag(β)·V: dV = diag(β)·dR, dβ_i += ⟨v_i, dR_i⟩; dR ← −diag(β ⊙ e^γ)·dR for dS.
        for i in 0..<ns {
            let bi = betaAt(i)
            let row = dR.row(i)
            let vr = v + ((step0 + i) * hh + h) * dv
            let dvr = ws.rb + i * dv  // staged, streamed out below
            for e in 0..<dv { dvr[e] = bi * row[e] }
            // The reductions through BLAS: Swift does not vectorise a floating-point sum.
            dbc[i] += BLAS.dot(dv, x: vr, y: row)
            if NonFiniteScan.scan(vr, count: dv).nonFinite { flags |= DeltaRuleChunkKernel<T>.nonFiniteV }
            let f = gated ? -bi * ws.egam[i] : -bi
            for e in 0..<dv { row[e] *= f }
        }
        // dS = e^{γ_c}·dS' + [Qᵀ | Kᵀ]·[diag(e^{γ_pos})·dO_s; −diag(β ⊙ e^γ)·dR].
        BLAS.gemm(qkT, stack, into: dsv, alpha: 1, beta: stateDecay)

        // Write dq, dk, dv, dβ; dg from the reverse cumulative sum of dγ within each reset-free segment.
        // dq and dk are transposed back to rows in the workspace (its [Q; K] rows are no longer
        // read) and, with dv, streamed out with non-temporal stores: each row is written once and
        // lies H·D scalars from the next, so ordinary stores would first read every line they fill.
        Self.transpose(dqT.base, rows: dk, columns: nt, ld: ldr, into: ws.qk, ld: dk)
        Self.transpose(dkT.base, rows: dk, columns: ns, ld: cs, into: ws.qk + nt * dk, ld: dk)
        StreamingCopy.copyRows(
            from: ws.qk, stride: dk, to: dq + (row0 * hh + h) * dk, stride: hh * dk, rows: nt, count: dk)
        StreamingCopy.copyRows(
            from: ws.qk + nt * dk, stride: dk, to: self.dk + (step0 * hh + h) * dk, stride: hh * dk, rows: ns,
            count: dk)
        StreamingCopy.copyRows(
            from: ws.rb, stride: dv, to: dv_ + (step0 * hh + h) * dv, stride: hh * dv, rows: ns, count: dv)
        for i in 0..<ns { dbeta[(step0 + i) * hh + h] = dbc[i] }
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
    }

    private var dv_: UnsafeMutablePointer<T> { dv }
}
