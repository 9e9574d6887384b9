import LRNNLinearAlgebra

extension ParaLSTM {
    /// The chunked backward pass (see
    /// ``backward(_:newton:sequences:chunkSize:outputGradient:finalStateGradient:)``): the reverse scan
    /// of ``ParaGRU``'s backward with 2-vectors `λ = (λc, λh)` and transposed 2×2 Jacobians. The running
    /// value `acc_t = J_tᵀ·λ_t` flows to token t − 1; pass 1 solves every chunk from a zero inflow
    /// (`O_k`, `P_k = J_sᵀ ⋯ J_{e−1}ᵀ`), pass 2 carries the inflows backwards over each sequence's chunks
    /// (what leaves the first chunk is dL/d(initial state)), pass 3 re-solves every chunk from its inflow
    /// and forms `dU` and per-chunk partial sums of `dA`, `dC`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func runBackward<T: LRNNScalar>(
        _ p: ParaRNNProblem, _ x: Inputs<T>, newton: ParaRNN.NewtonOptions, chunkSize: Int,
        outputGradient: Tensor<T>?, finalStateGradient: State<T>?
    ) -> Inputs<T> {
        let d = p.stateSize
        let (dh, offsets) = (p.headState, p.gateOffsets)
        let u = ParaRNNProjection.forward(x: x.x, B: x.B, b: x.b, p)
        let (c, h, _) = newtonSolve(p, u: u, x, chunkSize: chunkSize, options: newton)
        let (chunks, perSequence) = p.chunks(chunkSize)
        let nc = chunks.count
        let cplane = nc * d
        var dU = Tensor<T>.zeros([p.rows, 3 * d])
        var agg = [T](repeating: 0, count: 8 * cplane)  // P: 4, O: 2, W: 2
        var partial = [T](repeating: 0, count: nc * 5 * d)  // dA: 3 rows, dC: 2 rows
        var d0 = finalStateGradient ?? State<T>.zeros(count: p.stateCount, size: d)
        let zero = [T](repeating: 0, count: Swift.max(p.stateCount, 1) * d)
        let c0 = x.initialState?.c.scalars ?? zero
        let h0 = x.initialState?.h.scalars ?? zero
        let weights = x.A.scalars + x.C.scalars
        let outputs = outputGradient?.scalars ?? []
        let finalC = finalStateGradient?.c.scalars ?? []
        let finalH = finalStateGradient?.h.scalars ?? []
        var d0c = d0.c.scalars
        var d0h = d0.h.scalars
        u.withUnsafeBufferPointer { ub in
            c.withUnsafeBufferPointer { cb in
                h.withUnsafeBufferPointer { hb in
                    dU.withUnsafeMutableBufferPointer { db in
                        agg.withUnsafeMutableBufferPointer { gb in
                            partial.withUnsafeMutableBufferPointer { pb in
                                c0.withUnsafeBufferPointer { c0b in
                                    h0.withUnsafeBufferPointer { h0b in
                                        weights.withUnsafeBufferPointer { wb in
                                            outputs.withUnsafeBufferPointer { ob in
                                                finalC.withUnsafeBufferPointer { fcb in
                                                    finalH.withUnsafeBufferPointer { fhb in
                                                        d0c.withUnsafeMutableBufferPointer { d0cb in
                                                            d0h.withUnsafeMutableBufferPointer { d0hb in
                                                                let (cp, hp, up, w) = (
                                                                    cb.baseAddress!, hb.baseAddress!, ub.baseAddress!,
                                                                    wb.baseAddress!
                                                                )
                                                                let (ci, hi) = (c0b.baseAddress!, h0b.baseAddress!)
                                                                let (dup, g, pa) = (
                                                                    db.baseAddress!, gb.baseAddress!, pb.baseAddress!
                                                                )
                                                                let cotangent =
                                                                    outputGradient == nil ? nil : ob.baseAddress
                                                                let fc =
                                                                    finalStateGradient == nil ? nil : fcb.baseAddress
                                                                let fh =
                                                                    finalStateGradient == nil ? nil : fhb.baseAddress
                                                                func previous(_ k: ParaRNNChunk, _ row: Int) -> (
                                                                    UnsafePointer<T>, UnsafePointer<T>
                                                                ) {
                                                                    row == k.rows.lowerBound && k.isFirst
                                                                        ? (ci + k.slot * d, hi + k.slot * d)
                                                                        : (cp + (row - 1) * d, hp + (row - 1) * d)
                                                                }
                                                                /// `g_t` for (c, h): the output cotangent on h, plus the final state's at the last token.
                                                                func seed(_ k: ParaRNNChunk, _ row: Int, _ n: Int) -> (
                                                                    T, T
                                                                ) {
                                                                    var gh = cotangent?[row * d + n] ?? 0
                                                                    var gc: T = 0
                                                                    if k.isLast && row == k.rows.upperBound - 1, let fc,
                                                                        let fh
                                                                    {
                                                                        gc = fc[k.slot * d + n]
                                                                        gh += fh[k.slot * d + n]
                                                                    }
                                                                    return (gc, gh)
                                                                }
                                                                // Pass 1: every chunk from a zero inflow.
                                                                Threading.parallelFor(nc) { k in
                                                                    let ch = chunks[k]
                                                                    let (p00, p01, p10, p11) = (
                                                                        g + k * d, g + cplane + k * d,
                                                                        g + 2 * cplane + k * d, g + 3 * cplane + k * d
                                                                    )
                                                                    let (oc, oh) = (
                                                                        g + 4 * cplane + k * d, g + 5 * cplane + k * d
                                                                    )
                                                                    p00.update(repeating: 1, count: d)
                                                                    p01.update(repeating: 0, count: d)
                                                                    p10.update(repeating: 0, count: d)
                                                                    p11.update(repeating: 1, count: d)
                                                                    oc.update(repeating: 0, count: d)
                                                                    oh.update(repeating: 0, count: d)
                                                                    for row in ch.rows.reversed() {
                                                                        let (cPrev, hPrev) = previous(ch, row)
                                                                        let uu = up + row * 3 * d
                                                                        for n in 0..<d {
                                                                            let v = ParaLSTMCell.valueAndJacobian(
                                                                                cPrev[n], hPrev[n], uu[offsets[n]],
                                                                                uu[offsets[n] + dh],
                                                                                uu[offsets[n] + 2 * dh], w[n], w[d + n],
                                                                                w[2 * d + n], w[3 * d + n], w[4 * d + n]
                                                                            )
                                                                            let (gc, gh) = seed(ch, row, n)
                                                                            let (lc, lh) = (gc + oc[n], gh + oh[n])
                                                                            oc[n] = v.cc * lc + v.hc * lh
                                                                            oh[n] = v.ch * lc + v.hh * lh
                                                                            let (a, b, cc, dd) = (
                                                                                p00[n], p01[n], p10[n], p11[n]
                                                                            )
                                                                            p00[n] = v.cc * a + v.hc * cc
                                                                            p01[n] = v.cc * b + v.hc * dd
                                                                            p10[n] = v.ch * a + v.hh * cc
                                                                            p11[n] = v.ch * b + v.hh * dd
                                                                        }
                                                                    }
                                                                }
                                                                // Pass 2: inflows W from the last chunk of each sequence to its first.
                                                                for (slot, range) in perSequence.enumerated()
                                                                where !range.isEmpty {
                                                                    var next = -1
                                                                    func outflow(_ q: Int, _ n: Int) -> (T, T) {
                                                                        let o = q * d + n
                                                                        let (xc, xh) = (
                                                                            g[6 * cplane + o], g[7 * cplane + o]
                                                                        )
                                                                        return (
                                                                            g[4 * cplane + o] + g[o] * xc + g[
                                                                                cplane + o] * xh,
                                                                            g[5 * cplane + o] + g[2 * cplane + o] * xc
                                                                                + g[3 * cplane + o] * xh
                                                                        )
                                                                    }
                                                                    for k in range.reversed() {
                                                                        for n in 0..<d {
                                                                            let (wc, wh) =
                                                                                next < 0 ? (0, 0) : outflow(next, n)
                                                                            g[6 * cplane + k * d + n] = wc
                                                                            g[7 * cplane + k * d + n] = wh
                                                                        }
                                                                        next = k
                                                                    }
                                                                    for n in 0..<d {
                                                                        let (oc, oh) = outflow(next, n)
                                                                        d0cb[slot * d + n] = oc
                                                                        d0hb[slot * d + n] = oh
                                                                    }
                                                                }
                                                                // Pass 3: every chunk from its inflow; dU and partial dA, dC.
                                                                Threading.parallelFor(nc) { k in
                                                                    let ch = chunks[k]
                                                                    let (ac, ah) = (
                                                                        g + 6 * cplane + k * d, g + 7 * cplane + k * d
                                                                    )
                                                                    let part = pa + k * 5 * d
                                                                    for row in ch.rows.reversed() {
                                                                        let (cPrev, hPrev) = previous(ch, row)
                                                                        let uu = up + row * 3 * d
                                                                        let du = dup + row * 3 * d
                                                                        for n in 0..<d {
                                                                            let (gc, gh) = seed(ch, row, n)
                                                                            let r = ParaLSTMCell.adjoint(
                                                                                gc + ac[n], gh + ah[n], cPrev[n],
                                                                                hPrev[n], uu[offsets[n]],
                                                                                uu[offsets[n] + dh],
                                                                                uu[offsets[n] + 2 * dh],
                                                                                w[n], w[d + n], w[2 * d + n],
                                                                                w[3 * d + n], w[4 * d + n])
                                                                            du[offsets[n]] = r.du0
                                                                            du[offsets[n] + dh] = r.du1
                                                                            du[offsets[n] + 2 * dh] = r.du2
                                                                            part[n] += r.du0 * hPrev[n]
                                                                            part[d + n] += r.du1 * hPrev[n]
                                                                            part[2 * d + n] += r.du2 * hPrev[n]
                                                                            part[3 * d + n] += r.du0 * cPrev[n]
                                                                            part[4 * d + n] += r.du1 * r.cNext
                                                                            ac[n] = r.c
                                                                            ah[n] = r.h
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
                                }
                            }
                        }
                    }
                }
            }
        }
        var sums = [T](repeating: 0, count: 5 * d)
        for k in 0..<nc {
            for i in 0..<(5 * d) { sums[i] += partial[k * 5 * d + i] }
        }
        d0 = State(
            c: Tensor(shape: [p.stateCount, d], scalars: d0c), h: Tensor(shape: [p.stateCount, d], scalars: d0h))
        let (dx, dB, db) = ParaRNNProjection.backward(x: x.x, B: x.B, dU: dU, p)
        return Inputs(
            x: dx, A: Tensor(shape: [3, d], scalars: Array(sums[0..<(3 * d)])), B: dB,
            C: Tensor(shape: [2, d], scalars: Array(sums[(3 * d)...])), b: db,
            initialState: x.initialState == nil ? nil : d0)
    }
}
