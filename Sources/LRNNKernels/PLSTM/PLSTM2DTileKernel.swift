import LRNNLinearAlgebra

extension PLSTM2D {
    /// The pointers of one call's inputs, in the order of ``PLSTM2D/inputList(_:)``: q, k, v, S_r,
    /// S_d, T_rl, T_du, T_ru, T_dl, M_l, M_u, D (an absent transition's pointer is never read).
    struct CellInputs<Scalar: LRNNScalar> {
        let q, k, v, sr, sd, trl, tdu, tru, tdl, ml, mu, d: UnsafePointer<Scalar>
        let hasTRU: Bool
        let hasTDL: Bool

        init(_ p: [UnsafePointer<Scalar>], hasTRU: Bool, hasTDL: Bool) {
            (q, k, v, sr, sd, trl, tdu, tru, tdl) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8])
            (ml, mu, d) = (p[9], p[10], p[11])
            self.hasTRU = hasTRU
            self.hasTDL = hasTDL
        }
    }

    /// One tile of the grid: its cells' outputs and its outgoing boundary states from its incoming
    /// ones, in a few GEMMs (the 2-D chunkwise form, docs/kernels/plstm.md).
    ///
    /// Edges of an nx × ny tile: `H(a, b)` enters cell (a, b) from the left (a = nx: leaves the tile
    /// on the right), index `a·ny + b`; `V(a, b)` enters cell (a, b) from above (b = ny: leaves at the
    /// bottom), index `(nx+1)·ny + b·nx + a`. `Path[e][s]` (JT×JT) is the sum over all paths from edge s
    /// to edge e of the products of the transitions met (`I` for e = s), by one sweep over the tile per
    /// source. Then, with `Qm` the marked queries, `Km` the sourced keys of each cell and edge kind
    /// and `G = Qm·Kmᵀ`:
    ///
    ///     Y = scale·(A·V + Q̂_left·C_left + Q̂_top·C_top)
    ///     C_out = Pbb·C_in + K̂·V
    ///
    /// where `A[(c,o),(c',l)]` contracts G with the paths from c's out-edges to c's in-edges (and the
    /// direct term on its diagonal), `Q̂` the queries with the paths from the incoming edges, `Pbb` the
    /// boundary-to-boundary paths and `K̂` the keys with the paths to the outgoing edges.
    struct TileKernel<Scalar: LRNNScalar> {
        let cell: PLSTMCell<Scalar>
        let tile: Int

        init(cell: PLSTMCell<Scalar>, tile: Int) {
            self.cell = cell
            self.tile = tile
            offsets = Self.blockOffsets(cell: cell, extent: tile)
        }

        /// The start of each workspace block, and the total at the end (computed once).
        private let offsets: [Int]

        static func blockOffsets(cell: PLSTMCell<Scalar>, extent: Int) -> [Int] {
            let c = cell
            let tile = extent
            let n = tile * tile
            let edges = 2 * tile * (tile + 1)
            let boundary = 2 * tile
            let sizes = [
                edges * edges * c.jt * c.jt, n * 2 * c.jt * c.jo * c.dk, n * 2 * c.jt * c.jv * c.dk,
                n * 2 * c.jt * c.jo * n * 2 * c.jt * c.jv, n * c.jo * n * c.jv, n * c.jv * c.dv,
                n * c.jo * boundary * c.jt * c.dk, boundary * c.jt * c.dk * n * c.jv, boundary * c.jt * boundary * c.jt,
                n * c.jo * c.dv, c.directScratch,
            ]
            var out = [0]
            for s in sizes { out.append(out.last! + s) }
            return out
        }

        /// Elements of one worker's workspace.
        var workspaceCount: Int { offsets.last! }

        /// `out (+)= a·b` for JT×JT matrices.
        @inline(__always)
        private func mul(_ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, _ out: UnsafeMutablePointer<Scalar>) {
            let jt = cell.jt
            for i in 0..<jt {
                for j in 0..<jt {
                    var acc: Scalar = 0
                    for m in 0..<jt { acc += a[i * jt + m] * b[m * jt + j] }
                    out[i * jt + j] += acc
                }
            }
        }

        /// Fills `Path` for an nx × ny tile whose first cell is row `row0` (cell (a, b) is row
        /// `row0 + (a·height + b)·heads`).
        func paths(
            nx: Int, ny: Int, rowOf: (Int, Int) -> Int, x: CellInputs<Scalar>, path: UnsafeMutablePointer<Scalar>
        ) {
            let jt = cell.jt
            let tt = jt * jt
            let hCount = (nx + 1) * ny
            let edges = hCount + nx * (ny + 1)
            path.update(repeating: 0, count: edges * edges * tt)
            func at(_ e: Int, _ s: Int) -> UnsafeMutablePointer<Scalar> { path + (e * edges + s) * tt }
            for s in 0..<edges {
                for i in 0..<jt { at(s, s)[i * jt + i] = 1 }
                // The cells reachable from s: a ≥ a_s, b ≥ b_s.
                let (a0, b0): (Int, Int) = s < hCount ? (s / ny, s % ny) : ((s - hCount) % nx, (s - hCount) / nx)
                if a0 >= nx || b0 >= ny { continue }
                for a in a0..<nx {
                    for b in b0..<ny {
                        let r = rowOf(a, b)
                        let hIn = at(a * ny + b, s)
                        let vIn = at(hCount + b * nx + a, s)
                        let rOut = (a + 1) * ny + b
                        let dOut = hCount + (b + 1) * nx + a
                        if rOut != s {
                            let o = at(rOut, s)
                            mul(x.trl + r * tt, hIn, o)
                            if x.hasTRU { mul(x.tru + r * tt, vIn, o) }
                        }
                        if dOut != s {
                            let o = at(dOut, s)
                            mul(x.tdu + r * tt, vIn, o)
                            if x.hasTDL { mul(x.tdl + r * tt, hIn, o) }
                        }
                    }
                }
            }
        }

        /// Runs one nx × ny tile. `left` holds the ny incoming row states and `top` the nx incoming
        /// column states (internal layout, contiguous); `right` and `bottom` receive the outgoing ones.
        /// Writes the cells' outputs when `output` is given.
        func run(
            nx: Int, ny: Int, rowOf: (Int, Int) -> Int, scale: Scalar, x: CellInputs<Scalar>,
            left: UnsafePointer<Scalar>, top: UnsafePointer<Scalar>, right: UnsafeMutablePointer<Scalar>,
            bottom: UnsafeMutablePointer<Scalar>, output: UnsafeMutablePointer<Scalar>?,
            workspace w: UnsafeMutablePointer<Scalar>
        ) {
            let c = cell
            let (dk, dv, jq, jk, jv, jt, jo) = (c.dk, c.dv, c.jq, c.jk, c.jv, c.jt, c.jo)
            let tt = jt * jt
            let off = offsets
            let path = w + off[0], qm = w + off[1], km = w + off[2], g = w + off[3], a = w + off[4]
            let vm = w + off[5], qh = w + off[6], kh = w + off[7], pbb = w + off[8], yy = w + off[9]
            let scratch = w + off[10]
            let n = nx * ny
            let hCount = (nx + 1) * ny
            let edges = hCount + nx * (ny + 1)
            let nIn = nx + ny
            func at(_ e: Int, _ s: Int) -> UnsafeMutablePointer<Scalar> { path + (e * edges + s) * tt }
            func inEdge(_ cellIndex: Int, _ kind: Int) -> Int {
                let (ca, cb) = (cellIndex / ny, cellIndex % ny)
                return kind == 0 ? ca * ny + cb : hCount + cb * nx + ca
            }
            func outEdge(_ cellIndex: Int, _ kind: Int) -> Int {
                let (ca, cb) = (cellIndex / ny, cellIndex % ny)
                return kind == 0 ? (ca + 1) * ny + cb : hCount + (cb + 1) * nx + ca
            }
            // Boundary edges: incoming (ny left, then nx top) and outgoing (ny right, then nx bottom).
            func boundaryIn(_ i: Int) -> Int { i < ny ? i : hCount + (i - ny) }
            func boundaryOut(_ i: Int) -> Int { i < ny ? nx * ny + i : hCount + ny * nx + (i - ny) }
            paths(nx: nx, ny: ny, rowOf: rowOf, x: x, path: path)
            // Km[((c·2 + e)·JT + i)·JV + l, d] = Σ_j S_e[i,j,l]·k[d,j]; Vm[(c,l), v] = v[v,l].
            for ci in 0..<n {
                let r = rowOf(ci / ny, ci % ny)
                let kt = x.k + r * c.kCount, vt = x.v + r * c.vCount
                for e in 0..<2 {
                    let st = (e == 0 ? x.sr : x.sd) + r * c.sCount
                    for i in 0..<jt {
                        for l in 0..<jv {
                            let dst = km + (((ci * 2 + e) * jt + i) * jv + l) * dk
                            for d in 0..<dk {
                                var acc: Scalar = 0
                                for j in 0..<jk { acc += st[(i * jk + j) * jv + l] * kt[d * jk + j] }
                                dst[d] = acc
                            }
                        }
                    }
                }
                for l in 0..<jv {
                    let dst = vm + (ci * jv + l) * dv
                    for vi in 0..<dv { dst[vi] = vt[vi * jv + l] }
                }
            }
            if let output {
                // Qm[((c·2 + e)·JT + i)·JO + o, d] = Σ_a q[d,a]·M_e[o,a,i].
                for ci in 0..<n {
                    let r = rowOf(ci / ny, ci % ny)
                    let qt = x.q + r * c.qCount
                    for e in 0..<2 {
                        let mt = (e == 0 ? x.ml : x.mu) + r * c.mCount
                        for i in 0..<jt {
                            for o in 0..<jo {
                                let dst = qm + (((ci * 2 + e) * jt + i) * jo + o) * dk
                                for d in 0..<dk {
                                    var acc: Scalar = 0
                                    for aa in 0..<jq { acc += qt[d * jq + aa] * mt[(o * jq + aa) * jt + i] }
                                    dst[d] = acc
                                }
                            }
                        }
                    }
                }
                let gCols = n * 2 * jt * jv
                PLSTMCell<Scalar>.gemm(.none, .transpose, n * 2 * jt * jo, gCols, dk, 1, qm, dk, km, dk, 0, g, gCols)
                let aCols = n * jv
                for ci in 0..<n {
                    let (ca, cb) = (ci / ny, ci % ny)
                    for o in 0..<jo {
                        let arow = a + (ci * jo + o) * aCols
                        for u in 0..<(n * jv) { arow[u] = 0 }
                        for c2 in 0..<n where c2 != ci && c2 / ny <= ca && c2 % ny <= cb {
                            for l in 0..<jv {
                                var acc: Scalar = 0
                                for ein in 0..<2 {
                                    let target = inEdge(ci, ein)
                                    for eout in 0..<2 {
                                        let pm = at(target, outEdge(c2, eout))
                                        for i in 0..<jt {
                                            let grow = g + (((ci * 2 + ein) * jt + i) * jo + o) * gCols
                                            for i2 in 0..<jt {
                                                acc += grow[((c2 * 2 + eout) * jt + i2) * jv + l] * pm[i * jt + i2]
                                            }
                                        }
                                    }
                                }
                                arow[c2 * jv + l] = acc
                            }
                        }
                    }
                    // The direct term on the diagonal block.
                    let r = rowOf(ca, cb)
                    let qt = x.q + r * c.qCount, kt = x.k + r * c.kCount, dt = x.d + r * c.dCount
                    PLSTMCell<Scalar>.gemm(.transpose, .none, jq, jk, dk, 1, qt, jq, kt, jk, 0, scratch, jk)
                    for o in 0..<jo {
                        for l in 0..<jv {
                            var acc: Scalar = 0
                            for aa in 0..<jq {
                                for j in 0..<jk { acc += dt[((o * jq + aa) * jk + j) * jv + l] * scratch[aa * jk + j] }
                            }
                            a[(ci * jo + o) * aCols + ci * jv + l] = acc
                        }
                    }
                }
                // Q̂[(c,o),(b,i',d)] = Σ_{e,i} Qm[((c·2+e)·JT+i)·JO+o, d]·Path[in(c,e)][boundaryIn(b)][i,i'].
                let qhCols = nIn * jt * dk
                for ci in 0..<n {
                    for o in 0..<jo {
                        let dst = qh + (ci * jo + o) * qhCols
                        for u in 0..<qhCols { dst[u] = 0 }
                        for bi in 0..<nIn {
                            let src = boundaryIn(bi)
                            for e in 0..<2 {
                                let pm = at(inEdge(ci, e), src)
                                for i in 0..<jt {
                                    let qrow = qm + (((ci * 2 + e) * jt + i) * jo + o) * dk
                                    for i2 in 0..<jt {
                                        let f = pm[i * jt + i2]
                                        if f == 0 { continue }
                                        let out = dst + (bi * jt + i2) * dk
                                        for d in 0..<dk { out[d] += f * qrow[d] }
                                    }
                                }
                            }
                        }
                    }
                }
                PLSTMCell<Scalar>.gemm(.none, .none, n * jo, dv, n * jv, scale, a, aCols, vm, dv, 0, yy, dv)
                PLSTMCell<Scalar>.gemm(.none, .none, n * jo, dv, ny * jt * dk, scale, qh, qhCols, left, dv, 1, yy, dv)
                PLSTMCell<Scalar>.gemm(
                    .none, .none, n * jo, dv, nx * jt * dk, scale, qh + ny * jt * dk, qhCols, top, dv, 1, yy, dv)
                for ci in 0..<n {
                    let dst = output + rowOf(ci / ny, ci % ny) * c.yCount
                    for o in 0..<jo {
                        let src = yy + (ci * jo + o) * dv
                        for vi in 0..<dv { dst[vi * jo + o] = src[vi] }
                    }
                }
            }
            // Pbb[(b,i),(b',i')] = Path[boundaryOut(b)][boundaryIn(b')][i,i'].
            let pCols = nIn * jt
            for bo in 0..<nIn {
                for bi in 0..<nIn {
                    let pm = at(boundaryOut(bo), boundaryIn(bi))
                    for i in 0..<jt { for i2 in 0..<jt { pbb[(bo * jt + i) * pCols + bi * jt + i2] = pm[i * jt + i2] } }
                }
            }
            // K̂[(b,i,d),(c,l)] = Σ_{e,i'} Path[boundaryOut(b)][out(c,e)][i,i']·Km[((c·2+e)·JT+i')·JV+l, d].
            let khCols = n * jv
            for bo in 0..<nIn {
                let target = boundaryOut(bo)
                for i in 0..<jt {
                    for d in 0..<dk {
                        let dst = kh + ((bo * jt + i) * dk + d) * khCols
                        for u in 0..<khCols { dst[u] = 0 }
                    }
                }
                for ci in 0..<n {
                    for e in 0..<2 {
                        let pm = at(target, outEdge(ci, e))
                        for i in 0..<jt {
                            for i2 in 0..<jt {
                                let f = pm[i * jt + i2]
                                if f == 0 { continue }
                                for l in 0..<jv {
                                    let src = km + (((ci * 2 + e) * jt + i2) * jv + l) * dk
                                    let col = ci * jv + l
                                    for d in 0..<dk { kh[((bo * jt + i) * dk + d) * khCols + col] += f * src[d] }
                                }
                            }
                        }
                    }
                }
            }
            // C_out = Pbb·C_in + K̂·V, the right block then the bottom block.
            let sd = dk * dv
            func outgoing(_ dst: UnsafeMutablePointer<Scalar>, rows: Int, first: Int) {
                PLSTMCell<Scalar>.gemm(
                    .none, .none, rows * jt, sd, ny * jt, 1, pbb + first * jt * pCols, pCols, left, sd, 0, dst, sd)
                PLSTMCell<Scalar>.gemm(
                    .none, .none, rows * jt, sd, nx * jt, 1, pbb + first * jt * pCols + ny * jt, pCols, top, sd, 1, dst,
                    sd)
                PLSTMCell<Scalar>.gemm(
                    .none, .none, rows * jt * dk, dv, n * jv, 1, kh + first * jt * dk * khCols, khCols, vm, dv, 1, dst,
                    dv)
            }
            outgoing(right, rows: ny, first: 0)
            outgoing(bottom, rows: nx, first: ny)
        }
    }
}
