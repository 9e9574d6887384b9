import LRNNKernels
import LRNNLinearAlgebra

extension PLSTM1DMixer: DifferentiableTokenMixer {
    /// The forward pass from zero states and its pullback: the output projection, the kernel's
    /// ``/LRNNKernels/PLSTM1D/backward(_:scale:sequences:chunkSize:outputGradient:finalStateGradient:)``,
    /// the gates' activations (σ′ = σ(1 − σ), tanh′ = f·(1 − T²)) and the projections.
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forwardWithPullback(_ x: Tensor<T>, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<T>, pullback: MixerPullback<T>)
    {
        let inputs = kernelInputs(x, lead: layout.kernelBatchShape)
        let sequences = try KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries)
        let rows = layout.tokenCount
        let o = try PLSTM1D.chunked(inputs, sequences: sequences).output.reshaped([rows, oProj.weight.shape[1]])
        let y = oProj(o)
        let factor = T(configuration.transitionFactor)
        let pullback: MixerPullback<T> = { dy throws(KernelError) in
            var dx = Tensor<T>.zeros(x.shape)
            var grad = self
            grad.oProj = oProj.gradient(input: o, outputGradient: dy)
            let dO = oProj.inputGradient(dy)
            let d = try PLSTM1D.backward(
                inputs, sequences: sequences,
                outputGradient: dO.reshaped(
                    Array(inputs.q.shape.prefix(2)) + [
                        configuration.numHeads, configuration.valueDim, configuration.outputStates,
                    ]),
                finalStateGradient: nil)
            /// dL/d(pre-activation) of a gate from dL/d(gate) and the gate's value.
            func through(_ g: Tensor<T>, _ value: Tensor<T>, _ derivative: (T) -> T) -> Tensor<T> {
                var out = Tensor<T>.zeros([rows, g.count / Swift.max(rows, 1)])
                for i in 0..<g.count { out.scalars[i] = g.scalars[i] * derivative(value.scalars[i]) }
                return out
            }
            let gates: [(WritableKeyPath<Self, Linear<T>>, Tensor<T>)] = [
                (\.qProj, d.q.reshaped([rows, d.q.count / Swift.max(rows, 1)])),
                (\.kProj, d.k.reshaped([rows, d.k.count / Swift.max(rows, 1)])),
                (\.vProj, d.v.reshaped([rows, d.v.count / Swift.max(rows, 1)])),
                (\.sourceProj, through(d.S, inputs.S) { $0 * (1 - $0) }),
                (\.transitionProj, through(d.T, inputs.T) { factor * (1 - $0 * $0) }),
                (\.markProj, through(d.M, inputs.M) { $0 * (1 - $0) }),
                (\.directProj, through(d.D, inputs.D) { $0 * (1 - $0) }),
            ]
            for (layer, dz) in gates {
                grad[keyPath: layer] = self[keyPath: layer].gradient(input: x, outputGradient: dz)
                self[keyPath: layer].accumulateInputGradient(dz, into: &dx)
            }
            return (dx, grad)
        }
        return (y, pullback)
    }
}
