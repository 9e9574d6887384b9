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
            name: "q", projection: qProj, conv: qConv1d, activation: qConv1d == nil ? .identity : .silu)
        let kf = ProjectedFeature(
            name: "k", projection: kProj, conv: kConv1d, activation: kConv1d == nil ? .identity : .silu)
        let vf = ProjectedFeature(
            name: "v", projection: vProj, conv: vConv1d, activation: vConv1d == nil ? .identity : .silu)
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
        let normName: String
        switch oNorm {
        case .gated: normName = "g_norm_swish_gate"
        case .plain, .normThenGate: normName = "g_norm"
        }
        let pullback: MixerPullback<T> = { (dy, prefix, grads) throws(KernelError) in
            let rows = layout.tokenCount
            var dx = Tensor<T>.zeros(x.shape)
            grads.addLinear(prefix + "o_proj", oProj, input: normed, outputGradient: dy)
            let dO = oNorm.backward(
                input: o, gate: gate, outputGradient: oProj.inputGradient(dy), mixerInput: x, normName: normName,
                prefix: prefix, gradients: &grads, inputGradient: &dx)
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
            grads.addLinear(prefix + "gk_proj.1", gkProj1, input: lowRank, outputGradient: dz1)
            let dLowRank = gkProj1.inputGradient(dz1)
            grads.addLinear(prefix + "gk_proj.0", gkProj0, input: x, outputGradient: dLowRank)
            gkProj0.accumulateInputGradient(dLowRank, into: &dx)
            qf.backward(
                input: x, saved: qs, outputGradient: dq, layout: layout, prefix: prefix, gradients: &grads,
                inputGradient: &dx)
            kf.backward(
                input: x, saved: ks,
                outputGradient: repeatHeadsBackward(dk, heads: kvHeads, headDim: headKDim, times: groups),
                layout: layout, prefix: prefix, gradients: &grads, inputGradient: &dx)
            vf.backward(
                input: x, saved: vs,
                outputGradient: repeatHeadsBackward(
                    d.v.reshaped([rows, heads * headVDim]), heads: kvHeads, headDim: headVDim, times: groups),
                layout: layout, prefix: prefix, gradients: &grads, inputGradient: &dx)
            return dx
        }
        return (y, pullback)
    }
}
