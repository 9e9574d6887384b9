import LRNNLinearAlgebra

extension PLSTM1D {
    /// The chunkwise form for one (sequence, head) work item, chunk by chunk.
    ///
    /// With `P[t][s] = T_{t−1}···T_s` the transition products inside a chunk of n tokens (`P[t][t] = I`),
    /// the state before token t is `C_t = P[t][0]·C_0 + Σ_{s<t} P[t][s+1]·K̃_s·v_sᵀ`, so
    ///
    ///     Y = scale·(A·V + Q̂·C_0),   A[(t,o),(s,l)] = Σ_{i,i'} G[(t,i,o),(s,i',l)]·P[t][s+1][i,i']  (s < t)
    ///     C_n = P[n][0]·C_0 + K̂·V,    K̂[(i,d),(s,l)] = Σ_{i'} P[n][s+1][i,i']·K̃_s[(i',d),l]
    ///
    /// with `G = Qm·Kmᵀ` (one GEMM over DK), `Q̂[(t,o),(i',d)] = Σ_i Q̃_t[(i,d),o]·P[t][0][i,i']`, and the
    /// direct term on A's diagonal blocks. Every product over DK or DV is a BLAS call.
    ///
    /// Workspace (``workspaceCount`` elements per worker), L the chunk size: `P` (L+1)²·JT², `Qm`
    /// L·JT·JO × DK, `Km` L·JT·JV × DK, `G` L·JT·JO × L·JT·JV, `A` L·JO × L·JV, `Vm` L·JV × DV, `Qh`
    /// L·JO × JT·DK, `Kh` JT·DK × L·JV, `Y` L·JO × DV, two states and the direct term's scratch.
    struct ChunkKernel<Scalar: LRNNScalar> {
        let cell: PLSTMCell<Scalar>
        let chunkSize: Int

        init(cell: PLSTMCell<Scalar>, chunkSize: Int) {
            self.cell = cell
            self.chunkSize = chunkSize
            offsets = Self.blockOffsets(cell: cell, extent: chunkSize)
        }

        /// The start of each workspace block, and the total at the end (computed once).
        private let offsets: [Int]

        static func blockOffsets(cell: PLSTMCell<Scalar>, extent: Int) -> [Int] {
            let c = cell
            let l = extent
            let sizes = [
                (l + 1) * (l + 1) * c.jt * c.jt, l * c.jt * c.jo * c.dk, l * c.jt * c.jv * c.dk,
                l * c.jt * c.jo * l * c.jt * c.jv, l * c.jo * l * c.jv, l * c.jv * c.dv, l * c.jo * c.jt * c.dk,
                c.jt * c.dk * l * c.jv, l * c.jo * c.dv, c.stateCount, c.stateCount, c.directScratch,
            ]
            var out = [0]
            for s in sizes { out.append(out.last! + s) }
            return out
        }

        /// Elements of one worker's workspace.
        var workspaceCount: Int { offsets.last! }

        /// Runs the tokens `start ..< end` of batch entry `batch`, head `head`, from the internal state
        /// `state` (advanced in place). Writes the outputs when `output` is given, and each chunk-start
        /// state into `chunkStates` (one state per chunk, in order) when given.
        func run(
            batch: Int, head: Int, start: Int, end: Int, tokens: Int, heads: Int, scale: Scalar,
            inputs x: [UnsafePointer<Scalar>], output: UnsafeMutablePointer<Scalar>?,
            state: UnsafeMutablePointer<Scalar>, chunkStates: UnsafeMutablePointer<Scalar>?,
            workspace w: UnsafeMutablePointer<Scalar>
        ) {
            let c = cell
            let (dk, dv, jq, jk, jv, jt, jo) = (c.dk, c.dv, c.jq, c.jk, c.jv, c.jt, c.jo)
            let (q, k, v, s, tr, m, dg) = (x[0], x[1], x[2], x[3], x[4], x[5], x[6])
            let off = offsets
            let pp = w + off[0], qm = w + off[1], km = w + off[2], g = w + off[3], a = w + off[4]
            let vm = w + off[5], qh = w + off[6], kh = w + off[7], yy = w + off[8], c2 = w + off[9]
            let scratch = w + off[11]
            let tt = jt * jt
            let l1 = chunkSize + 1
            var t0 = start
            var chunk = 0
            while t0 < end {
                let n = Swift.min(chunkSize, end - t0)
                if let chunkStates { (chunkStates + chunk * c.stateCount).update(from: state, count: c.stateCount) }
                chunk += 1
                func row(_ t: Int) -> Int { (batch * tokens + t0 + t) * heads + head }
                func pAt(_ t: Int, _ u: Int) -> UnsafeMutablePointer<Scalar> { pp + (t * l1 + u) * tt }
                // Transition products P[t][u], u ≤ t ≤ n.
                for t in 0...n {
                    let diag = pAt(t, t)
                    for i in 0..<tt { diag[i] = 0 }
                    for i in 0..<jt { diag[i * jt + i] = 1 }
                    if t == 0 { continue }
                    let tm = tr + row(t - 1) * c.tCount
                    for u in 0..<t {
                        if jt == 1 {
                            pAt(t, u)[0] = tm[0] * pAt(t - 1, u)[0]
                        } else {
                            PLSTMCell<Scalar>.gemm(
                                .none, .none, jt, jt, jt, 1, tm, jt, pAt(t - 1, u), jt, 0, pAt(t, u), jt)
                        }
                    }
                }
                // Packed keys and values (and queries when the outputs are wanted).
                for t in 0..<n {
                    let r = row(t)
                    let kt = k + r * c.kCount, st = s + r * c.sCount, vt = v + r * c.vCount
                    for i in 0..<jt {
                        for l in 0..<jv {
                            let dst = km + ((t * jt + i) * jv + l) * dk
                            for d in 0..<dk {
                                var acc: Scalar = 0
                                for j in 0..<jk { acc += st[(i * jk + j) * jv + l] * kt[d * jk + j] }
                                dst[d] = acc
                            }
                        }
                    }
                    for l in 0..<jv {
                        let dst = vm + (t * jv + l) * dv
                        for vi in 0..<dv { dst[vi] = vt[vi * jv + l] }
                    }
                }
                if let output {
                    for t in 0..<n {
                        let r = row(t)
                        let qt = q + r * c.qCount, mt = m + r * c.mCount
                        for i in 0..<jt {
                            for o in 0..<jo {
                                let dst = qm + ((t * jt + i) * jo + o) * dk
                                for d in 0..<dk {
                                    var acc: Scalar = 0
                                    for aa in 0..<jq { acc += qt[d * jq + aa] * mt[(o * jq + aa) * jt + i] }
                                    dst[d] = acc
                                }
                            }
                        }
                    }
                    let gCols = n * jt * jv
                    PLSTMCell<Scalar>.gemm(.none, .transpose, n * jt * jo, gCols, dk, 1, qm, dk, km, dk, 0, g, gCols)
                    let aCols = n * jv
                    for t in 0..<n {
                        for o in 0..<jo {
                            let arow = a + (t * jo + o) * aCols
                            for u in 0..<t {
                                let pm = pAt(t, u + 1)
                                for l in 0..<jv {
                                    var acc: Scalar = 0
                                    for i in 0..<jt {
                                        let grow = g + ((t * jt + i) * jo + o) * gCols + u * jt * jv + l
                                        for i2 in 0..<jt { acc += grow[i2 * jv] * pm[i * jt + i2] }
                                    }
                                    arow[u * jv + l] = acc
                                }
                            }
                            for u in t..<n { for l in 0..<jv { arow[u * jv + l] = 0 } }
                        }
                        // The direct term on the diagonal block: Σ_{a,j} D[o,a,j,l]·(qᵀk)[a,j].
                        let r = row(t)
                        let qt = q + r * c.qCount, kt = k + r * c.kCount, dt = dg + r * c.dCount
                        PLSTMCell<Scalar>.gemm(.transpose, .none, jq, jk, dk, 1, qt, jq, kt, jk, 0, scratch, jk)
                        for o in 0..<jo {
                            for l in 0..<jv {
                                var acc: Scalar = 0
                                for aa in 0..<jq {
                                    for j in 0..<jk {
                                        acc += dt[((o * jq + aa) * jk + j) * jv + l] * scratch[aa * jk + j]
                                    }
                                }
                                a[(t * jo + o) * aCols + t * jv + l] = acc
                            }
                        }
                    }
                    // Q̂[(t,o),(i',d)] = Σ_i Qm[(t,i,o),d]·P[t][0][i,i'].
                    let qhCols = jt * dk
                    for t in 0..<n {
                        let pm = pAt(t, 0)
                        for o in 0..<jo {
                            let dst = qh + (t * jo + o) * qhCols
                            for i2 in 0..<jt {
                                for d in 0..<dk { dst[i2 * dk + d] = 0 }
                                for i in 0..<jt {
                                    let f = pm[i * jt + i2]
                                    let src = qm + ((t * jt + i) * jo + o) * dk
                                    for d in 0..<dk { dst[i2 * dk + d] += f * src[d] }
                                }
                            }
                        }
                    }
                    PLSTMCell<Scalar>.gemm(.none, .none, n * jo, dv, n * jv, scale, a, aCols, vm, dv, 0, yy, dv)
                    PLSTMCell<Scalar>.gemm(.none, .none, n * jo, dv, jt * dk, scale, qh, qhCols, state, dv, 1, yy, dv)
                    for t in 0..<n {
                        let dst = output + row(t) * c.yCount
                        for o in 0..<jo {
                            let src = yy + (t * jo + o) * dv
                            for vi in 0..<dv { dst[vi * jo + o] = src[vi] }
                        }
                    }
                }
                // C_n = P[n][0]·C_0 + K̂·V.
                let khCols = n * jv
                for i in 0..<jt {
                    for d in 0..<dk {
                        let dst = kh + (i * dk + d) * khCols
                        for u in 0..<n {
                            let pm = pAt(n, u + 1)
                            for l in 0..<jv {
                                var acc: Scalar = 0
                                for i2 in 0..<jt { acc += pm[i * jt + i2] * km[((u * jt + i2) * jv + l) * dk + d] }
                                dst[u * jv + l] = acc
                            }
                        }
                    }
                }
                c.transition(pAt(n, 0), state, into: c2, beta: 0)
                PLSTMCell<Scalar>.gemm(.none, .none, jt * dk, dv, n * jv, 1, kh, khCols, vm, dv, 1, c2, dv)
                state.update(from: c2, count: c.stateCount)
                t0 += n
            }
        }
    }
}
