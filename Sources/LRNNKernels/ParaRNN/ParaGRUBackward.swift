import LRNNLinearAlgebra

extension ParaGRU {
    /// The chunked backward pass (see
    /// ``backward(_:newton:sequences:chunkSize:outputGradient:finalStateGradient:)``).
    ///
    /// With `g_t` the output cotangent (plus the final state's at a sequence's last token), the adjoint
    /// `λ_t = g_t + J_{t+1}·λ_{t+1}` runs as a reverse scan whose running value `acc_t = J_t·λ_t` flows to
    /// token t − 1: pass 1 solves every chunk from a zero inflow (`O_k`, and `P_k = Π J` over the
    /// chunk), pass 2 carries the inflows `W_k` from the last chunk of a sequence to its first (what
    /// leaves the first chunk is dL/d(initial state)), pass 3 re-solves every chunk from its inflow and
    /// forms `dU` and per-chunk partial sums of `dA`. Workspaces are allocated once per call.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func runBackward<T: LRNNScalar>(
        _ p: ParaRNNProblem, _ x: Inputs<T>, newton: ParaRNN.NewtonOptions, chunkSize: Int,
        outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?
    ) -> Inputs<T> {
        let d = p.stateSize
        let (dh, offsets) = (p.headState, p.gateOffsets)
        let u = ParaRNNProjection.forward(x: x.x, B: x.B, b: x.b, p)
        let h = newtonSolve(p, u: u, A: x.A, h0: x.initialState, chunkSize: chunkSize, options: newton).h
        let (chunks, perSequence) = p.chunks(chunkSize)
        let nc = chunks.count
        var dU = Tensor<T>.zeros([p.rows, 3 * d])
        var agg = [T](repeating: 0, count: 3 * nc * d)  // P, O, W
        var partialA = [T](repeating: 0, count: nc * 3 * d)
        var dA = Tensor<T>.zeros([3, d])
        var dh0 = finalStateGradient ?? Tensor<T>.zeros([p.stateCount, d])
        let initialStates = x.initialState?.scalars ?? [T](repeating: 0, count: p.stateCount * d)
        let outputs = outputGradient?.scalars ?? []
        let finals = finalStateGradient?.scalars ?? []
        u.withUnsafeBufferPointer { ub in
            x.A.withUnsafeBufferPointer { ab in
                h.withUnsafeBufferPointer { hb in
                    dU.withUnsafeMutableBufferPointer { db in
                        agg.withUnsafeMutableBufferPointer { gb in
                            partialA.withUnsafeMutableBufferPointer { pab in
                                initialStates.withUnsafeBufferPointer { ib in
                                    outputs.withUnsafeBufferPointer { ob in
                                        finals.withUnsafeBufferPointer { fb in
                                            dh0.withUnsafeMutableBufferPointer { h0b in
                                                let (up, a, hp, dup) = (
                                                    ub.baseAddress!, ab.baseAddress!, hb.baseAddress!, db.baseAddress!
                                                )
                                                let (pp, op, wp) = (
                                                    gb.baseAddress!, gb.baseAddress! + nc * d,
                                                    gb.baseAddress! + 2 * nc * d
                                                )
                                                let initial = ib.baseAddress!
                                                let cotangent = outputGradient == nil ? nil : ob.baseAddress
                                                let final = finalStateGradient == nil ? nil : fb.baseAddress
                                                let pa = pab.baseAddress!
                                                /// The state before `row` of chunk `c`.
                                                func previous(_ c: ParaRNNChunk, _ row: Int) -> UnsafePointer<T> {
                                                    row == c.rows.lowerBound && c.isFirst
                                                        ? initial + c.slot * d : UnsafePointer(hp + (row - 1) * d)
                                                }
                                                /// `g_t`: the output cotangent, plus the final state's at the sequence's last token.
                                                func seed(_ c: ParaRNNChunk, _ row: Int, _ n: Int) -> T {
                                                    var g = cotangent?[row * d + n] ?? 0
                                                    if c.isLast && row == c.rows.upperBound - 1, let final {
                                                        g += final[c.slot * d + n]
                                                    }
                                                    return g
                                                }
                                                // Pass 1: every chunk from a zero inflow.
                                                Threading.parallelFor(nc) { k in
                                                    let c = chunks[k]
                                                    let (pk, acc) = (pp + k * d, op + k * d)
                                                    pk.update(repeating: 1, count: d)
                                                    acc.update(repeating: 0, count: d)
                                                    for row in c.rows.reversed() {
                                                        let prev = previous(c, row)
                                                        let uu = up + row * 3 * d
                                                        for n in 0..<d {
                                                            let j = ParaGRUCell.valueAndJacobian(
                                                                prev[n], uu[offsets[n]], uu[offsets[n] + dh],
                                                                uu[offsets[n] + 2 * dh], a[n],
                                                                a[d + n], a[2 * d + n]
                                                            ).jacobian
                                                            let lambda = seed(c, row, n) + acc[n]
                                                            acc[n] = j * lambda
                                                            pk[n] = j * pk[n]
                                                        }
                                                    }
                                                }
                                                // Pass 2: inflows from the last chunk of each sequence to its first.
                                                for (slot, range) in perSequence.enumerated() where !range.isEmpty {
                                                    var next = -1
                                                    for k in range.reversed() {
                                                        let wk = wp + k * d
                                                        if next < 0 {
                                                            wk.update(repeating: 0, count: d)
                                                        } else {
                                                            let (pq, oq, wq) = (
                                                                pp + next * d, op + next * d, wp + next * d
                                                            )
                                                            for n in 0..<d { wk[n] = oq[n] + pq[n] * wq[n] }
                                                        }
                                                        next = k
                                                    }
                                                    let (pq, oq, wq) = (pp + next * d, op + next * d, wp + next * d)
                                                    let out = h0b.baseAddress! + slot * d
                                                    for n in 0..<d { out[n] = oq[n] + pq[n] * wq[n] }
                                                }
                                                // Pass 3: every chunk from its inflow; dU and partial dA.
                                                Threading.parallelFor(nc) { k in
                                                    let c = chunks[k]
                                                    let acc = wp + k * d
                                                    let part = pa + k * 3 * d
                                                    for row in c.rows.reversed() {
                                                        let prev = previous(c, row)
                                                        let uu = up + row * 3 * d
                                                        let du = dup + row * 3 * d
                                                        for n in 0..<d {
                                                            let lambda = seed(c, row, n) + acc[n]
                                                            let g = ParaGRUCell.adjoint(
                                                                lambda, prev[n], uu[offsets[n]], uu[offsets[n] + dh],
                                                                uu[offsets[n] + 2 * dh], a[n],
                                                                a[d + n],
                                                                a[2 * d + n])
                                                            du[offsets[n]] = g.du0
                                                            du[offsets[n] + dh] = g.du1
                                                            du[offsets[n] + 2 * dh] = g.du2
                                                            part[n] += g.du0 * prev[n]
                                                            part[d + n] += g.du1 * prev[n]
                                                            part[2 * d + n] += g.du2 * g.hr
                                                            acc[n] = g.previous
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
        dA.withUnsafeMutableBufferPointer { out in
            for k in 0..<nc {
                for i in 0..<(3 * d) { out[i] += partialA[k * 3 * d + i] }
            }
        }
        let (dx, dB, db) = ParaRNNProjection.backward(x: x.x, B: x.B, dU: dU, p)
        return Inputs(x: dx, A: dA, B: dB, b: db, initialState: x.initialState == nil ? nil : dh0)
    }
}
