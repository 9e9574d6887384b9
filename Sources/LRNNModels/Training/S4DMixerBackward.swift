import LRNNKernels
import LRNNLinearAlgebra

extension S4DMixer: DifferentiableTokenMixer {
    /// The forward pass from zero states and its pullback: the S4D convolution (chunked), GELU,
    /// `output_linear` and the GLU, differentiated in reverse.
    ///
    ///     y = S4D(x),  a = gelu(y),  z = output_linear(a) = [z₁ | z₂],  out = z₁ ⊙ σ(z₂)
    ///     dz₁ = dout ⊙ σ(z₂),  dz₂ = dout ⊙ z₁ ⊙ σ(z₂)·(1 − σ(z₂)),  dy = (dz·W) ⊙ gelu′(y)
    ///
    /// then ``/LRNNKernels/S4D/backward(_:discretization:sequences:chunkSize:outputGradient:finalStateGradient:)``
    /// gives dL/dx and dL/d(`log_dt`, `A_re`, `A_im`, `B_re`, `B_im`, `C_re`, `C_im`, `D`) under
    /// the layer's discretisation (zoh or bilinear), every sequence of a packed layout on its own.
    /// Kept: the input x, the S4D output y (before GELU), the GELU output a and z; the kernel's
    /// backward recomputes its chunk-start states from x.
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forwardWithPullback(_ x: Tensor<T>, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<T>, pullback: MixerPullback<T>)
    {
        let h = hiddenSize
        let rows = layout.tokenCount
        let lead = layout.kernelBatchShape
        let discretization = configuration.discretization
        let sequences = try KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries)
        let inputs = S4D.Inputs(u: x.reshaped(lead + [h]), parameters: parameters)
        let y = try S4D.chunked(inputs, discretization: discretization, sequences: sequences).output
            .reshaped([rows, h])
        var a = y
        Activation.gelu.apply(&a)
        let z = outputLinear(a)
        let out = S4DGatedLinearUnit.forward(z, width: h)
        let pullback: MixerPullback<T> = { dout throws(KernelError) in
            let dz = S4DGatedLinearUnit.backward(z, outputGradient: dout, width: h)
            var grad = self
            grad.outputLinear = outputLinear.gradient(input: a, outputGradient: dz)
            let dy = Activation.gelu.backward(preActivation: y, outputGradient: outputLinear.inputGradient(dz))
            let d = try S4D.backward(
                inputs, discretization: discretization, sequences: sequences,
                outputGradient: dy.reshaped(lead + [h]), finalStateGradient: nil)
            // dL/d(log_dt, A_re, A_im, B_re, B_im, C_re, C_im, D), walked under this layer's keys.
            grad.parameters = d.parameters
            return (d.u.reshaped([rows, h]), grad)
        }
        return (out, pullback)
    }
}

/// The S4D block's gated linear unit over `z [rows, 2·width]`: `out = z[:, :width] ⊙ σ(z[:, width:])`
/// (PyTorch's `nn.GLU(dim=-1)`, as the S4D block of Gu et al. 2022 ends).
enum S4DGatedLinearUnit {
    /// `z₁ ⊙ σ(z₂)` `[rows, width]`.
    ///
    /// - Parameters:
    ///   - z: `[rows, 2·width]`.
    ///   - width: the output width.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: LRNNScalar>(_ z: Tensor<T>, width h: Int) -> Tensor<T> {
        let rows = h == 0 ? 0 : z.count / (2 * h)
        var out = Tensor<T>.zeros([rows, h])
        z.withUnsafeBufferPointer { zb in
            out.withUnsafeMutableBufferPointer { ob in
                for r in 0..<rows {
                    for j in 0..<h {
                        let a = zb[r * 2 * h + j]
                        let g = zb[r * 2 * h + h + j]
                        ob[r * h + j] = a / (1 + T.exp(-g))
                    }
                }
            }
        }
        return out
    }

    /// dL/dz `[rows, 2·width]`: `dz₁ = dout ⊙ σ(z₂)`, `dz₂ = dout ⊙ z₁ ⊙ σ(z₂)·(1 − σ(z₂))`.
    ///
    /// - Parameters:
    ///   - z: the forward input `[rows, 2·width]`.
    ///   - dout: dL/d(out) `[rows, width]`.
    ///   - width: the output width.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: LRNNScalar>(_ z: Tensor<T>, outputGradient dout: Tensor<T>, width h: Int) -> Tensor<T> {
        precondition(z.count == 2 * dout.count, "S4DGatedLinearUnit backward: z \(z.shape), dout \(dout.shape)")
        let rows = h == 0 ? 0 : dout.count / h
        var dz = Tensor<T>.zeros(z.shape)
        z.withUnsafeBufferPointer { zb in
            dout.withUnsafeBufferPointer { db in
                dz.withUnsafeMutableBufferPointer { gb in
                    for r in 0..<rows {
                        for j in 0..<h {
                            let a = zb[r * 2 * h + j]
                            let s = 1 / (1 + T.exp(-zb[r * 2 * h + h + j]))
                            let d = db[r * h + j]
                            gb[r * 2 * h + j] = d * s
                            gb[r * 2 * h + h + j] = d * a * s * (1 - s)
                        }
                    }
                }
            }
        }
        return dz
    }
}
