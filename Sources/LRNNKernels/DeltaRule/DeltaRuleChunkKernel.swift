import LRNNLinearAlgebra

/// The chunkwise delta rule for one work item (one sequence × one head), over raw pointers
/// into the caller's `[B, T, H, D]` tensors.
///
/// Every chunk of `c` Householder steps (`c/n` tokens) does, with S the K×V state at the chunk
/// start, γ the within-chunk cumulative log decay and K, V, Q strided views of the inputs
/// (row stride H·D, no copies):
///
///     A  = strictly-lower(diag(β)·K·Kᵀ ⊙ exp(γ_i − γ_j))          syrk + O(c²) scaling
///     W  = (I + A)⁻¹·diag(β ⊙ exp γ)·K,  U = (I + A)⁻¹·diag(β)·V    two unit-lower trsm
///     U' = U − W·S                                                  gemm
///     O  = scale·[diag(exp γ_pos)·Q·S + (Q·Kᵀ ⊙ exp(γ_pos − γ_j) ⊙ M)·U']   three gemm
///     S  ← exp(γ_c)·S + Kᵀ·diag(exp(γ_c − γ))·U'                    gemm
///
/// `pos` is the last step of each token (`i·n + n − 1`), M keeps steps `j ≤ pos(i)`.
/// Only W, U (gathered and scaled rows), A, the decay matrix and Q·Kᵀ live in the work
/// item's workspace; the output is written through a view of the output tensor and the state
/// is updated in place in the final-state tensor.
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

    /// The scalars of workspace one work item needs.
    var workspaceCount: Int {
        let cs = chunkTokens * problem.householder
        return 2 * cs * cs + chunkTokens * cs + cs * (problem.keyDim + problem.valueDim) + 2 * cs
    }

    /// Runs work item `item = s·H + h` (sequence s, head h) through all its chunks.
    func run(item: Int) {
        let p = problem
        let (hh, dk, dv, n) = (p.heads, p.keyDim, p.valueDim, p.householder)
        let seq = p.sequences[item / hh]
        let h = item % hh
        if seq.start == seq.end { return }
        let cs = chunkTokens * n
        let ws = UnsafeMutablePointer<T>.allocate(capacity: workspaceCount)
        defer { ws.deallocate() }
        let aBase = ws
        let dBase = aBase + cs * cs
        let pBase = dBase + cs * cs
        let wBase = pBase + chunkTokens * cs
        let uBase = wBase + cs * dk
        let gam = uBase + cs * dv
        let egam = gam + cs

        let sv = MatrixView(state + item * dk * dv, rows: dk, columns: dv)
        let ldk = hh * dk
        let ldv = hh * dv
        var t0 = seq.start
        while t0 < seq.end {
            let nt = Swift.min(chunkTokens, seq.end - t0)
            let ns = nt * n
            let row0 = seq.batch * p.tokens + t0
            let step0 = row0 * n
            let kc = MatrixView(k + (step0 * hh + h) * dk, rows: ns, columns: dk, leadingDimension: ldk)
            let vc = MatrixView(v + (step0 * hh + h) * dv, rows: ns, columns: dv, leadingDimension: ldv)
            let qc = MatrixView(q + (row0 * hh + h) * dk, rows: nt, columns: dk, leadingDimension: ldk)
            let oc = MatrixView(output + (row0 * hh + h) * dv, rows: nt, columns: dv, leadingDimension: ldv)
            let a = MatrixView(aBase, rows: ns, columns: ns)
            let d = MatrixView(dBase, rows: ns, columns: ns)
            let pm = MatrixView(pBase, rows: nt, columns: ns)
            let w = MatrixView(wBase, rows: ns, columns: dk)
            let u = MatrixView(uBase, rows: ns, columns: dv)
            let betaAt = { (i: Int) -> T in beta[(step0 + i) * hh + h] }

            // γ: within-chunk cumulative log decay (the gate enters at each token's first step).
            if let g {
                var acc: T = 0
                for i in 0..<ns {
                    if i % n == 0 { acc += g[(row0 + i / n) * hh + h] }
                    gam[i] = acc
                    egam[i] = T.exp(acc)
                }
                // Decay matrix D[i, j] = exp(γ_i − γ_j) for j ≤ i (exponent ≤ 0, never overflows).
                for i in 0..<ns {
                    let drow = d.row(i)
                    let gi = gam[i]
                    for j in 0..<i { drow[j] = T.exp(gi - gam[j]) }
                    drow[i] = 1
                }
            }

            // A = strictly-lower(diag(β)·K·Kᵀ ⊙ D); trsm reads only the strict lower triangle.
            BLAS.syrk(kc, trans: .none, triangle: .lower, into: a)
            for i in 1..<Swift.max(ns, 1) {
                let arow = a.row(i)
                let bi = betaAt(i)
                if g != nil {
                    let drow = d.row(i)
                    for j in 0..<i { arow[j] *= bi * drow[j] }
                } else {
                    for j in 0..<i { arow[j] *= bi }
                }
            }

            // W = diag(β ⊙ exp γ)·K and U = diag(β)·V, then both ← (I + A)⁻¹·(…).
            for i in 0..<ns {
                let bi = betaAt(i)
                let wi = g != nil ? bi * egam[i] : bi
                let krow = kc.row(i)
                let wrow = w.row(i)
                for c in 0..<dk { wrow[c] = wi * krow[c] }
                let vrow = vc.row(i)
                let urow = u.row(i)
                for c in 0..<dv { urow[c] = bi * vrow[c] }
            }
            BLAS.trsm(a, side: .left, triangle: .lower, diagonal: .unit, w)
            BLAS.trsm(a, side: .left, triangle: .lower, diagonal: .unit, u)

            // U' = U − W·S.
            BLAS.gemm(w, .none, sv, .none, into: u, alpha: -1, beta: 1)

            // O = scale·diag(exp γ_pos)·Q·S + scale·(Q·Kᵀ ⊙ D_pos ⊙ M)·U'.
            BLAS.gemm(qc, .none, sv, .none, into: oc, alpha: scale, beta: 0)
            BLAS.gemm(qc, .none, kc, .transpose, into: pm)
            for i in 0..<nt {
                let pos = i * n + n - 1
                let prow = pm.row(i)
                if g != nil {
                    BLAS.scal(dv, alpha: egam[pos], x: oc.row(i))
                    let drow = d.row(pos)
                    for j in 0...pos { prow[j] *= drow[j] }
                }
                for j in (pos + 1)..<Swift.max(ns, pos + 1) { prow[j] = 0 }
            }
            BLAS.gemm(pm, .none, u, .none, into: oc, alpha: scale, beta: 1)

            // S ← exp(γ_c)·S + Kᵀ·diag(exp(γ_c − γ))·U'.
            var stateDecay: T = 1
            if g != nil {
                let last = gam[ns - 1]
                stateDecay = egam[ns - 1]
                for j in 0..<ns { BLAS.scal(dv, alpha: T.exp(last - gam[j]), x: u.row(j)) }
            }
            BLAS.gemm(kc, .transpose, u, .none, into: sv, alpha: 1, beta: stateDecay)
            t0 += nt
        }
    }
}
