import LRNNKernels
import LRNNLinearAlgebra

extension GLAMixer: DifferentiableTokenMixer {
    /// The forward pass from zero states and its pullback (fla's `GatedLinearAttention.forward`,
    /// differentiated: projections, short convolutions, the low-rank log-sigmoid gate, the
    /// repetition over query-head groups, the feature map, GLA, the output norm and gate).
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forwardWithPullback(_ x: Tensor<T>, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<T>, pullback: MixerPullback<T>)
    {
        let qf = ProjectedFeature(
            projection: qProj, conv: qConv1d, activation: qConv1d == nil ? .identity : .silu)
        let kf = ProjectedFeature(
            projection: kProj, conv: kConv1d, activation: kConv1d == nil ? .identity : .silu)
        let vf = ProjectedFeature(
            projection: vProj, conv: vConv1d, activation: vConv1d == nil ? .identity : .silu)
        let (qa, qs) = qf.forward(x, layout: layout)
        let (ka, ks) = kf.forward(x, layout: layout)
        let (va, vs) = vf.forward(x, layout: layout)
        let groups = heads / kvHeads
        let lowRank = gkProj0(x)
        let z = repeatHeads(gkProj1(lowRank), heads: kvHeads, headDim: headKDim, times: groups)
        let normalizer = T(configuration.gateLogitNormalizer)
        let clamp = configuration.clampMin.map { T($0) }
        let gk = GLADecayGate.forward(z, normalizer: normalizer, clampMin: clamp)
        let kr = repeatHeads(ka, heads: kvHeads, headDim: headKDim, times: groups)
        let v = repeatHeads(va, heads: kvHeads, headDim: headVDim, times: groups)
        var q = qa
        var k = kr
        if let featureMap {
            featureMap.apply(&q)
            featureMap.apply(&k)
        }
        let lead = layout.kernelBatchShape
        let inputs = GLA.Inputs(
            q: q.reshaped(lead + [heads, headKDim]), k: k.reshaped(lead + [heads, headKDim]),
            v: v.reshaped(lead + [heads, headVDim]), gk: gk.reshaped(lead + [heads, headKDim]))
        let sequences = try KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries)
        let o = try GLA.chunked(inputs, sequences: sequences).output.reshaped([layout.tokenCount, heads * headVDim])
        let (normed, gate) = oNorm.forwardSaving(o, input: x)
        let y = oProj(normed)
        let pullback: MixerPullback<T> = { dy throws(KernelError) in
            let rows = layout.tokenCount
            var dx = Tensor<T>.zeros(x.shape)
            var grad = self
            grad.oProj = oProj.gradient(input: normed, outputGradient: dy)
            let (dO, normGradient) = oNorm.backward(
                input: o, gate: gate, outputGradient: oProj.inputGradient(dy), mixerInput: x, inputGradient: &dx)
            grad.oNorm = normGradient
            let d = try GLA.backward(
                inputs, sequences: sequences, outputGradient: dO.reshaped(lead + [heads, headVDim]),
                finalStateGradient: nil)
            var dq = d.q.reshaped([rows, heads * headKDim])
            var dk = d.k.reshaped([rows, heads * headKDim])
            if let featureMap {
                dq = featureMap.backward(preActivation: qa, outputGradient: dq)
                dk = featureMap.backward(preActivation: kr, outputGradient: dk)
            }
            let dz = GLADecayGate.backward(
                input: z, outputGradient: d.gk.reshaped([rows, heads * headKDim]), normalizer: normalizer,
                clampMin: clamp)
            let dz1 = repeatHeadsBackward(dz, heads: kvHeads, headDim: headKDim, times: groups)
            grad.gkProj1 = gkProj1.gradient(input: lowRank, outputGradient: dz1)
            let dLowRank = gkProj1.inputGradient(dz1)
            grad.gkProj0 = gkProj0.gradient(input: x, outputGradient: dLowRank)
            gkProj0.accumulateInputGradient(dLowRank, into: &dx)
            (grad.qProj, grad.qConv1d) = qf.backward(
                input: x, saved: qs, outputGradient: dq, layout: layout, inputGradient: &dx)
            (grad.kProj, grad.kConv1d) = kf.backward(
                input: x, saved: ks,
                outputGradient: repeatHeadsBackward(dk, heads: kvHeads, headDim: headKDim, times: groups),
                layout: layout, inputGradient: &dx)
            (grad.vProj, grad.vConv1d) = vf.backward(
                input: x, saved: vs,
                outputGradient: repeatHeadsBackward(
                    d.v.reshaped([rows, heads * headVDim]), heads: kvHeads, headDim: headVDim, times: groups),
                layout: layout, inputGradient: &dx)
            return (dx, grad)
        }
        return (y, pullback)
    }
}
