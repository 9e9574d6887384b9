import LRNNLinearAlgebra

extension ParaGRU {
    /// The sequential solve on projected inputs `u [rows, Hh, 3, D/Hh]`: the cell token by token, work items
    /// (sequence, group of channels), the channels being independent recurrences.
    ///
    /// - Returns: `h [rows, D]` (rows of no sequence are zero).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func sequentialSolve<T: LRNNScalar>(
        _ p: ParaRNNProblem, u: Tensor<T>, A: Tensor<T>, h0: Tensor<T>?
    ) -> Tensor<T> {
        let d = p.stateSize
        let (dh, offsets) = (p.headState, p.gateOffsets)
        var h = Tensor<T>.zeros([p.rows, d])
        let groups = paraRNNChannelGroups(d, sequences: p.stateCount)
        let initialStates = h0?.scalars ?? [T](repeating: 0, count: p.stateCount * d)
        initialStates.withUnsafeBufferPointer { initialBuffer in
            u.withUnsafeBufferPointer { ub in
                A.withUnsafeBufferPointer { ab in
                    h.withUnsafeMutableBufferPointer { hb in
                        let hp = hb.baseAddress!
                        let up = ub.baseAddress!
                        let a = ab.baseAddress!
                        let initial = initialBuffer.baseAddress!
                        Threading.parallelFor(p.stateCount * groups.count) { item in
                            let slot = item / groups.count
                            let channels = groups[item % groups.count]
                            let s = p.sequences[slot]
                            let base = s.batch * p.tokens
                            for t in s.tokens {
                                let row = base + t
                                let out = hp + row * d
                                let uu = up + row * 3 * d
                                for n in channels {
                                    let prev: T
                                    if t == s.start {
                                        prev = initial[slot * d + n]
                                    } else {
                                        prev = out[n - d]
                                    }
                                    out[n] = ParaGRUCell.value(
                                        prev, uu[offsets[n]], uu[offsets[n] + dh], uu[offsets[n] + 2 * dh], a[n],
                                        a[d + n], a[2 * d + n])
                                }
                            }
                        }
                    }
                }
            }
        }
        return h
    }

    /// The Newton-parallel solve on projected inputs `u [rows, Hh, 3, D/Hh]` (see
    /// ``chunked(_:newton:sequences:chunkSize:)``), falling back to ``sequentialSolve(_:u:A:h0:)``.
    ///
    /// Workspaces, allocated once per call: `J`, `r` `[rows, D]`, and per chunk the aggregates `P`, `E`
    /// and the carry `[chunks, D]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func newtonSolve<T: LRNNScalar>(
        _ p: ParaRNNProblem, u: Tensor<T>, A: Tensor<T>, h0: Tensor<T>?, chunkSize: Int,
        options: ParaRNN.NewtonOptions
    ) -> (h: Tensor<T>, report: ParaRNN.NewtonReport) {
        let d = p.stateSize
        let (dh, offsets) = (p.headState, p.gateOffsets)
        let (chunks, perSequence) = p.chunks(chunkSize)
        let nc = chunks.count
        let tolerance = options.tolerance ?? ParaRNN.defaultTolerance(for: T.self, scale: paraRNNMaxAbs(h0))
        let tol = T(tolerance)
        var h = Tensor<T>.zeros([p.rows, d])
        var jac = [T](repeating: 0, count: p.rows * d)
        var res = [T](repeating: 0, count: p.rows * d)
        var agg = [T](repeating: 0, count: 3 * nc * d)  // P, E, carry
        var chunkResidual = [T](repeating: 0, count: nc)
        let zeros = [T](repeating: 0, count: d)
        let initialStates = h0?.scalars ?? [T](repeating: 0, count: p.stateCount * d)
        var iterations = 0
        var residual = T.nan
        var converged = false
        u.withUnsafeBufferPointer { ub in
            A.withUnsafeBufferPointer { ab in
                h.withUnsafeMutableBufferPointer { hb in
                    jac.withUnsafeMutableBufferPointer { jb in
                        res.withUnsafeMutableBufferPointer { rb in
                            agg.withUnsafeMutableBufferPointer { gb in
                                chunkResidual.withUnsafeMutableBufferPointer { cr in
                                    zeros.withUnsafeBufferPointer { zb in
                                        initialStates.withUnsafeBufferPointer { ib in
                                            let (hp, up, a) = (hb.baseAddress!, ub.baseAddress!, ab.baseAddress!)
                                            let (jp, rp, crp) = (jb.baseAddress!, rb.baseAddress!, cr.baseAddress!)
                                            let (pp, ep, cp) = (
                                                gb.baseAddress!, gb.baseAddress! + nc * d, gb.baseAddress! + 2 * nc * d
                                            )
                                            let zero = zb.baseAddress!
                                            let initial = ib.baseAddress!
                                            /// The state before `row` of chunk `c`: the previous row, or the initial state.
                                            func previous(_ c: ParaRNNChunk, _ row: Int) -> UnsafePointer<T> {
                                                if row == c.rows.lowerBound && c.isFirst {
                                                    return initial + c.slot * d
                                                }
                                                return UnsafePointer(hp + (row - 1) * d)
                                            }
                                            // The initial guess h_t = f(0, x_t) (the first token from the initial state).
                                            Threading.parallelFor(nc) { k in
                                                let c = chunks[k]
                                                for row in c.rows {
                                                    let prev =
                                                        row == c.rows.lowerBound && c.isFirst ? previous(c, row) : zero
                                                    let (out, uu) = (hp + row * d, up + row * 3 * d)
                                                    for n in 0..<d {
                                                        out[n] = ParaGRUCell.value(
                                                            prev[n], uu[offsets[n]], uu[offsets[n] + dh],
                                                            uu[offsets[n] + 2 * dh], a[n], a[d + n],
                                                            a[2 * d + n])
                                                    }
                                                }
                                            }
                                            var it = 0
                                            while true {
                                                // Pass 1: linearise, residual, per-chunk aggregates (P = ΠJ, E = local solve).
                                                Threading.parallelFor(nc) { k in
                                                    let c = chunks[k]
                                                    let (pk, ek) = (pp + k * d, ep + k * d)
                                                    pk.update(repeating: 1, count: d)
                                                    ek.update(repeating: 0, count: d)
                                                    var worst: T = 0
                                                    var sum: T = 0
                                                    for row in c.rows {
                                                        let prev = previous(c, row)
                                                        let first = row == c.rows.lowerBound && c.isFirst
                                                        let (hh, uu) = (hp + row * d, up + row * 3 * d)
                                                        let (jj, rr) = (jp + row * d, rp + row * d)
                                                        for n in 0..<d {
                                                            let (f, j0) = ParaGRUCell.valueAndJacobian(
                                                                prev[n], uu[offsets[n]], uu[offsets[n] + dh],
                                                                uu[offsets[n] + 2 * dh], a[n],
                                                                a[d + n], a[2 * d + n])
                                                            let j = first ? 0 : j0
                                                            let r = f - hh[n]
                                                            let m = Swift.abs(r)
                                                            worst = m > worst ? m : worst
                                                            sum += r
                                                            jj[n] = j
                                                            rr[n] = r
                                                            ek[n] = j * ek[n] + r
                                                            pk[n] = j * pk[n]
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
                                                // Pass 2: carries across chunks, per sequence.
                                                for range in perSequence {
                                                    var previousChunk = -1
                                                    for k in range {
                                                        let ck = cp + k * d
                                                        if previousChunk < 0 {
                                                            ck.update(repeating: 0, count: d)
                                                        } else {
                                                            let (pq, eq, cq) = (
                                                                pp + previousChunk * d, ep + previousChunk * d,
                                                                cp + previousChunk * d
                                                            )
                                                            for n in 0..<d { ck[n] = eq[n] + pq[n] * cq[n] }
                                                        }
                                                        previousChunk = k
                                                    }
                                                }
                                                // Pass 3: fix-up from the carries, h ← h + d.
                                                Threading.parallelFor(nc) { k in
                                                    let c = chunks[k]
                                                    let dk = cp + k * d
                                                    for row in c.rows {
                                                        let (hh, jj, rr) = (hp + row * d, jp + row * d, rp + row * d)
                                                        for n in 0..<d {
                                                            let dn = jj[n] * dk[n] + rr[n]
                                                            dk[n] = dn
                                                            hh[n] += dn
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
        let report = ParaRNN.NewtonReport(
            iterations: iterations, residual: Double(residual), tolerance: tolerance, converged: converged)
        if !converged { h = sequentialSolve(p, u: u, A: A, h0: h0) }
        return (h, report)
    }
}

/// Groups of channels for the sequential solves: enough groups that every worker has an item when
/// there are few sequences, each at least 16 channels.
func paraRNNChannelGroups(_ d: Int, sequences: Int) -> [Range<Int>] {
    let workers = Threading.workerCount
    let wanted = Swift.max(1, (workers + Swift.max(sequences, 1) - 1) / Swift.max(sequences, 1))
    let size = Swift.max(16, (d + wanted - 1) / wanted)
    return stride(from: 0, to: d, by: size).map { $0..<Swift.min($0 + size, d) }
}
