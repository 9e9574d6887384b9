import LRNNLinearAlgebra

extension PLSTM2D {
    /// The contractions of one cell on the public layouts, as plain loops (the reference's building
    /// blocks; states are `[DK, DV, JT]` arrays).
    struct Naive<Scalar: LRNNScalar> {
        let c: PLSTMCell<Scalar>

        /// `out[d,v,i] += Σ_j T[i,j]·C[d,v,j]`.
        func transition(_ t: ArraySlice<Scalar>, _ state: [Scalar], into out: inout [Scalar]) {
            let jt = c.jt
            let t0 = t.startIndex
            for dvv in 0..<(c.dk * c.dv) {
                for i in 0..<jt {
                    var acc: Scalar = 0
                    for j in 0..<jt { acc += t[t0 + i * jt + j] * state[dvv * jt + j] }
                    out[dvv * jt + i] += acc
                }
            }
        }

        /// Backward of ``transition(_:_:into:)``: `dT[i,j] += Σ dOut[d,v,i]·C[d,v,j]`, `dC[d,v,j] += Σ_i T[i,j]·dOut[d,v,i]`.
        func transitionBackward(
            _ t: ArraySlice<Scalar>, _ state: [Scalar], dOut: [Scalar], dT: inout [Scalar], dTOffset: Int,
            dState: inout [Scalar]
        ) {
            let jt = c.jt
            let t0 = t.startIndex
            for dvv in 0..<(c.dk * c.dv) {
                for i in 0..<jt {
                    let g = dOut[dvv * jt + i]
                    for j in 0..<jt {
                        dT[dTOffset + i * jt + j] += g * state[dvv * jt + j]
                        dState[dvv * jt + j] += t[t0 + i * jt + j] * g
                    }
                }
            }
        }

        /// `out[d,v,i] += Σ_{j,l} S[i,j,l]·k[d,j]·v[v,l]`.
        func source(_ s: ArraySlice<Scalar>, _ k: ArraySlice<Scalar>, _ v: ArraySlice<Scalar>, into out: inout [Scalar])
        {
            let (s0, k0, v0) = (s.startIndex, k.startIndex, v.startIndex)
            for d in 0..<c.dk {
                for vi in 0..<c.dv {
                    for i in 0..<c.jt {
                        var acc: Scalar = 0
                        for j in 0..<c.jk {
                            for l in 0..<c.jv {
                                acc += s[s0 + (i * c.jk + j) * c.jv + l] * k[k0 + d * c.jk + j] * v[v0 + vi * c.jv + l]
                            }
                        }
                        out[(d * c.dv + vi) * c.jt + i] += acc
                    }
                }
            }
        }

        /// Backward of ``source(_:_:_:into:)`` into `dS`, `dk`, `dv` at the given offsets.
        func sourceBackward(
            _ s: ArraySlice<Scalar>, _ k: ArraySlice<Scalar>, _ v: ArraySlice<Scalar>, dOut: [Scalar],
            dS: inout [Scalar], dSOffset: Int, dk: inout [Scalar], dkOffset: Int, dv: inout [Scalar], dvOffset: Int
        ) {
            let (s0, k0, v0) = (s.startIndex, k.startIndex, v.startIndex)
            for d in 0..<c.dk {
                for vi in 0..<c.dv {
                    for i in 0..<c.jt {
                        let g = dOut[(d * c.dv + vi) * c.jt + i]
                        for j in 0..<c.jk {
                            for l in 0..<c.jv {
                                let sv = s[s0 + (i * c.jk + j) * c.jv + l]
                                let kv = k[k0 + d * c.jk + j]
                                let vv = v[v0 + vi * c.jv + l]
                                dS[dSOffset + (i * c.jk + j) * c.jv + l] += g * kv * vv
                                dk[dkOffset + d * c.jk + j] += g * sv * vv
                                dv[dvOffset + vi * c.jv + l] += g * sv * kv
                            }
                        }
                    }
                }
            }
        }

        /// `y[v,o] += scale·Σ_{d,a,i} q[d,a]·M[o,a,i]·C[d,v,i]`.
        func read(
            _ m: ArraySlice<Scalar>, _ q: ArraySlice<Scalar>, _ state: [Scalar], scale: Scalar, into y: inout [Scalar],
            at y0: Int
        ) {
            let (m0, q0) = (m.startIndex, q.startIndex)
            for vi in 0..<c.dv {
                for o in 0..<c.jo {
                    var acc: Scalar = 0
                    for d in 0..<c.dk {
                        for a in 0..<c.jq {
                            for i in 0..<c.jt {
                                acc +=
                                    q[q0 + d * c.jq + a] * m[m0 + (o * c.jq + a) * c.jt + i]
                                    * state[(d * c.dv + vi) * c.jt + i]
                            }
                        }
                    }
                    y[y0 + vi * c.jo + o] += scale * acc
                }
            }
        }

        /// Backward of ``read(_:_:_:scale:into:at:)`` into `dM`, `dq` and the state's adjoint.
        func readBackward(
            _ m: ArraySlice<Scalar>, _ q: ArraySlice<Scalar>, _ state: [Scalar], scale: Scalar, dy: ArraySlice<Scalar>,
            dM: inout [Scalar], dMOffset: Int, dq: inout [Scalar], dqOffset: Int, dState: inout [Scalar]
        ) {
            let (m0, q0, y0) = (m.startIndex, q.startIndex, dy.startIndex)
            for vi in 0..<c.dv {
                for o in 0..<c.jo {
                    let g = scale * dy[y0 + vi * c.jo + o]
                    for d in 0..<c.dk {
                        for a in 0..<c.jq {
                            let qa = q[q0 + d * c.jq + a]
                            for i in 0..<c.jt {
                                let mm = m[m0 + (o * c.jq + a) * c.jt + i]
                                let cc = state[(d * c.dv + vi) * c.jt + i]
                                dM[dMOffset + (o * c.jq + a) * c.jt + i] += g * qa * cc
                                dq[dqOffset + d * c.jq + a] += g * mm * cc
                                dState[(d * c.dv + vi) * c.jt + i] += g * qa * mm
                            }
                        }
                    }
                }
            }
        }

        /// `y[v,o] += scale·Σ_{d,a,j,l} q[d,a]·D[o,a,j,l]·k[d,j]·v[v,l]`, and with `dy` its backward.
        func direct(
            _ gate: ArraySlice<Scalar>, _ q: ArraySlice<Scalar>, _ k: ArraySlice<Scalar>, _ v: ArraySlice<Scalar>,
            scale: Scalar, into y: inout [Scalar], at yOffset: Int
        ) {
            let (g0, q0, k0, v0) = (gate.startIndex, q.startIndex, k.startIndex, v.startIndex)
            for vi in 0..<c.dv {
                for o in 0..<c.jo {
                    var acc: Scalar = 0
                    for d in 0..<c.dk {
                        for a in 0..<c.jq {
                            for j in 0..<c.jk {
                                for l in 0..<c.jv {
                                    acc +=
                                        q[q0 + d * c.jq + a] * gate[g0 + ((o * c.jq + a) * c.jk + j) * c.jv + l]
                                        * k[k0 + d * c.jk + j] * v[v0 + vi * c.jv + l]
                                }
                            }
                        }
                    }
                    y[yOffset + vi * c.jo + o] += scale * acc
                }
            }
        }

        /// Backward of ``direct(_:_:_:_:scale:into:at:)``.
        func directBackward(
            _ gate: ArraySlice<Scalar>, _ q: ArraySlice<Scalar>, _ k: ArraySlice<Scalar>, _ v: ArraySlice<Scalar>,
            scale: Scalar, dy: ArraySlice<Scalar>, grads g: inout Inputs<Scalar>, cellRow r: Int
        ) {
            let (g0, q0, k0, v0, y0) = (gate.startIndex, q.startIndex, k.startIndex, v.startIndex, dy.startIndex)
            for vi in 0..<c.dv {
                for o in 0..<c.jo {
                    let gy = scale * dy[y0 + vi * c.jo + o]
                    for d in 0..<c.dk {
                        for a in 0..<c.jq {
                            for j in 0..<c.jk {
                                for l in 0..<c.jv {
                                    let idx = ((o * c.jq + a) * c.jk + j) * c.jv + l
                                    let (qa, dg) = (q[q0 + d * c.jq + a], gate[g0 + idx])
                                    let (kv, vv) = (k[k0 + d * c.jk + j], v[v0 + vi * c.jv + l])
                                    g.q.scalars[r * c.qCount + d * c.jq + a] += gy * dg * kv * vv
                                    g.D.scalars[r * c.dCount + idx] += gy * qa * kv * vv
                                    g.k.scalars[r * c.kCount + d * c.jk + j] += gy * qa * dg * vv
                                    g.v.scalars[r * c.vCount + vi * c.jv + l] += gy * qa * dg * kv
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The naive cell-by-cell recurrence in row-major order (x outer, y inner), written for clarity:
    /// the test oracle. With `keepStates`, also returns every cell's incoming states `Cl`, `Cu`
    /// (public layout) per (b, h) and cell.
    static func runReference<Scalar: LRNNScalar>(
        _ p: Problem<Scalar>, _ x: Inputs<Scalar>, keepStates: Bool
    ) -> (output: Tensor<Scalar>, final: BoundaryStates<Scalar>, left: [[[Scalar]]], up: [[[Scalar]]]) {
        let c = p.cell
        let n = Naive(c: c)
        let ss = c.stateCount
        var y = Tensor<Scalar>.zeros(p.outputShape)
        var right = Tensor<Scalar>.zeros(p.rowStateShape)
        var bottom = Tensor<Scalar>.zeros(p.columnStateShape)
        var keptLeft: [[[Scalar]]] = []
        var keptUp: [[[Scalar]]] = []
        func block(_ t: Tensor<Scalar>, _ r: Int, _ size: Int) -> ArraySlice<Scalar> {
            t.scalars[(r * size)..<((r + 1) * size)]
        }
        for b in 0..<p.batch {
            for h in 0..<p.heads {
                var rEdge = [[Scalar]](repeating: [], count: p.width * p.height)
                var dEdge = [[Scalar]](repeating: [], count: p.width * p.height)
                var lefts: [[Scalar]] = []
                var ups: [[Scalar]] = []
                for xi in 0..<p.width {
                    for yi in 0..<p.height {
                        let cl =
                            xi > 0
                            ? rEdge[(xi - 1) * p.height + yi]
                            : x.C_left.map { Array(block($0, (b * p.height + yi) * p.heads + h, ss)) }
                                ?? [Scalar](repeating: 0, count: ss)
                        let cu =
                            yi > 0
                            ? dEdge[xi * p.height + yi - 1]
                            : x.C_top.map { Array(block($0, (b * p.width + xi) * p.heads + h, ss)) }
                                ?? [Scalar](repeating: 0, count: ss)
                        let r = p.row(b, xi, yi, h)
                        let (q, k, v) = (block(x.q, r, c.qCount), block(x.k, r, c.kCount), block(x.v, r, c.vCount))
                        n.read(block(x.M_l, r, c.mCount), q, cl, scale: p.scale, into: &y.scalars, at: r * c.yCount)
                        n.read(block(x.M_u, r, c.mCount), q, cu, scale: p.scale, into: &y.scalars, at: r * c.yCount)
                        n.direct(block(x.D, r, c.dCount), q, k, v, scale: p.scale, into: &y.scalars, at: r * c.yCount)
                        var rOut = [Scalar](repeating: 0, count: ss)
                        n.transition(block(x.T_rl, r, c.tCount), cl, into: &rOut)
                        if let t = x.T_ru { n.transition(block(t, r, c.tCount), cu, into: &rOut) }
                        n.source(block(x.S_r, r, c.sCount), k, v, into: &rOut)
                        var dOut = [Scalar](repeating: 0, count: ss)
                        n.transition(block(x.T_du, r, c.tCount), cu, into: &dOut)
                        if let t = x.T_dl { n.transition(block(t, r, c.tCount), cl, into: &dOut) }
                        n.source(block(x.S_d, r, c.sCount), k, v, into: &dOut)
                        rEdge[xi * p.height + yi] = rOut
                        dEdge[xi * p.height + yi] = dOut
                        if keepStates {
                            lefts.append(cl)
                            ups.append(cu)
                        }
                    }
                }
                for yi in 0..<p.height {
                    let o = ((b * p.height + yi) * p.heads + h) * ss
                    // An empty grid (X = 0) passes the left boundary straight through.
                    let src =
                        p.width > 0
                        ? rEdge[(p.width - 1) * p.height + yi]
                        : x.C_left.map { Array($0.scalars[o..<(o + ss)]) } ?? [Scalar](repeating: 0, count: ss)
                    for e in 0..<ss { right.scalars[o + e] = src[e] }
                }
                for xi in 0..<p.width {
                    let o = ((b * p.width + xi) * p.heads + h) * ss
                    let src =
                        p.height > 0
                        ? dEdge[xi * p.height + p.height - 1]
                        : x.C_top.map { Array($0.scalars[o..<(o + ss)]) } ?? [Scalar](repeating: 0, count: ss)
                    for e in 0..<ss { bottom.scalars[o + e] = src[e] }
                }
                if keepStates {
                    keptLeft.append(lefts)
                    keptUp.append(ups)
                }
            }
        }
        return (y, BoundaryStates(right: right, bottom: bottom), keptLeft, keptUp)
    }

    /// The naive backward: the cell recurrence differentiated cell by cell in reverse row-major order,
    /// from the states the naive forward kept.
    static func runReferenceBackward<Scalar: LRNNScalar>(
        _ p: Problem<Scalar>, _ x: Inputs<Scalar>, outputGradient: Tensor<Scalar>?,
        finalStateGradient: BoundaryStates<Scalar>?
    ) -> Inputs<Scalar> {
        let c = p.cell
        let n = Naive(c: c)
        let ss = c.stateCount
        let kept = runReference(p, x, keepStates: true)
        var g = Inputs<Scalar>(
            q: .zeros(x.q.shape), k: .zeros(x.k.shape), v: .zeros(x.v.shape), S_r: .zeros(x.S_r.shape),
            S_d: .zeros(x.S_d.shape), T_rl: .zeros(x.T_rl.shape), T_du: .zeros(x.T_du.shape),
            T_ru: x.T_ru.map { .zeros($0.shape) }, T_dl: x.T_dl.map { .zeros($0.shape) }, M_l: .zeros(x.M_l.shape),
            M_u: .zeros(x.M_u.shape), D: .zeros(x.D.shape), C_left: x.C_left.map { .zeros($0.shape) },
            C_top: x.C_top.map { .zeros($0.shape) })
        var dTru = g.T_ru?.scalars ?? []
        var dTdl = g.T_dl?.scalars ?? []
        func block(_ t: Tensor<Scalar>, _ r: Int, _ size: Int) -> ArraySlice<Scalar> {
            t.scalars[(r * size)..<((r + 1) * size)]
        }
        var item = 0
        for b in 0..<p.batch {
            for h in 0..<p.heads {
                let lefts = kept.left[item]
                let ups = kept.up[item]
                item += 1
                // Adjoints of each cell's incoming edges.
                var dLeft = [[Scalar]](repeating: [], count: p.width * p.height)
                var dUp = [[Scalar]](repeating: [], count: p.width * p.height)
                for xi in stride(from: p.width - 1, through: 0, by: -1) {
                    for yi in stride(from: p.height - 1, through: 0, by: -1) {
                        let cellIndex = xi * p.height + yi
                        let dR =
                            xi + 1 < p.width
                            ? dLeft[(xi + 1) * p.height + yi]
                            : finalStateGradient.map { Array(block($0.right, (b * p.height + yi) * p.heads + h, ss)) }
                                ?? [Scalar](repeating: 0, count: ss)
                        let dD =
                            yi + 1 < p.height
                            ? dUp[xi * p.height + yi + 1]
                            : finalStateGradient.map { Array(block($0.bottom, (b * p.width + xi) * p.heads + h, ss)) }
                                ?? [Scalar](repeating: 0, count: ss)
                        let (cl, cu) = (lefts[cellIndex], ups[cellIndex])
                        let r = p.row(b, xi, yi, h)
                        let (q, k, v) = (block(x.q, r, c.qCount), block(x.k, r, c.kCount), block(x.v, r, c.vCount))
                        var dl = [Scalar](repeating: 0, count: ss)
                        var du = [Scalar](repeating: 0, count: ss)
                        n.transitionBackward(
                            block(x.T_rl, r, c.tCount), cl, dOut: dR, dT: &g.T_rl.scalars, dTOffset: r * c.tCount,
                            dState: &dl)
                        if let t = x.T_ru {
                            n.transitionBackward(
                                block(t, r, c.tCount), cu, dOut: dR, dT: &dTru, dTOffset: r * c.tCount, dState: &du)
                        }
                        n.transitionBackward(
                            block(x.T_du, r, c.tCount), cu, dOut: dD, dT: &g.T_du.scalars, dTOffset: r * c.tCount,
                            dState: &du)
                        if let t = x.T_dl {
                            n.transitionBackward(
                                block(t, r, c.tCount), cl, dOut: dD, dT: &dTdl, dTOffset: r * c.tCount, dState: &dl)
                        }
                        n.sourceBackward(
                            block(x.S_r, r, c.sCount), k, v, dOut: dR, dS: &g.S_r.scalars, dSOffset: r * c.sCount,
                            dk: &g.k.scalars, dkOffset: r * c.kCount, dv: &g.v.scalars, dvOffset: r * c.vCount)
                        n.sourceBackward(
                            block(x.S_d, r, c.sCount), k, v, dOut: dD, dS: &g.S_d.scalars, dSOffset: r * c.sCount,
                            dk: &g.k.scalars, dkOffset: r * c.kCount, dv: &g.v.scalars, dvOffset: r * c.vCount)
                        if let dy = outputGradient {
                            let dyt = block(dy, r, c.yCount)
                            n.readBackward(
                                block(x.M_l, r, c.mCount), q, cl, scale: p.scale, dy: dyt, dM: &g.M_l.scalars,
                                dMOffset: r * c.mCount, dq: &g.q.scalars, dqOffset: r * c.qCount, dState: &dl)
                            n.readBackward(
                                block(x.M_u, r, c.mCount), q, cu, scale: p.scale, dy: dyt, dM: &g.M_u.scalars,
                                dMOffset: r * c.mCount, dq: &g.q.scalars, dqOffset: r * c.qCount, dState: &du)
                            n.directBackward(
                                block(x.D, r, c.dCount), q, k, v, scale: p.scale, dy: dyt, grads: &g, cellRow: r)
                        }
                        dLeft[cellIndex] = dl
                        dUp[cellIndex] = du
                        if xi == 0, x.C_left != nil {
                            let o = ((b * p.height + yi) * p.heads + h) * ss
                            for e in 0..<ss { g.C_left!.scalars[o + e] = dl[e] }
                        }
                        if yi == 0, x.C_top != nil {
                            let o = ((b * p.width + xi) * p.heads + h) * ss
                            for e in 0..<ss { g.C_top!.scalars[o + e] = du[e] }
                        }
                    }
                }
                if p.width == 0 || p.height == 0, let d = finalStateGradient {
                    // An empty grid passes each boundary state straight through.
                    if p.width == 0, x.C_left != nil {
                        for yi in 0..<p.height {
                            let o = ((b * p.height + yi) * p.heads + h) * ss
                            for e in 0..<ss { g.C_left!.scalars[o + e] = d.right.scalars[o + e] }
                        }
                    }
                    if p.height == 0, x.C_top != nil {
                        for xi in 0..<p.width {
                            let o = ((b * p.width + xi) * p.heads + h) * ss
                            for e in 0..<ss { g.C_top!.scalars[o + e] = d.bottom.scalars[o + e] }
                        }
                    }
                }
            }
        }
        if g.T_ru != nil { g.T_ru!.scalars = dTru }
        if g.T_dl != nil { g.T_dl!.scalars = dTdl }
        return g
    }
}
