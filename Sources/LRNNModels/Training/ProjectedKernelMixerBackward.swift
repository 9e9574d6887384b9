import LRNNKernels
import LRNNLinearAlgebra

extension ProjectedKernelMixer {
    /// The training pipeline of the skeleton: projection (keeping its tape), the kernel's
    /// training forward, the output norm and `o_proj`; the pullback runs them backwards —
    /// `o_proj`, the output norm (with `g_proj`), the kernel's backward, the projection's
    /// backward — and returns dL/dx and the gradient as a mixer of this type.
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    /// - Throws: ``/LRNNKernels/KernelError`` when a kernel refuses its inputs.
    func forwardWithPullback(_ x: Tensor<Scalar>, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<Scalar>, pullback: MixerPullback<Scalar>)
    {
        let (features, tape) = projectKernelInputsForTraining(x, layout: layout)
        let kernel = self.kernel
        let (o, kernelTape) = try kernel.trainingForward(features, layout: layout)
        let (normed, gate) = oNorm.forwardSaving(o, input: x)
        let y = oProj(normed)
        let pullback: MixerPullback<Scalar> = { dy throws(KernelError) in
            var dx = Tensor<Scalar>.zeros(x.shape)
            var grad = self
            grad.oProj = oProj.gradient(input: normed, outputGradient: dy)
            let (dO, normGradient) = oNorm.backward(
                input: o, gate: gate, outputGradient: oProj.inputGradient(dy), mixerInput: x, inputGradient: &dx)
            grad.oNorm = normGradient
            let d = try kernel.backward(kernelTape, outputGradient: dO, layout: layout)
            projectKernelInputsBackward(
                d, tape: tape, input: x, layout: layout, inputGradient: &dx, parameters: &grad)
            return (dx, grad)
        }
        return (y, pullback)
    }
}
