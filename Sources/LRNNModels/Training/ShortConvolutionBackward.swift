import LRNNLinearAlgebra

extension ShortConvolution {
    /// The convolution without its activation, `z_t = Σ_j w[:, 0, j] ⊙ x_{t−W+1+j}`, from a zero
    /// state in every sequence (the training path: fla's `causal_conv1d` with no initial state).
    ///
    /// - Parameters:
    ///   - x: `[tokens, D]`.
    ///   - layout: how the tokens split into sequences.
    /// - Returns: z `[tokens, D]`; the layer's output is `activation(z)`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func preActivation(_ x: Tensor<T>, layout: SequenceLayout) -> Tensor<T> {
        var none: Tensor<T>? = nil
        return ShortConvolution(weight: weight, activation: .identity)(x, layout: layout, state: &none)
    }

    /// The backward of the convolution from zero states, given dL/dz of its pre-activation
    /// output z (so `dz = dy ⊙ act′(z)` is the caller's):
    ///
    ///     dx_s = Σ_j w[:, 0, j] ⊙ dz_{s+W−1−j}      dw[:, 0, j] = Σ_t dz_t ⊙ x_{t−W+1+j}
    ///
    /// with every sum inside one sequence (no gradient crosses a boundary of `layout`).
    /// Channel blocks run as parallel work items.
    ///
    /// - Parameters:
    ///   - x: the forward input `[tokens, D]`.
    ///   - dz: dL/dz `[tokens, D]`.
    ///   - layout: how the tokens split into sequences.
    /// - Returns: dL/dx `[tokens, D]` and dL/dw `[D, 1, W]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(input x: Tensor<T>, preActivationGradient dz: Tensor<T>, layout: SequenceLayout)
        -> (input: Tensor<T>, weight: Tensor<T>)
    {
        let d = channels
        let w = width
        precondition(
            x.count == layout.tokenCount * d && dz.count == x.count,
            "ShortConvolution backward: x \(x.shape), dz \(dz.shape) for \(layout)")
        var dx = Tensor<T>.zeros([layout.tokenCount, d])
        var dTaps = Tensor<T>.zeros([w, d])
        let bounds = layout.boundaries
        x.withUnsafeBufferPointer { xb in
            dz.withUnsafeBufferPointer { zb in
                taps.withUnsafeBufferPointer { tb in
                    dx.withUnsafeMutableBufferPointer { ob in
                        dTaps.withUnsafeMutableBufferPointer { db in
                            let xp = xb.baseAddress!
                            let zp = zb.baseAddress!
                            let tp = tb.baseAddress!
                            let op = ob.baseAddress!
                            let dp = db.baseAddress!
                            parallelRanges(d, unitCost: 6 * w * layout.tokenCount) { cr in
                                let c0 = cr.lowerBound
                                let n = cr.count
                                for s in 0..<(bounds.count - 1) {
                                    let start = bounds[s]
                                    let len = bounds[s + 1] - start
                                    for t in 0..<len {
                                        let g = zp + (start + t) * d + c0
                                        for j in 0..<w {
                                            let src = t - (w - 1) + j
                                            if src < 0 { continue }
                                            let xr = xp + (start + src) * d + c0
                                            let dxr = op + (start + src) * d + c0
                                            let tap = tp + j * d + c0
                                            let dtap = dp + j * d + c0
                                            for c in 0..<n {
                                                dxr[c] += tap[c] * g[c]
                                                dtap[c] += g[c] * xr[c]
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
        var dw = Tensor<T>.zeros([d, 1, w])
        for c in 0..<d { for j in 0..<w { dw.scalars[c * w + j] = dTaps.scalars[j * d + c] } }
        return (dx, dw)
    }
}

extension SwiGLUMLP {
    /// The forward pass keeping what the backward needs: `a = gate_proj x`, `u = up_proj x`.
    ///
    /// - Parameter x: `[rows, hidden]`.
    /// - Returns: the output `[rows, hidden]` and a, u `[rows, intermediate]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forwardSaving(_ x: Tensor<T>) -> (output: Tensor<T>, gate: Tensor<T>, up: Tensor<T>) {
        let a = gateProj(x)
        let u = upProj(x)
        return (downProj(Self.hidden(gate: a, up: u)), a, u)
    }

    /// `silu(a) ⊙ u`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func hidden(gate a: Tensor<T>, up u: Tensor<T>) -> Tensor<T> {
        var h = a
        let n = h.count
        u.withUnsafeBufferPointer { ub in
            h.withUnsafeMutableBufferPointer { hb in
                let hp = hb.baseAddress!
                let up = ub.baseAddress!
                parallelRanges(n, unitCost: 20) { range in
                    for i in range { hp[i] = hp[i] / (1 + T.exp(-hp[i])) * up[i] }
                }
            }
        }
        return h
    }

    /// The backward of `down(silu(a) ⊙ u)`, `a = gate x`, `u = up x`:
    /// `dh = dy·W_down`, `da = dh ⊙ u ⊙ silu′(a)`, `du = dh ⊙ silu(a)`, `dx = da·W_gate + du·W_up`.
    ///
    /// - Parameters:
    ///   - x: the forward input `[rows, hidden]`.
    ///   - a: `gate_proj x` of the forward.
    ///   - u: `up_proj x` of the forward.
    ///   - dy: the output gradient `[rows, hidden]`.
    /// - Returns: dL/dx and the three weight gradients.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(input x: Tensor<T>, gate a: Tensor<T>, up u: Tensor<T>, outputGradient dy: Tensor<T>)
        -> (input: Tensor<T>, gateWeight: Tensor<T>, upWeight: Tensor<T>, downWeight: Tensor<T>)
    {
        let h = Self.hidden(gate: a, up: u)
        let dDown = downProj.parameterGradients(input: h, outputGradient: dy).weight
        var da = downProj.inputGradient(dy)
        var du = da
        let n = a.count
        a.withUnsafeBufferPointer { ab in
            u.withUnsafeBufferPointer { ub in
                da.withUnsafeMutableBufferPointer { dab in
                    du.withUnsafeMutableBufferPointer { dub in
                        let ap = ab.baseAddress!
                        let up = ub.baseAddress!
                        let dap = dab.baseAddress!
                        let dup = dub.baseAddress!
                        parallelRanges(n, unitCost: 30) { range in
                            for i in range {
                                let s = 1 / (1 + T.exp(-ap[i]))
                                dup[i] *= ap[i] * s
                                dap[i] *= up[i] * s * (1 + ap[i] * (1 - s))
                            }
                        }
                    }
                }
            }
        }
        let dGate = gateProj.parameterGradients(input: x, outputGradient: da).weight
        let dUp = upProj.parameterGradients(input: x, outputGradient: du).weight
        var dx = gateProj.inputGradient(da)
        upProj.accumulateInputGradient(du, into: &dx)
        return (dx, dGate, dUp, dDown)
    }
}
