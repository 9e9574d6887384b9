import LRNNKernels
import LRNNLinearAlgebra

extension ParaRNNMixer: DifferentiableTokenMixer {
    /// The forward pass from zero states and its pullback: `o_proj`'s gradients, then the cell's
    /// backward (``/LRNNKernels/ParaGRU/backward(_:newton:sequences:chunkSize:outputGradient:finalStateGradient:)``
    /// or ParaLSTM's), returning dL/dx and the mixer's gradient (dL/d(`A`, `B`, `b`, `C`)).
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    func forwardWithPullback(_ x: Tensor<T>, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<T>, pullback: MixerPullback<T>)
    {
        let h = try run(x, layout: layout, initial: nil).h
        let y = oProj.map { $0(h) } ?? h
        let pullback: MixerPullback<T> = { dy throws(KernelError) in
            var dh = dy
            var grad = self
            if let oProj {
                grad.oProj = oProj.gradient(input: h, outputGradient: dy)
                dh = oProj.inputGradient(dy)
            }
            let lead = layout.kernelBatchShape
            let sequences = try KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries)
            let x3 = x.reshaped(lead + [hiddenSize])
            let dh3 = dh.reshaped(lead + [stateSize])
            if let C {
                let g = try ParaLSTM.backward(
                    ParaLSTM.Inputs(x: x3, A: A, B: B, C: C, b: b), newton: newton, sequences: sequences,
                    chunkSize: configuration.chunkSize, outputGradient: dh3, finalStateGradient: nil)
                (grad.A, grad.B, grad.b, grad.C) = (g.A, g.B, g.b, g.C)
                return (g.x.reshaped(x.shape), grad)
            }
            let g = try ParaGRU.backward(
                ParaGRU.Inputs(x: x3, A: A, B: B, b: b), newton: newton, sequences: sequences,
                chunkSize: configuration.chunkSize, outputGradient: dh3, finalStateGradient: nil)
            (grad.A, grad.B, grad.b) = (g.A, g.B, g.b)
            return (g.x.reshaped(x.shape), grad)
        }
        return (y, pullback)
    }
}
