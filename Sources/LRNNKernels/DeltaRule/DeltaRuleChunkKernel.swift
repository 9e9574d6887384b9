import LRNNLinearAlgebra

/// The chunkwise delta rule for one work item (one sequence × a group of heads), over raw pointers
/// into the caller's `[B, T, H, D]` tensors.
///
/// Every chunk of `c` Householder steps (`c/n` tokens) does, with S the K×V state at the chunk
/// start, γ the within-chunk cumulative log decay and K, V, Q the chunk's rows:
///
///     A  = strictly-lower(diag(β)·K·Kᵀ ⊙ exp(γ_i − γ_j)),   T = (I + A)⁻¹
///     U' = T·(diag(β)·V − diag(β ⊙ exp γ)·K·S)      (= U − W·S of the WY form)
///     O  = scale·[diag(exp γ_pos)·Q·S + (Q·Kᵀ ⊙ exp(γ_pos − γ_j) ⊙ M)·U']
///     S  ← exp(γ_c)·S + Kᵀ·diag(exp(γ_c − γ))·U'
///
/// `pos` is the last step of each token (`i·n + n − 1`) and M keeps steps `j ≤ pos(i)`.
/// T is formed by one unit-lower `trsm` on the c×c identity (c³/3 flops) and applied by gemm:
/// OpenBLAS's trsm is slow on the thin c×(K+V) right-hand sides, and T·Y costs about as much
/// as the solve it replaces. The work item's workspace holds one panel X (rows padded by a cache
/// line past K + V) and Kᵀ:
///
///     rows 0 ..< c         [ W₀ | Y ]     W₀ = diag(β ⊙ exp γ)·K,  Y = diag(β)·V
///     rows c ..< c + c/n   [ Q  | · ]
///     rows c + c/n ..      [ K  | · ]     and Kᵀ (K×c) beside it
///
/// filled by one pass over the chunk's strided rows that also scans them for NaN/±∞. Every
/// product is then a no-transpose gemm small enough (m·n·k ≤ 10⁶) for OpenBLAS's small-matrix
/// kernels, which at these sizes run near or above its large-matrix peak, while A·Bᵀ and the
/// packed path for one 64-row product ran at half that: `[Q; K]·Kᵀ` (P and K·Kᵀ in one call),
/// `Y ← Y − W₀·S`, `U' = T·Y`, `O = scale·Q·S` straight into the output view (row stride H·V),
/// `O += scale·P·U'` and `S ← exp(γ_c)·S + Kᵀ·U''` in place in the final-state tensor.
struct DeltaRuleChunkKernel<T: LRNNScalar> {
    let problem: DeltaRuleProblem
    let q: UnsafeMutablePointer<T>
    let k: UnsafeMutablePointer<T>
    let v: UnsafeMutablePointer<T>
    let beta: UnsafeMutablePointer<T>
    /// The log decays `[B, T, H]`, or nil without a gate.
    let g: UnsafeMutablePointer<T>?
    let output: UnsafeMutablePointer<T>
    /// The `[N, H, K, V]` states, holding the initial states on entry.
    let state: UnsafeMutablePointer<T>
    let scale: T
    /// Tokens per chunk (the chunk has `chunkTokens · n` Householder steps).
    let chunkTokens: Int
    /// Head groups per sequence: work item `s·G + j` runs heads `j·H/G ..< (j+1)·H/G` of sequence s.
    let headGroups: Int
    /// The training forward's saved values (`DeltaRule.Saved`), laid out by `plan`; nil for inference.
    var saved: UnsafeMutablePointer<T>? = nil
    /// Where the saved values go (nil for inference).
    var plan: DeltaRuleSavePlan? = nil

    /// The scalars of workspace one work item needs: the panel X, [P; A], the decay matrix and γ.
    var workspaceCount: Int {
        let cs = chunkTokens * problem.householder
        let panel = (2 * cs + chunkTokens) * panelLeadingDimension
        return panel + (chunkTokens + cs) * cs + 3 * cs * cs + cs * problem.valueDim + problem.keyDim * cs + 4 * cs
            + 1
    }

    /// The panel's row length: K + V plus one cache line, so that the rows do not all fall into
    /// the same cache sets when K + V is a multiple of a large power of two (as at K = V = 128).
    var panelLeadingDimension: Int {
        problem.keyDim + problem.valueDim + Swift.max(1, 64 / MemoryLayout<T>.stride)
    }

    /// The largest within-chunk total decay −γ_c for which exp(γ_i − γ_j) is taken as
    /// exp(γ_i)·exp(−γ_j): 90 % of the exponent range, so both factors stay normal and finite.
    static var factoredDecayLimit: T { T(T.greatestFiniteMagnitude.exponent) * T(0.693) * T(0.9) }

    /// Log decays below this are tested for a reset (`exp(g) = 0` in `T`): one above the logarithm of
    /// the least nonzero magnitude, so every g whose exponential underflows to zero is below it.
    static var resetCandidateBelow: T { T.log(T.leastNonzeroMagnitude) + 1 }

    /// Flags ``run(item:)`` returns for NaN/±∞ found in the rows it read.
    static var nonFiniteQ: UInt8 { 1 }
    static var nonFiniteK: UInt8 { 2 }
    static var nonFiniteV: UInt8 { 4 }

    /// Runs work item `item = s·G + j` (sequence s, head group j of ``headGroups``) through all its
    /// chunks in the caller's `workspace` (``workspaceCount`` scalars, one per worker, reused by every
    /// item the worker runs), chunk by chunk and head by head inside each chunk, and returns which of q, k, v held
    /// a NaN or ±∞ in its rows (``nonFiniteQ`` | ``nonFiniteK`` | ``nonFiniteV``): every row is
    /// scanned right after the gather reads it, while it is in cache.
    func run(item: Int, workspace ws: UnsafeMutablePointer<T>) -> UInt8 {
        let p = problem
        let (hh, dk, dv, n) = (p.heads, p.keyDim, p.valueDim, p.householder)
        let seqIndex = item / headGroups
        let seq = p.sequences[seqIndex]
        let group = item % headGroups
        let hLo = group * hh / headGroups
        let hHi = (group + 1) * hh / headGroups
        if seq.start == seq.end || hLo == hHi { return 0 }
        var flags: UInt8 = 0
        let lineScalars = Swift.max(1, 64 / MemoryLayout<T>.stride)
        var t0 = seq.start
        while t0 < seq.end {
            let nt = Swift.min(chunkTokens, seq.end - t0)
            let row0 = seq.batch * p.tokens + t0
            // Touch every cache line of the chunk's rows of the whole head group first: a token's
            // heads are contiguous (H·D per row), so this reads long contiguous spans whose misses
            // overlap, and the per-head gathers below then hit in cache.
            var touched: T = 0
            for i in 0..<(nt * n) {
                let kspan = k + ((row0 * n + i) * hh + hLo) * dk
                let vspan = v + ((row0 * n + i) * hh + hLo) * dv
                for c in stride(from: 0, to: (hHi - hLo) * dk, by: lineScalars) { touched += kspan[c] }
                for c in stride(from: 0, to: (hHi - hLo) * dv, by: lineScalars) { touched += vspan[c] }
            }
            for i in 0..<nt {
                let qspan = q + ((row0 + i) * hh + hLo) * dk
                for c in stride(from: 0, to: (hHi - hLo) * dk, by: lineScalars) { touched += qspan[c] }
                // The output rows too (one store per cache line, overwritten below): their misses
                // overlap here instead of stalling the per-head output pass one row at a time.
                let ospan = output + ((row0 + i) * hh + hLo) * dv
                for c in stride(from: 0, to: (hHi - hLo) * dv, by: lineScalars) { ospan[c] = 0 }
            }
            ws[workspaceCount - 1] = touched  // keeps the loads (the workspace's last slot is scratch)
            let c = (t0 - seq.start) / chunkTokens
            for h in hLo..<hHi {
                var slot: UnsafeMutablePointer<T>? = nil
                var checkpoint: UnsafeMutablePointer<T>? = nil
                var blockState: UnsafeMutablePointer<T>? = nil
                if let saved, let plan {
                    let first = plan.firstSaved[seqIndex]
                    if c >= first {
                        slot = saved + plan.slot(seqIndex, head: h, chunk: c)
                        if plan.blockStart(seqIndex, chunk: c) == c {
                            blockState = saved + plan.blockState(seqIndex, head: h, chunk: c)
                        }
                    }
                    if plan.checkpoints[seqIndex] > 0 && c % plan.segmentChunks == 0 {
                        checkpoint = saved + plan.checkpoint(seqIndex, head: h, index: c / plan.segmentChunks)
                    }
                }
                flags |= chunk(
                    head: h, state: seq.index(p, head: h), row0: row0, tokens: nt, workspace: ws, slot: slot,
                    checkpoint: checkpoint, blockState: blockState)
            }
            t0 += nt
        }
        return flags
    }

    /// One chunk of `tokens` tokens starting at packed row `row0`, for one head whose state is
    /// `[stateIndex]` of the final-state tensor; returns the non-finite flags of the rows it read.
    @inline(__always)
    func chunk(
        head h: Int, state stateIndex: Int, row0: Int, tokens nt: Int, workspace ws: UnsafeMutablePointer<T>,
        slot: UnsafeMutablePointer<T>? = nil, checkpoint: UnsafeMutablePointer<T>? = nil,
        blockState: UnsafeMutablePointer<T>? = nil
    ) -> UInt8 {
        let p = problem
        let (hh, dk, dv, n) = (p.heads, p.keyDim, p.valueDim, p.householder)
        var flags: UInt8 = 0
        let cs = chunkTokens * n
        let ldx = panelLeadingDimension
        let xBase = ws
        let paBase = xBase + (2 * cs + chunkTokens) * ldx
        let dBase = paBase + (chunkTokens + cs) * cs
        let tBase = dBase + cs * cs
        let upBase = tBase + cs * cs
        let gam = upBase + cs * dv
        let egam = gam + cs
        let einv = egam + cs
        let segStart = einv + cs
        let ktBase = segStart + cs
        let abBase = ktBase + dk * cs
        let sv = MatrixView(state + stateIndex * dk * dv, rows: dk, columns: dv)
        let ldk = hh * dk
        let ldv = hh * dv
        do {
            let ns = nt * n
            let step0 = row0 * n
            let kc = MatrixView(k + (step0 * hh + h) * dk, rows: ns, columns: dk, leadingDimension: ldk)
            let vc = MatrixView(v + (step0 * hh + h) * dv, rows: ns, columns: dv, leadingDimension: ldv)
            let qc = MatrixView(q + (row0 * hh + h) * dk, rows: nt, columns: dk, leadingDimension: ldk)
            let oc = MatrixView(output + (row0 * hh + h) * dv, rows: nt, columns: dv, leadingDimension: ldv)
            // The panel X for this chunk (rows: ns of [W | U], nt of [Q | R], ns of [K | ·]).
            let x = MatrixView(xBase, rows: 2 * ns + nt, columns: dk + dv, leadingDimension: ldx)
            let w = x.block(rows: 0..<ns, columns: 0..<dk)
            let y = x.block(rows: 0..<ns, columns: dk..<(dk + dv))
            let qx = x.block(rows: ns..<(ns + nt), columns: 0..<dk)
            let kx = x.block(rows: (ns + nt)..<(2 * ns + nt), columns: 0..<dk)
            // A training forward computes [P; Ã], T and U' straight into the chunk's saved slot
            // (U', T, [P; Ã] as the backward's sweep stores them after S: `DeltaRuleBackwardKernel.slot`),
            // and keeps S only at checkpoints and block starts (`DeltaRuleSavePlan`).
            let kv = dk * dv
            let pa =
                slot.map { MatrixView($0 + cs * dv + cs * cs, rows: nt + ns, columns: ns, leadingDimension: cs) }
                ?? MatrixView(paBase, rows: nt + ns, columns: ns)
            let pm = pa.block(rows: 0..<nt, columns: 0..<ns)
            let a = pa.block(rows: nt..<(nt + ns), columns: 0..<ns)
            let d = MatrixView(dBase, rows: ns, columns: ns)
            let tm =
                slot.map { MatrixView($0 + cs * dv, rows: ns, columns: ns, leadingDimension: cs) }
                ?? MatrixView(tBase, rows: ns, columns: ns)
            let u = slot.map { MatrixView($0, rows: ns, columns: dv) } ?? MatrixView(upBase, rows: ns, columns: dv)
            // Non-temporal: the saved states are far larger than the caches and read back only by the
            // backward, so their lines are written without being read first.
            if let checkpoint { StreamingCopy.copy(from: sv.base, to: checkpoint, count: kv) }
            if let blockState { StreamingCopy.copy(from: sv.base, to: blockState, count: kv) }
            let kt = MatrixView(ktBase, rows: dk, columns: ns, leadingDimension: cs)
            let betaAt = { (i: Int) -> T in beta[(step0 + i) * hh + h] }

            // γ: within-chunk cumulative log decay (the gate enters at each token's first step).
            // When the chunk's total decay is moderate, exp(γ_i − γ_j) = exp(γ_i)·exp(−γ_j) with
            // both factors normal and finite (≤ 3 ulp apart from the direct form), which takes 2c
            // exponentials instead of c²/2; a stronger decay takes every exp(γ_i − γ_j) directly
            // (exponent ≤ 0, never overflows).
            //
            // A reset (a gate with exp(g) = 0 in T: −∞, or a finite g below the underflow point)
            // zeroes the state before its token's update. It splits the chunk into segments: γ
            // restarts at 0 after it (so no −∞ or huge value enters a difference, and the decays
            // after it stay exact), decays across a reset are 0, and so are the factors from the
            // chunk start (exp γ) from the first reset on and the end factors of steps before the
            // last reset.
            var factored = false
            var firstReset = ns
            var lastReset = 0
            if let g {
                var acc: T = 0
                var lowest: T = 0
                let candidate = Self.resetCandidateBelow
                for i in 0..<ns {
                    if i % n == 0 {
                        let gt = g[(row0 + i / n) * hh + h]
                        if gt < candidate && T.exp(gt) == 0 {
                            acc = 0
                            lastReset = i
                            if firstReset == ns { firstReset = i }
                        } else {
                            acc += gt
                        }
                    }
                    gam[i] = acc
                    egam[i] = T.exp(acc)
                    segStart[i] = T(lastReset)
                    lowest = Swift.min(lowest, acc)
                }
                factored = ns > 0 && -lowest <= Self.factoredDecayLimit
                if firstReset == ns {
                    if factored {
                        for j in 0..<ns { einv[j] = T.exp(-gam[j]) }
                        for i in 0..<ns {
                            let drow = d.row(i)
                            let ei = egam[i]
                            for j in 0..<i { drow[j] = ei * einv[j] }
                            drow[i] = 1
                        }
                    } else {
                        for i in 0..<ns {
                            let drow = d.row(i)
                            let gi = gam[i]
                            for j in 0..<i { drow[j] = T.exp(gi - gam[j]) }
                            drow[i] = 1
                        }
                    }
                } else {
                    // D with the decays across a reset set to 0 (segStart: the step that starts each
                    // step's segment), the end factors exp(γ_c − γ_j) in einv, and exp γ (from the
                    // chunk start) 0 from the first reset on.
                    if factored { for j in 0..<ns { einv[j] = T.exp(-gam[j]) } }
                    for i in 0..<ns {
                        let drow = d.row(i)
                        let si = Int(segStart[i])
                        for j in 0..<si { drow[j] = 0 }
                        if factored {
                            let ei = egam[i]
                            for j in si..<i { drow[j] = ei * einv[j] }
                        } else {
                            let gi = gam[i]
                            for j in si..<i { drow[j] = T.exp(gi - gam[j]) }
                        }
                        drow[i] = 1
                    }
                    let last = gam[ns - 1]
                    for j in 0..<ns { einv[j] = j < lastReset ? 0 : T.exp(last - gam[j]) }
                    for i in firstReset..<ns { egam[i] = 0 }
                }
            }

            // Gather the panel: W₀ = diag(β ⊙ exp γ)·K, Y = diag(β)·V, Q, R = 0, K, scanning every
            // row for NaN/±∞ in the same pass.
            for i in 0..<ns {
                let bi = betaAt(i)
                let wi = g != nil ? bi * egam[i] : bi
                if DeltaRuleRowCopy.copy(kc.row(i), count: dk, scale: wi, into: w.row(i), copy: kx.row(i)) {
                    flags |= Self.nonFiniteK
                }
                if DeltaRuleRowCopy.copy(vc.row(i), count: dv, scale: bi, into: y.row(i), copy: nil) {
                    flags |= Self.nonFiniteV
                }
            }
            // Kᵀ (K×c) for the no-transpose products below (OpenBLAS's small-matrix path runs
            // A·B about twice as fast as A·Bᵀ at these sizes), eight rows at a time so that the
            // stores fill whole cache lines.
            var i0 = 0
            while i0 < ns {
                let rowsHere = Swift.min(8, ns - i0)
                let src = kx.row(i0)
                if rowsHere == 8 {
                    for c in 0..<dk {
                        let dst = ktBase + c * cs + i0
                        for ii in 0..<8 { dst[ii] = src[ii * ldx + c] }
                    }
                } else {
                    for c in 0..<dk {
                        let dst = ktBase + c * cs + i0
                        for ii in 0..<rowsHere { dst[ii] = src[ii * ldx + c] }
                    }
                }
                i0 += rowsHere
            }
            for i in 0..<nt where DeltaRuleRowCopy.copy(qc.row(i), count: dk, scale: 1, into: qx.row(i), copy: nil) {
                flags |= Self.nonFiniteQ
            }

            // [P; A] = [Q; K]·Kᵀ, then A ← strictly-lower(diag(β)·A ⊙ D), P ← P ⊙ D_pos ⊙ M.
            BLAS.gemm(x.block(rows: ns..<(2 * ns + nt), columns: 0..<dk), kt, into: pa)
            // Saving: Ã (decayed, strictly lower, zero above) stays in the slot and A = diag(β)·Ã
            // goes to its own buffer, as the backward's sweep forms them.
            let ab = MatrixView(abBase, rows: ns, columns: ns, leadingDimension: cs)
            if slot != nil {
                for i in 0..<ns {
                    let row = a.row(i)
                    let arow = ab.row(i)
                    let bi = betaAt(i)
                    if g != nil {
                        let drow = d.row(i)
                        for j in 0..<i {
                            row[j] *= drow[j]
                            arow[j] = bi * row[j]
                        }
                    } else {
                        for j in 0..<i { arow[j] = bi * row[j] }
                    }
                    for j in i..<ns { row[j] = 0 }
                }
            }
            for i in 1..<Swift.max(ns, 1) where slot == nil {
                let arow = a.row(i)
                let bi = betaAt(i)
                if g != nil {
                    let drow = d.row(i)
                    for j in 0..<i { arow[j] *= bi * drow[j] }
                } else {
                    for j in 0..<i { arow[j] *= bi }
                }
            }
            for i in 0..<nt {
                let pos = i * n + n - 1
                let prow = pm.row(i)
                if g != nil {
                    let drow = d.row(pos)
                    for j in 0...pos { prow[j] *= drow[j] }
                }
                for j in (pos + 1)..<Swift.max(ns, pos + 1) { prow[j] = 0 }
            }

            // T = (I + A)⁻¹: a unit-lower solve on the identity (A's diagonal and upper part unread).
            tm.fill(0)
            for i in 0..<ns { tm[i, i] = 1 }
            BLAS.trsm(slot != nil ? ab : a, side: .left, triangle: .lower, diagonal: .unit, tm)

            // Y ← Y − W₀·S, then U' = T·Y.
            BLAS.gemm(w, sv, into: y, alpha: -1, beta: 1)
            BLAS.gemm(tm, y, into: u)

            // O = scale·diag(exp γ_pos)·Q·S + scale·P·U', the first term straight into the output.
            BLAS.gemm(qx, sv, into: oc, alpha: scale)
            if g != nil {
                for i in 0..<nt {
                    let f = egam[i * n + n - 1]
                    let orow = oc.row(i)
                    for c in 0..<dv { orow[c] *= f }
                }
            }
            BLAS.gemm(pm, u, into: oc, alpha: scale, beta: 1)

            // S ← exp(γ_c)·S + Kᵀ·diag(exp(γ_c − γ))·U'.
            // (A saved U' stays unscaled: the scaled rows go to the workspace's U' buffer.)
            var stateDecay: T = 1
            var uu = u
            if g != nil {
                let last = gam[ns - 1]
                stateDecay = egam[ns - 1]  // 0 after a reset
                let reset = firstReset < ns
                if slot != nil { uu = MatrixView(upBase, rows: ns, columns: dv) }
                for j in 0..<ns {
                    let f = reset ? einv[j] : factored ? stateDecay * einv[j] : T.exp(last - gam[j])
                    let urow = u.row(j)
                    let dst = uu.row(j)
                    for c in 0..<dv { dst[c] = f * urow[c] }
                }
            }
            BLAS.gemm(kt, uu, into: sv, alpha: 1, beta: stateDecay)
        }
        return flags
    }
}
