import LRNNKernels
import LRNNLinearAlgebra

extension GLAMixer: DifferentiableTokenMixer {
    /// What the projection's backward needs: the features' saved values, q before the feature
    /// map, the repeated k before it, the repeated gate logits and the low-rank gate activation.
    struct ProjectionTape {
        /// The q, k, v features' saved values.
        let q: ProjectedFeature<T>.Saved, k: ProjectedFeature<T>.Saved, v: ProjectedFeature<T>.Saved
        /// q, and k repeated over the query-head groups, before the feature map.
        let qActivated: Tensor<T>, kRepeated: Tensor<T>
        /// The repeated gate logits z.
        let gateLogits: Tensor<T>
        /// `gk_proj.0 x` `[tokens, 16]`.
        let lowRank: Tensor<T>
    }

    /// The kernel inputs from zero convolution windows and their tape (fla's
    /// `GatedLinearAttention.forward` up to the kernel: projections, short convolutions, the
    /// low-rank log-sigmoid gate, the repetition over query-head groups, the feature map).
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func projectKernelInputsForTraining(_ x: Tensor<T>, layout: SequenceLayout)
        -> (features: GLAMixerKernel<T>.Features, tape: ProjectionTape)
    {
        let f = features
        let (qa, qs) = f.q.forward(x, layout: layout)
        let (ka, ks) = f.k.forward(x, layout: layout)
        let (va, vs) = f.v.forward(x, layout: layout)
        let lowRank = gkProj0(x)
        let r = repeatedOverGroups(k: ka, v: va, gateLogits: gkProj1(lowRank))
        let inputs = kernelFeatures(q: qa, k: r.k, v: r.v, gateLogits: r.gateLogits)
        let tape = ProjectionTape(
            q: qs, k: ks, v: vs, qActivated: qa, kRepeated: r.k, gateLogits: r.gateLogits, lowRank: lowRank)
        return (inputs, tape)
    }

    /// The projection's backward: q and k through the feature map, gk through the gate and
    /// `gk_proj`, then k, v and the gate through the repetition, and each feature's activation,
    /// convolution and projection.
    ///
    /// - Parameters:
    ///   - d: dL/d(q, k, v, gk).
    ///   - tape: the training forward's tape.
    ///   - x: the mixer input.
    ///   - layout: how the tokens split into sequences.
    ///   - dx: dL/dx, added to.
    ///   - grad: the gradient, its projection-stage parameters set here.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func projectKernelInputsBackward(
        _ d: GLAMixerKernel<T>.Features, tape: ProjectionTape, input x: Tensor<T>, layout: SequenceLayout,
        inputGradient dx: inout Tensor<T>, parameters grad: inout Self
    ) {
        let groups = heads / kvHeads
        var dq = d.q
        var dk = d.k
        if let featureMap {
            dq = featureMap.backward(preActivation: tape.qActivated, outputGradient: dq)
            dk = featureMap.backward(preActivation: tape.kRepeated, outputGradient: dk)
        }
        let dz = GLADecayGate.backward(
            input: tape.gateLogits, outputGradient: d.gk, normalizer: T(configuration.gateLogitNormalizer),
            clampMin: configuration.clampMin.map { T($0) })
        let dz1 = repeatHeadsBackward(dz, heads: kvHeads, headDim: headKDim, times: groups)
        grad.gkProj1 = gkProj1.gradient(input: tape.lowRank, outputGradient: dz1)
        let dLowRank = gkProj1.inputGradient(dz1)
        grad.gkProj0 = gkProj0.gradient(input: x, outputGradient: dLowRank)
        gkProj0.accumulateInputGradient(dLowRank, into: &dx)
        let f = features
        (grad.qProj, grad.qConv1d) = f.q.backward(
            input: x, saved: tape.q, outputGradient: dq, layout: layout, inputGradient: &dx)
        (grad.kProj, grad.kConv1d) = f.k.backward(
            input: x, saved: tape.k,
            outputGradient: repeatHeadsBackward(dk, heads: kvHeads, headDim: headKDim, times: groups),
            layout: layout, inputGradient: &dx)
        (grad.vProj, grad.vConv1d) = f.v.backward(
            input: x, saved: tape.v,
            outputGradient: repeatHeadsBackward(d.v, heads: kvHeads, headDim: headVDim, times: groups),
            layout: layout, inputGradient: &dx)
    }
}
