import LRNNLinearAlgebra

/// The per-head sizes of a pLSTM call and the contractions one cell (a token, or a grid cell)
/// performs, on raw pointers into per-head blocks, shared by ``PLSTM1D`` and ``PLSTM2D``.
///
/// Per-head blocks, row-major: `q` `[DK, JQ]`, `k` `[DK, JK]`, `v` `[DV, JV]`, a source `S`
/// `[JT, JK, JV]`, a transition `T` `[JT, JT]`, a mark `M` `[JO, JQ, JT]`, the direct gate `D`
/// `[JO, JQ, JK, JV]`, an output `y` `[DV, JO]`. States are kept internally as `[JT, DK, DV]`
/// (`[(i, d), v]`: a transition is one JT×JT product on a JT × (DK·DV) matrix, a state read one
/// product over the JT·DK rows); the public layout `[DK, DV, JT]` is converted once per sequence
/// or boundary.
struct PLSTMCell<Scalar: LRNNScalar> {
    let dk: Int
    let dv: Int
    let jq: Int
    let jk: Int
    let jv: Int
    let jt: Int
    let jo: Int

    /// Elements of one state, `JT·DK·DV`.
    var stateCount: Int { jt * dk * dv }
    /// Elements of a `q` block.
    var qCount: Int { dk * jq }
    /// Elements of a `k` block.
    var kCount: Int { dk * jk }
    /// Elements of a `v` block.
    var vCount: Int { dv * jv }
    /// Elements of an `S` block.
    var sCount: Int { jt * jk * jv }
    /// Elements of a `T` block.
    var tCount: Int { jt * jt }
    /// Elements of an `M` block.
    var mCount: Int { jo * jq * jt }
    /// Elements of a `D` block.
    var dCount: Int { jo * jq * jk * jv }
    /// Elements of an output block.
    var yCount: Int { dv * jo }

    /// `C ← α·op(A)·op(B) + β·C` on raw row-major pointers; an empty inner dimension scales C by β.
    @inline(__always)
    static func gemm(
        _ ta: BLAS.Transpose, _ tb: BLAS.Transpose, _ m: Int, _ n: Int, _ k: Int, _ alpha: Scalar,
        _ a: UnsafePointer<Scalar>, _ lda: Int, _ b: UnsafePointer<Scalar>, _ ldb: Int, _ beta: Scalar,
        _ c: UnsafeMutablePointer<Scalar>, _ ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
            }
            return
        }
        Scalar._blasGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// The source key `K̃[(i, d), l] = Σ_j S[i, j, l]·k[d, j]`, a JT·DK × JV matrix.
    func sourceKey(_ s: UnsafePointer<Scalar>, _ k: UnsafePointer<Scalar>, into out: UnsafeMutablePointer<Scalar>) {
        for i in 0..<jt {
            for d in 0..<dk {
                let row = out + (i * dk + d) * jv
                for l in 0..<jv { row[l] = 0 }
                for j in 0..<jk {
                    let kv = k[d * jk + j]
                    let srow = s + (i * jk + j) * jv
                    for l in 0..<jv { row[l] += srow[l] * kv }
                }
            }
        }
    }

    /// The marked query `Q̃[(i, d), o] = Σ_a q[d, a]·M[o, a, i]`, a JT·DK × JO matrix.
    func markQuery(_ m: UnsafePointer<Scalar>, _ q: UnsafePointer<Scalar>, into out: UnsafeMutablePointer<Scalar>) {
        for i in 0..<jt {
            for d in 0..<dk {
                let row = out + (i * dk + d) * jo
                for o in 0..<jo {
                    var acc: Scalar = 0
                    for a in 0..<jq { acc += q[d * jq + a] * m[(o * jq + a) * jt + i] }
                    row[o] = acc
                }
            }
        }
    }

    /// `out ← T·C + β·out` for an internal state C (one JT×JT by JT×(DK·DV) product).
    func transition(
        _ t: UnsafePointer<Scalar>, _ c: UnsafePointer<Scalar>, into out: UnsafeMutablePointer<Scalar>,
        beta: Scalar, transpose: Bool = false
    ) {
        Self.gemm(transpose ? .transpose : .none, .none, jt, dk * dv, jt, 1, t, jt, c, dk * dv, beta, out, dk * dv)
    }

    /// `out += K̃·vᵀ`: the source's contribution `(S.kv)[(i, d), v]` to a state.
    func addSource(
        _ keyTilde: UnsafePointer<Scalar>, _ v: UnsafePointer<Scalar>, into out: UnsafeMutablePointer<Scalar>
    ) {
        Self.gemm(.none, .transpose, jt * dk, dv, jv, 1, keyTilde, jv, v, jv, 1, out, dv)
    }

    /// `y[v, o] ← scale·Σ_{(i,d)} C[(i, d), v]·Q̃[(i, d), o] + β·y`: the state read through a mark.
    func readState(
        _ c: UnsafePointer<Scalar>, _ queryTilde: UnsafePointer<Scalar>, scale: Scalar,
        into y: UnsafeMutablePointer<Scalar>, beta: Scalar
    ) {
        Self.gemm(.transpose, .none, dv, jo, jt * dk, scale, c, dv, queryTilde, jo, beta, y, jo)
    }

    /// Scratch elements of ``direct(q:k:v:d:scale:into:scratch:)`` and its backward.
    var directScratch: Int { jq * jk + jo * jv + jq * jk + jo * jv }

    /// `y[v, o] += scale·Σ_{a,j,l} D[o, a, j, l]·(qᵀk)[a, j]·v[v, l]`: the direct (same-cell) term.
    func direct(
        q: UnsafePointer<Scalar>, k: UnsafePointer<Scalar>, v: UnsafePointer<Scalar>, d gate: UnsafePointer<Scalar>,
        scale: Scalar, into y: UnsafeMutablePointer<Scalar>, scratch: UnsafeMutablePointer<Scalar>
    ) {
        let qk = scratch
        let ad = scratch + jq * jk
        Self.gemm(.transpose, .none, jq, jk, dk, 1, q, jq, k, jk, 0, qk, jk)
        for o in 0..<jo {
            for l in 0..<jv {
                var acc: Scalar = 0
                for a in 0..<jq {
                    for j in 0..<jk { acc += gate[((o * jq + a) * jk + j) * jv + l] * qk[a * jk + j] }
                }
                ad[o * jv + l] = scale * acc
            }
        }
        // y[v, o] += Σ_l v[v, l]·ad[o, l]
        Self.gemm(.none, .transpose, dv, jo, jv, 1, v, jv, ad, jv, 1, y, jo)
    }

    /// Backward of ``direct(q:k:v:d:scale:into:scratch:)``: accumulates into `dq`, `dk`, `dv` and `dD`.
    func directBackward(
        q: UnsafePointer<Scalar>, k: UnsafePointer<Scalar>, v: UnsafePointer<Scalar>, d gate: UnsafePointer<Scalar>,
        dy: UnsafePointer<Scalar>, scale: Scalar, dq: UnsafeMutablePointer<Scalar>, dk dK: UnsafeMutablePointer<Scalar>,
        dv dV: UnsafeMutablePointer<Scalar>, dD: UnsafeMutablePointer<Scalar>, scratch: UnsafeMutablePointer<Scalar>
    ) {
        let qk = scratch
        let ad = scratch + jq * jk
        let dqk = ad + jo * jv
        let w = dqk + jq * jk
        Self.gemm(.transpose, .none, jq, jk, dk, 1, q, jq, k, jk, 0, qk, jk)
        // w[o, l] = Σ_v dy[v, o]·v[v, l]
        Self.gemm(.transpose, .none, jo, jv, dv, 1, dy, jo, v, jv, 0, w, jv)
        for a in 0..<jq { for j in 0..<jk { dqk[a * jk + j] = 0 } }
        for o in 0..<jo {
            for l in 0..<jv {
                var acc: Scalar = 0
                let wol = scale * w[o * jv + l]
                for a in 0..<jq {
                    for j in 0..<jk {
                        let idx = ((o * jq + a) * jk + j) * jv + l
                        acc += gate[idx] * qk[a * jk + j]
                        dD[idx] += qk[a * jk + j] * wol
                        dqk[a * jk + j] += gate[idx] * wol
                    }
                }
                ad[o * jv + l] = scale * acc
            }
        }
        // dv[v, l] += Σ_o dy[v, o]·ad[o, l]; dq[d, a] += Σ_j k[d, j]·dqk[a, j]; dk[d, j] += Σ_a q[d, a]·dqk[a, j]
        Self.gemm(.none, .none, dv, jv, jo, 1, dy, jo, ad, jv, 1, dV, jv)
        Self.gemm(.none, .transpose, dk, jq, jk, 1, k, jk, dqk, jk, 1, dq, jq)
        Self.gemm(.none, .none, dk, jk, jq, 1, q, jq, dqk, jk, 1, dK, jk)
    }

    /// Scratch elements of ``sourceBackward(dState:k:v:s:keyTilde:ds:dk:dv:scratch:)``.
    var sourceScratch: Int { jt * dk * jv }

    /// Backward of a source term `(S.kv)` given the adjoint of the state it enters: accumulates
    /// `dS[i, j, l] += Σ_{d,v} dC[(i,d), v]·k[d, j]·v[v, l]`, and the matching `dk`, `dv`.
    func sourceBackward(
        dState: UnsafePointer<Scalar>, k: UnsafePointer<Scalar>, v: UnsafePointer<Scalar>, s: UnsafePointer<Scalar>,
        keyTilde: UnsafePointer<Scalar>, ds: UnsafeMutablePointer<Scalar>, dk dK: UnsafeMutablePointer<Scalar>,
        dv dV: UnsafeMutablePointer<Scalar>, scratch z: UnsafeMutablePointer<Scalar>
    ) {
        // z[(i,d), l] = Σ_v dC[(i,d), v]·v[v, l]
        Self.gemm(.none, .none, jt * dk, jv, dv, 1, dState, dv, v, jv, 0, z, jv)
        for i in 0..<jt {
            for d in 0..<dk {
                let zrow = z + (i * dk + d) * jv
                for j in 0..<jk {
                    let srow = s + (i * jk + j) * jv
                    let dsrow = ds + (i * jk + j) * jv
                    let kv = k[d * jk + j]
                    var acc: Scalar = 0
                    for l in 0..<jv {
                        dsrow[l] += zrow[l] * kv
                        acc += zrow[l] * srow[l]
                    }
                    dK[d * jk + j] += acc
                }
            }
        }
        // dv[v, l] += Σ_{(i,d)} dC[(i,d), v]·K̃[(i,d), l]
        Self.gemm(.transpose, .none, dv, jv, jt * dk, 1, dState, dv, keyTilde, jv, 1, dV, jv)
    }

    /// Scratch elements of ``markBackward(state:dy:q:m:scale:dm:dq:scratch:)``.
    var markScratch: Int { jt * dk * jo }

    /// Backward of a state read `scale·q M C` with respect to `M` and `q` (the state's own adjoint,
    /// `scale·Q̃·dyᵀ`, is added by the caller through ``addReadAdjoint(queryTilde:dy:scale:into:)``).
    func markBackward(
        state: UnsafePointer<Scalar>, dy: UnsafePointer<Scalar>, q: UnsafePointer<Scalar>, m: UnsafePointer<Scalar>,
        scale: Scalar, dm: UnsafeMutablePointer<Scalar>, dq: UnsafeMutablePointer<Scalar>,
        scratch y2: UnsafeMutablePointer<Scalar>
    ) {
        // y2[(i,d), o] = scale·Σ_v C[(i,d), v]·dy[v, o]
        Self.gemm(.none, .none, jt * dk, jo, dv, scale, state, dv, dy, jo, 0, y2, jo)
        for i in 0..<jt {
            for d in 0..<dk {
                let row = y2 + (i * dk + d) * jo
                for o in 0..<jo {
                    let g = row[o]
                    for a in 0..<jq {
                        dm[(o * jq + a) * jt + i] += q[d * jq + a] * g
                        dq[d * jq + a] += m[(o * jq + a) * jt + i] * g
                    }
                }
            }
        }
    }

    /// `dC += scale·Q̃·dyᵀ`: the adjoint a state read sends to the state it reads.
    func addReadAdjoint(
        queryTilde: UnsafePointer<Scalar>, dy: UnsafePointer<Scalar>, scale: Scalar,
        into dState: UnsafeMutablePointer<Scalar>
    ) {
        Self.gemm(.none, .transpose, jt * dk, dv, jo, scale, queryTilde, jo, dy, jo, 1, dState, dv)
    }

    /// `dT += dOut·Cinᵀ` over the (d, v) entries: the gradient of a transition `Cout = T·Cin + …`.
    func transitionGradient(
        dOut: UnsafePointer<Scalar>, input: UnsafePointer<Scalar>, into dt: UnsafeMutablePointer<Scalar>
    ) {
        Self.gemm(.none, .transpose, jt, jt, dk * dv, 1, dOut, dk * dv, input, dk * dv, 1, dt, jt)
    }

    /// Copies a public-layout state `[DK, DV, JT]` into the internal `[JT, DK, DV]`.
    func importState(_ source: UnsafePointer<Scalar>, into out: UnsafeMutablePointer<Scalar>) {
        for d in 0..<dk {
            for v in 0..<dv {
                for i in 0..<jt { out[(i * dk + d) * dv + v] = source[(d * dv + v) * jt + i] }
            }
        }
    }

    /// Copies an internal state `[JT, DK, DV]` into the public layout `[DK, DV, JT]`.
    func exportState(_ source: UnsafePointer<Scalar>, into out: UnsafeMutablePointer<Scalar>) {
        for d in 0..<dk {
            for v in 0..<dv {
                for i in 0..<jt { out[(d * dv + v) * jt + i] = source[(i * dk + d) * dv + v] }
            }
        }
    }
}
