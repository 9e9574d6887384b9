import LRNNLinearAlgebra

extension PLSTM1D {
    /// The naive recurrence on the public layouts, written for clarity: the test oracle. With
    /// `states`, also returns every state before each token (and the last) per (sequence, head),
    /// `[N·H][T_n + 1][DK·DV·JT]`.
    static func runReference<Scalar: LRNNScalar>(
        _ p: Problem<Scalar>, _ x: Inputs<Scalar>, keepStates: Bool
    ) -> (output: Tensor<Scalar>, finalState: Tensor<Scalar>, states: [[[Scalar]]]) {
        let c = p.cell
        let (dk, dv, jq, jk, jv, jt, jo) = (c.dk, c.dv, c.jq, c.jk, c.jv, c.jt, c.jo)
        var y = Tensor<Scalar>.zeros(p.outputShape)
        var finalState = Tensor<Scalar>.zeros(p.stateShape)
        var kept: [[[Scalar]]] = []
        for seq in p.sequences {
            for h in 0..<p.heads {
                let stateOffset = (seq.slot * p.heads + h) * c.stateCount
                var C =
                    x.C0.map { Array($0.scalars[stateOffset..<(stateOffset + c.stateCount)]) }
                    ?? [Scalar](repeating: 0, count: c.stateCount)
                var history: [[Scalar]] = keepStates ? [C] : []
                for t in seq.tokens {
                    let r = (seq.batch * p.tokens + t) * p.heads + h
                    let q = r * c.qCount, k = r * c.kCount, v = r * c.vCount
                    let s = r * c.sCount, tr = r * c.tCount, m = r * c.mCount, dd = r * c.dCount
                    for vi in 0..<dv {
                        for o in 0..<jo {
                            var acc: Scalar = 0
                            for d in 0..<dk {
                                for a in 0..<jq {
                                    let qa = x.q.scalars[q + d * jq + a]
                                    for i in 0..<jt {
                                        acc += qa * x.M.scalars[m + (o * jq + a) * jt + i] * C[(d * dv + vi) * jt + i]
                                    }
                                    for j in 0..<jk {
                                        for l in 0..<jv {
                                            acc +=
                                                qa * x.D.scalars[dd + ((o * jq + a) * jk + j) * jv + l]
                                                * x.k.scalars[k + d * jk + j] * x.v.scalars[v + vi * jv + l]
                                        }
                                    }
                                }
                            }
                            y.scalars[r * c.yCount + vi * jo + o] = p.scale * acc
                        }
                    }
                    var next = [Scalar](repeating: 0, count: c.stateCount)
                    for d in 0..<dk {
                        for vi in 0..<dv {
                            for i in 0..<jt {
                                var acc: Scalar = 0
                                for j in 0..<jt { acc += x.T.scalars[tr + i * jt + j] * C[(d * dv + vi) * jt + j] }
                                for j in 0..<jk {
                                    for l in 0..<jv {
                                        acc +=
                                            x.S.scalars[s + (i * jk + j) * jv + l] * x.k.scalars[k + d * jk + j]
                                            * x.v.scalars[v + vi * jv + l]
                                    }
                                }
                                next[(d * dv + vi) * jt + i] = acc
                            }
                        }
                    }
                    C = next
                    if keepStates { history.append(C) }
                }
                for e in 0..<c.stateCount { finalState.scalars[stateOffset + e] = C[e] }
                if keepStates { kept.append(history) }
            }
        }
        return (y, finalState, kept)
    }

    /// The naive backward: the recurrence differentiated token by token, from the states the naive
    /// forward kept.
    static func runReferenceBackward<Scalar: LRNNScalar>(
        _ p: Problem<Scalar>, _ x: Inputs<Scalar>, outputGradient: Tensor<Scalar>?,
        finalStateGradient: Tensor<Scalar>?
    ) -> Inputs<Scalar> {
        let c = p.cell
        let (dk, dv, jq, jk, jv, jt, jo) = (c.dk, c.dv, c.jq, c.jk, c.jv, c.jt, c.jo)
        let states = runReference(p, x, keepStates: true).states
        var g = Inputs<Scalar>(
            q: .zeros(x.q.shape), k: .zeros(x.k.shape), v: .zeros(x.v.shape), S: .zeros(x.S.shape),
            T: .zeros(x.T.shape), M: .zeros(x.M.shape), D: .zeros(x.D.shape),
            C0: x.C0.map { Tensor<Scalar>.zeros($0.shape) })
        var item = 0
        for seq in p.sequences {
            for h in 0..<p.heads {
                let history = states[item]
                item += 1
                let stateOffset = (seq.slot * p.heads + h) * c.stateCount
                var dC =
                    finalStateGradient.map { Array($0.scalars[stateOffset..<(stateOffset + c.stateCount)]) }
                    ?? [Scalar](repeating: 0, count: c.stateCount)
                for t in seq.tokens.reversed() {
                    let C = history[t - seq.start]
                    let r = (seq.batch * p.tokens + t) * p.heads + h
                    let q = r * c.qCount, k = r * c.kCount, v = r * c.vCount
                    let s = r * c.sCount, tr = r * c.tCount, m = r * c.mCount, dd = r * c.dCount
                    var prev = [Scalar](repeating: 0, count: c.stateCount)
                    // The update C' = T·C + S·kv, with dC the adjoint of C'.
                    for d in 0..<dk {
                        for vi in 0..<dv {
                            for i in 0..<jt {
                                let gC = dC[(d * dv + vi) * jt + i]
                                for j in 0..<jt {
                                    g.T.scalars[tr + i * jt + j] += gC * C[(d * dv + vi) * jt + j]
                                    prev[(d * dv + vi) * jt + j] += x.T.scalars[tr + i * jt + j] * gC
                                }
                                for j in 0..<jk {
                                    for l in 0..<jv {
                                        let sv = x.S.scalars[s + (i * jk + j) * jv + l]
                                        let kv = x.k.scalars[k + d * jk + j]
                                        let vv = x.v.scalars[v + vi * jv + l]
                                        g.S.scalars[s + (i * jk + j) * jv + l] += gC * kv * vv
                                        g.k.scalars[k + d * jk + j] += gC * sv * vv
                                        g.v.scalars[v + vi * jv + l] += gC * sv * kv
                                    }
                                }
                            }
                        }
                    }
                    // The output y = scale·(q M C + q D k v).
                    if let dy = outputGradient {
                        for vi in 0..<dv {
                            for o in 0..<jo {
                                let gy = p.scale * dy.scalars[r * c.yCount + vi * jo + o]
                                for d in 0..<dk {
                                    for a in 0..<jq {
                                        let qa = x.q.scalars[q + d * jq + a]
                                        for i in 0..<jt {
                                            let mm = x.M.scalars[m + (o * jq + a) * jt + i]
                                            let cc = C[(d * dv + vi) * jt + i]
                                            g.q.scalars[q + d * jq + a] += gy * mm * cc
                                            g.M.scalars[m + (o * jq + a) * jt + i] += gy * qa * cc
                                            prev[(d * dv + vi) * jt + i] += gy * qa * mm
                                        }
                                        for j in 0..<jk {
                                            for l in 0..<jv {
                                                let idx = dd + ((o * jq + a) * jk + j) * jv + l
                                                let kv = x.k.scalars[k + d * jk + j]
                                                let vv = x.v.scalars[v + vi * jv + l]
                                                let dg = x.D.scalars[idx]
                                                g.q.scalars[q + d * jq + a] += gy * dg * kv * vv
                                                g.D.scalars[idx] += gy * qa * kv * vv
                                                g.k.scalars[k + d * jk + j] += gy * qa * dg * vv
                                                g.v.scalars[v + vi * jv + l] += gy * qa * dg * kv
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    dC = prev
                }
                if x.C0 != nil {
                    for e in 0..<c.stateCount { g.C0!.scalars[stateOffset + e] = dC[e] }
                }
            }
        }
        return g
    }
}
