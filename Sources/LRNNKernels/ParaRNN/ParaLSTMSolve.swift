import LRNNLinearAlgebra

extension ParaLSTM {
    /// The sequential solve on projected inputs `u [rows, Hh, 3, D/Hh]`: work items (sequence, group of channels).
    ///
    /// - Returns: `c`, `h` `[rows, D]` (rows of no sequence are zero).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func sequentialSolve<T: LRNNScalar>(
        _ p: ParaRNNProblem, u: Tensor<T>, _ x: Inputs<T>
    ) -> (c: Tensor<T>, h: Tensor<T>) {
        let d = p.stateSize
        let (dh, offsets) = (p.headState, p.gateOffsets)
        var c = Tensor<T>.zeros([p.rows, d])
        var h = Tensor<T>.zeros([p.rows, d])
        let groups = paraRNNChannelGroups(d, sequences: p.stateCount)
        let zero = [T](repeating: 0, count: p.stateCount * d)
        let c0 = x.initialState?.c.scalars ?? zero
        let h0 = x.initialState?.h.scalars ?? zero
        let weights = x.A.scalars + x.C.scalars
        u.withUnsafeBufferPointer { ub in
            c.withUnsafeMutableBufferPointer { cb in
                h.withUnsafeMutableBufferPointer { hb in
                    c0.withUnsafeBufferPointer { c0b in
                        h0.withUnsafeBufferPointer { h0b in
                            weights.withUnsafeBufferPointer { wb in
                                let (cp, hp, up, w) = (
                                    cb.baseAddress!, hb.baseAddress!, ub.baseAddress!, wb.baseAddress!
                                )
                                let (ci, hi) = (c0b.baseAddress!, h0b.baseAddress!)
                                Threading.parallelFor(p.stateCount * groups.count) { item in
                                    let slot = item / groups.count
                                    let channels = groups[item % groups.count]
                                    let s = p.sequences[slot]
                                    for t in s.tokens {
                                        let row = s.batch * p.tokens + t
                                        let (cPrev, hPrev) =
                                            t == s.start
                                            ? (UnsafePointer(ci + slot * d), UnsafePointer(hi + slot * d))
                                            : (UnsafePointer(cp + (row - 1) * d), UnsafePointer(hp + (row - 1) * d))
                                        let uu = up + row * 3 * d
                                        for n in channels {
                                            let v = ParaLSTMCell.value(
                                                cPrev[n], hPrev[n], uu[offsets[n]], uu[offsets[n] + dh],
                                                uu[offsets[n] + 2 * dh], w[n], w[d + n],
                                                w[2 * d + n], w[3 * d + n], w[4 * d + n])
                                            cp[row * d + n] = v.c
                                            hp[row * d + n] = v.h
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (c, h)
    }

    /// The Newton-parallel solve on projected inputs `u [rows, Hh, 3, D/Hh]`, falling back to
    /// ``sequentialSolve(_:u:_:)``.
    ///
    /// Each iteration: pass 1 linearises every chunk in parallel (the 2×2 Jacobians `J`, the residuals
    /// `r`, the chunk aggregates `P = Π J` and `E` = the chunk's solve from a zero carry), pass 2 runs
    /// the carries across each sequence's chunks, pass 3 re-solves every chunk from its carry and adds
    /// the step. Workspaces (`J`: 4 planes, `r`: 2 planes `[rows, D]`; 8 per-chunk planes `[chunks, D]`)
    /// are allocated once per call.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func newtonSolve<T: LRNNScalar>(
        _ p: ParaRNNProblem, u: Tensor<T>, _ x: Inputs<T>, chunkSize: Int, options: ParaRNN.NewtonOptions
    ) -> (c: Tensor<T>, h: Tensor<T>, report: ParaRNN.NewtonReport) {
        let d = p.stateSize
        let (dh, offsets) = (p.headState, p.gateOffsets)
        let (chunks, perSequence) = p.chunks(chunkSize)
        let nc = chunks.count
        let scale = Swift.max(paraRNNMaxAbs(x.initialState?.c), paraRNNMaxAbs(x.initialState?.h))
        let tolerance = options.tolerance ?? ParaRNN.defaultTolerance(for: T.self, scale: scale)
        let tol = T(tolerance)
        var c = Tensor<T>.zeros([p.rows, d])
        var h = Tensor<T>.zeros([p.rows, d])
        let plane = p.rows * d
        var lin = [T](repeating: 0, count: 6 * plane)  // J: cc, ch, hc, hh; r: c, h
        let cplane = nc * d
        var agg = [T](repeating: 0, count: 8 * cplane)  // P: 4, E: 2, carry: 2
        var chunkResidual = [T](repeating: 0, count: nc)
        let zero = [T](repeating: 0, count: Swift.max(p.stateCount, 1) * d)
        let c0 = x.initialState?.c.scalars ?? zero
        let h0 = x.initialState?.h.scalars ?? zero
        let weights = x.A.scalars + x.C.scalars
        var iterations = 0
        var residual = T.nan
        var converged = false
        u.withUnsafeBufferPointer { ub in
            c.withUnsafeMutableBufferPointer { cb in
                h.withUnsafeMutableBufferPointer { hb in
                    lin.withUnsafeMutableBufferPointer { lb in
                        agg.withUnsafeMutableBufferPointer { gb in
                            chunkResidual.withUnsafeMutableBufferPointer { crb in
                                c0.withUnsafeBufferPointer { c0b in
                                    h0.withUnsafeBufferPointer { h0b in
                                        zero.withUnsafeBufferPointer { zb in
                                            weights.withUnsafeBufferPointer { wb in
                                                let (cp, hp, up, w) = (
                                                    cb.baseAddress!, hb.baseAddress!, ub.baseAddress!, wb.baseAddress!
                                                )
                                                let (ci, hi, zp) = (c0b.baseAddress!, h0b.baseAddress!, zb.baseAddress!)
                                                let l = lb.baseAddress!
                                                let g = gb.baseAddress!
                                                let crp = crb.baseAddress!
                                                /// The state before `row` of chunk `k`.
                                                func previous(_ k: ParaRNNChunk, _ row: Int) -> (
                                                    UnsafePointer<T>, UnsafePointer<T>
                                                ) {
                                                    if row == k.rows.lowerBound && k.isFirst {
                                                        return (ci + k.slot * d, hi + k.slot * d)
                                                    }
                                                    return (
                                                        UnsafePointer(cp + (row - 1) * d),
                                                        UnsafePointer(hp + (row - 1) * d)
                                                    )
                                                }
                                                // The initial guess (c, h)_t = f(0, x_t); a sequence's first token from its initial state.
                                                Threading.parallelFor(nc) { k in
                                                    let ch = chunks[k]
                                                    for row in ch.rows {
                                                        let (cPrev, hPrev) =
                                                            row == ch.rows.lowerBound && ch.isFirst
                                                            ? previous(ch, row) : (zp, zp)
                                                        let uu = up + row * 3 * d
                                                        for n in 0..<d {
                                                            let v = ParaLSTMCell.value(
                                                                cPrev[n], hPrev[n], uu[offsets[n]], uu[offsets[n] + dh],
                                                                uu[offsets[n] + 2 * dh],
                                                                w[n], w[d + n],
                                                                w[2 * d + n], w[3 * d + n], w[4 * d + n])
                                                            cp[row * d + n] = v.c
                                                            hp[row * d + n] = v.h
                                                        }
                                                    }
                                                }
                                                var it = 0
                                                while true {
                                                    // Pass 1: linearise, residuals, chunk aggregates.
                                                    Threading.parallelFor(nc) { k in
                                                        let ch = chunks[k]
                                                        let (p00, p01, p10, p11) = (
                                                            g + k * d, g + cplane + k * d, g + 2 * cplane + k * d,
                                                            g + 3 * cplane + k * d
                                                        )
                                                        let (ec, eh) = (g + 4 * cplane + k * d, g + 5 * cplane + k * d)
                                                        p00.update(repeating: 1, count: d)
                                                        p01.update(repeating: 0, count: d)
                                                        p10.update(repeating: 0, count: d)
                                                        p11.update(repeating: 1, count: d)
                                                        ec.update(repeating: 0, count: d)
                                                        eh.update(repeating: 0, count: d)
                                                        var worst: T = 0
                                                        var sum: T = 0
                                                        for row in ch.rows {
                                                            let (cPrev, hPrev) = previous(ch, row)
                                                            let first = row == ch.rows.lowerBound && ch.isFirst
                                                            let uu = up + row * 3 * d
                                                            let o = row * d
                                                            for n in 0..<d {
                                                                let v = ParaLSTMCell.valueAndJacobian(
                                                                    cPrev[n], hPrev[n], uu[offsets[n]],
                                                                    uu[offsets[n] + dh], uu[offsets[n] + 2 * dh],
                                                                    w[n], w[d + n],
                                                                    w[2 * d + n], w[3 * d + n], w[4 * d + n])
                                                                let (jcc, jch, jhc, jhh) =
                                                                    first ? (0, 0, 0, 0) : (v.cc, v.ch, v.hc, v.hh)
                                                                let rc = v.c - cp[o + n]
                                                                let rh = v.h - hp[o + n]
                                                                let m = Swift.max(Swift.abs(rc), Swift.abs(rh))
                                                                worst = m > worst ? m : worst
                                                                sum += rc + rh
                                                                l[o + n] = jcc
                                                                l[plane + o + n] = jch
                                                                l[2 * plane + o + n] = jhc
                                                                l[3 * plane + o + n] = jhh
                                                                l[4 * plane + o + n] = rc
                                                                l[5 * plane + o + n] = rh
                                                                let (ecn, ehn) = (ec[n], eh[n])
                                                                ec[n] = jcc * ecn + jch * ehn + rc
                                                                eh[n] = jhc * ecn + jhh * ehn + rh
                                                                let (a, b, cc, dd) = (p00[n], p01[n], p10[n], p11[n])
                                                                p00[n] = jcc * a + jch * cc
                                                                p01[n] = jcc * b + jch * dd
                                                                p10[n] = jhc * a + jhh * cc
                                                                p11[n] = jhc * b + jhh * dd
                                                            }
                                                        }
                                                        crp[k] = sum.isFinite ? worst : T.nan
                                                    }
                                                    residual = 0
                                                    for k in 0..<nc where !(crp[k] <= residual) { residual = crp[k] }
                                                    if residual <= tol {
                                                        converged = true
                                                        break
                                                    }
                                                    if it == options.maxIterations || !residual.isFinite { break }
                                                    // Pass 2: carries.
                                                    for range in perSequence {
                                                        var prev = -1
                                                        for k in range {
                                                            let (kc, kh) = (
                                                                g + 6 * cplane + k * d, g + 7 * cplane + k * d
                                                            )
                                                            if prev < 0 {
                                                                kc.update(repeating: 0, count: d)
                                                                kh.update(repeating: 0, count: d)
                                                            } else {
                                                                let q = prev * d
                                                                for n in 0..<d {
                                                                    let (xc, xh) = (
                                                                        g[6 * cplane + q + n], g[7 * cplane + q + n]
                                                                    )
                                                                    kc[n] =
                                                                        g[4 * cplane + q + n] + g[q + n] * xc + g[
                                                                            cplane + q + n] * xh
                                                                    kh[n] =
                                                                        g[5 * cplane + q + n] + g[2 * cplane + q + n]
                                                                        * xc + g[3 * cplane + q + n] * xh
                                                                }
                                                            }
                                                            prev = k
                                                        }
                                                    }
                                                    // Pass 3: fix-up from the carries; (c, h) += d.
                                                    Threading.parallelFor(nc) { k in
                                                        let ch = chunks[k]
                                                        let (kc, kh) = (g + 6 * cplane + k * d, g + 7 * cplane + k * d)
                                                        for row in ch.rows {
                                                            let o = row * d
                                                            for n in 0..<d {
                                                                let (dc, dh) = (kc[n], kh[n])
                                                                let nc =
                                                                    l[o + n] * dc + l[plane + o + n] * dh
                                                                    + l[4 * plane + o + n]
                                                                let nh =
                                                                    l[2 * plane + o + n] * dc + l[3 * plane + o + n]
                                                                    * dh + l[5 * plane + o + n]
                                                                kc[n] = nc
                                                                kh[n] = nh
                                                                cp[o + n] += nc
                                                                hp[o + n] += nh
                                                            }
                                                        }
                                                    }
                                                    it += 1
                                                }
                                                iterations = it
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let report = ParaRNN.NewtonReport(
            iterations: iterations, residual: Double(residual), tolerance: tolerance, converged: converged)
        if !converged { (c, h) = sequentialSolve(p, u: u, x) }
        return (c, h, report)
    }
}
