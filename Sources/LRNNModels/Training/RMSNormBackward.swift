import LRNNLinearAlgebra

extension RMSNorm {
    /// The backward of `y = x·r·w`, `r = 1/√(mean x² + ε)`, per group of ``dimension`` elements:
    ///
    ///     dx = r·(g − x̂·mean(g ⊙ x̂)),  g = dy ⊙ w,  x̂ = x·r;     dw = Σ_rows dy ⊙ x̂
    ///
    /// (the gradient of PyTorch's / fla's `RMSNorm`; r is computed as the forward computes it,
    /// rescaled when Σx² overflows).
    ///
    /// - Parameters:
    ///   - x: the forward input, groups of ``dimension``.
    ///   - dy: the output gradient, same shape.
    /// - Returns: dL/dx (the shape of `x`) and dL/dw `[dimension]` (nil for a norm without weight).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(input x: Tensor<T>, outputGradient dy: Tensor<T>) -> (input: Tensor<T>, weight: Tensor<T>?) {
        let d = dimension
        precondition(d > 0 && x.count % d == 0 && dy.count == x.count, "RMSNorm backward: x \(x.shape), dy \(dy.shape)")
        let rows = x.count / d
        var dx = Tensor<T>.zeros(x.shape)
        // Partial weight gradients per fixed row range (the split depends on the shape only),
        // summed in range order afterwards.
        let parts = weight == nil ? 1 : Swift.max(1, Swift.min(8, rows * d >> 14))
        var dwParts = Tensor<T>.zeros([weight == nil ? 0 : parts * d])
        let invD = 1 / T(d)
        let eps = self.eps
        x.withUnsafeBufferPointer { xb in
            dy.withUnsafeBufferPointer { gb in
                dx.withUnsafeMutableBufferPointer { ob in
                    dwParts.withUnsafeMutableBufferPointer { pb in
                        withWeight { w in
                            let xp = xb.baseAddress!
                            let gp = gb.baseAddress!
                            let op = ob.baseAddress!
                            let pp = pb.baseAddress
                            let step = (rows + parts - 1) / parts
                            Threading.parallelFor(parts) { part in
                                let acc = w == nil ? nil : pp! + part * d
                                for r in (part * step)..<Swift.min(rows, (part + 1) * step) {
                                    let xr = xp + r * d
                                    let gr = gp + r * d
                                    let orow = op + r * d
                                    let (ss, scale) = sumOfSquares(xr, d)
                                    let rs: T
                                    if let m = scale {
                                        rs = 1 / (m * (ss * invD + eps / (m * m)).squareRoot())
                                    } else {
                                        rs = 1 / (ss * invD + eps).squareRoot()
                                    }
                                    var dot: T = 0
                                    if let w {
                                        for i in 0..<d {
                                            let xh = xr[i] * rs
                                            acc![i] += gr[i] * xh
                                            dot += gr[i] * w[i] * xh
                                        }
                                        let c = dot * invD
                                        for i in 0..<d { orow[i] = rs * (gr[i] * w[i] - xr[i] * rs * c) }
                                    } else {
                                        for i in 0..<d { dot += gr[i] * xr[i] * rs }
                                        let c = dot * invD
                                        for i in 0..<d { orow[i] = rs * (gr[i] - xr[i] * rs * c) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        guard weight != nil else { return (dx, nil) }
        var dw = Tensor<T>.zeros([d])
        for p in 0..<parts { for i in 0..<d { dw.scalars[i] += dwParts.scalars[p * d + i] } }
        return (dx, dw)
    }
}

extension GatedRMSNorm {
    /// The backward of `y = RMSNorm(o)·w ⊙ act(g)` (fla's `FusedRMSNormGated`, swish or sigmoid
    /// gate): `dn = dy ⊙ act(g)`, `dg = dy ⊙ n ⊙ act′(g)`, then ``RMSNorm/backward(input:outputGradient:)``.
    ///
    /// - Parameters:
    ///   - o: the forward input, groups of the norm's dimension.
    ///   - gate: the gate pre-activation g, same count.
    ///   - dy: the output gradient, same count.
    /// - Returns: dL/do, dL/dg and dL/dw (nil without a weight).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(input o: Tensor<T>, gate: Tensor<T>, outputGradient dy: Tensor<T>)
        -> (input: Tensor<T>, gate: Tensor<T>, weight: Tensor<T>?)
    {
        precondition(o.count == gate.count && o.count == dy.count, "GatedRMSNorm backward: \(o.shape), \(gate.shape)")
        let n = norm(o)
        var dn = dy
        var dg = dy
        let count = o.count
        let act = activation
        n.withUnsafeBufferPointer { nb in
            gate.withUnsafeBufferPointer { gb in
                dn.withUnsafeMutableBufferPointer { dnb in
                    dg.withUnsafeMutableBufferPointer { dgb in
                        let np = nb.baseAddress!
                        let gp = gb.baseAddress!
                        let dnp = dnb.baseAddress!
                        let dgp = dgb.baseAddress!
                        parallelRanges(count, unitCost: 30) { range in
                            for i in range {
                                let g = gp[i]
                                dgp[i] *= np[i] * act.derivative(g)
                                dnp[i] *= act(g)
                            }
                        }
                    }
                }
            }
        }
        let (dO, dw) = norm.backward(input: o, outputGradient: dn)
        return (dO, dg, dw)
    }
}
