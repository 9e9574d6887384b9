import LRNNKernels
import LRNNLinearAlgebra

extension DeltaNetMixer: DifferentiableTokenMixer {
    /// What the projection's backward needs: the features' saved values, the activated q and k
    /// before their normalisation, and the β logits.
    struct ProjectionTape {
        /// The q, k, v features' saved values.
        let q: ProjectedFeature<T>.Saved, k: ProjectedFeature<T>.Saved, v: ProjectedFeature<T>.Saved
        /// q and k before their normalisation.
        let qActivated: Tensor<T>, kActivated: Tensor<T>
        /// `b_proj x`, nil without `b_proj`.
        let betaLogits: Tensor<T>?
    }

    /// The kernel inputs from zero convolution windows and their tape (fla's `DeltaNet.forward`
    /// up to the kernel).
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func projectKernelInputsForTraining(_ x: Tensor<T>, layout: SequenceLayout)
        -> (features: DeltaRuleMixerKernel<T>.Features, tape: ProjectionTape)
    {
        let f = features
        let (qa, qs) = f.q.forward(x, layout: layout)
        let (ka, ks) = f.k.forward(x, layout: layout)
        let (v, vs) = f.v.forward(x, layout: layout)
        let b = bProj.map { $0(x) }
        let inputs = kernelFeatures(q: qa, k: ka, v: v, betaLogits: b, tokens: layout.tokenCount)
        return (inputs, ProjectionTape(q: qs, k: ks, v: vs, qActivated: qa, kActivated: ka, betaLogits: b))
    }

    /// The projection's backward: β through `b_proj`, q and k through their normalisation, then
    /// each feature's activation, convolution and projection.
    ///
    /// - Parameters:
    ///   - d: dL/d(q, k, v, β).
    ///   - tape: the training forward's tape.
    ///   - x: the mixer input.
    ///   - layout: how the tokens split into sequences.
    ///   - dx: dL/dx, added to.
    ///   - grad: the gradient, its projection-stage parameters set here.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func projectKernelInputsBackward(
        _ d: DeltaRuleMixerKernel<T>.Features, tape: ProjectionTape, input x: Tensor<T>, layout: SequenceLayout,
        inputGradient dx: inout Tensor<T>, parameters grad: inout Self
    ) {
        if let bProj, let b = tape.betaLogits {
            let factor: T = configuration.allowNegEigval ? 2 : 1
            let db = sigmoidScaledBackward(logits: b, outputGradient: d.beta, factor: factor)
            grad.bProj = bProj.gradient(input: x, outputGradient: db)
            bProj.accumulateInputGradient(db, into: &dx)
        }
        let l2 = configuration.qkNorm == .l2
        let dqa =
            l2
            ? l2NormalizeBackward(input: tape.qActivated, outputGradient: d.q, groupSize: headKDim)
            : sumNormalizeBackward(input: tape.qActivated, outputGradient: d.q, groupSize: headKDim)
        let dka =
            l2
            ? l2NormalizeBackward(input: tape.kActivated, outputGradient: d.k, groupSize: headKDim)
            : sumNormalizeBackward(input: tape.kActivated, outputGradient: d.k, groupSize: headKDim)
        let f = features
        (grad.qProj, grad.qConv1d) = f.q.backward(
            input: x, saved: tape.q, outputGradient: dqa, layout: layout, inputGradient: &dx)
        (grad.kProj, grad.kConv1d) = f.k.backward(
            input: x, saved: tape.k, outputGradient: dka, layout: layout, inputGradient: &dx)
        (grad.vProj, grad.vConv1d) = f.v.backward(
            input: x, saved: tape.v, outputGradient: d.v, layout: layout, inputGradient: &dx)
    }
}

extension GatedDeltaMixer: DifferentiableTokenMixer {
    /// What the projection's backward needs: the features' saved values, the activated q and k
    /// before their normalisation, the β logits, and the forget gate's input and output.
    struct ProjectionTape {
        /// The q, k, v features' saved values.
        let q: ProjectedFeature<T>.Saved, k: ProjectedFeature<T>.Saved, v: ProjectedFeature<T>.Saved
        /// q and k before their normalisation.
        let qActivated: Tensor<T>, kActivated: Tensor<T>
        /// `b_proj x`.
        let betaLogits: Tensor<T>
        /// `a_proj x` and the log decay g, nil without the forget gate.
        let decayLogits: Tensor<T>?, decay: Tensor<T>?
    }

    /// The kernel inputs from zero convolution windows and their tape (fla's
    /// `GatedDeltaNet.forward` and `GatedDeltaProduct.forward` up to the kernel).
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func projectKernelInputsForTraining(_ x: Tensor<T>, layout: SequenceLayout)
        -> (features: DeltaRuleMixerKernel<T>.Features, tape: ProjectionTape)
    {
        let f = features
        let (qa, qs) = f.q.forward(x, layout: layout)
        let (ka, ks) = f.k.forward(x, layout: layout)
        let (v, vs) = f.v.forward(x, layout: layout)
        let b = bProj(x)
        let a = aProj.map { $0(x) }
        let inputs = kernelFeatures(q: qa, k: ka, v: v, betaLogits: b, decayLogits: a)
        let tape = ProjectionTape(
            q: qs, k: ks, v: vs, qActivated: qa, kActivated: ka, betaLogits: b, decayLogits: a, decay: inputs.g)
        return (inputs, tape)
    }

    /// The projection's backward: β through `b_proj`, g through the forget gate and `a_proj`,
    /// q and k through the head repetition and their normalisation, then each feature's
    /// activation, convolution and projection.
    ///
    /// - Parameters:
    ///   - d: dL/d(q, k, v, β, g).
    ///   - tape: the training forward's tape.
    ///   - x: the mixer input.
    ///   - layout: how the tokens split into sequences.
    ///   - dx: dL/dx, added to.
    ///   - grad: the gradient, its projection-stage parameters set here.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func projectKernelInputsBackward(
        _ d: DeltaRuleMixerKernel<T>.Features, tape: ProjectionTape, input x: Tensor<T>, layout: SequenceLayout,
        inputGradient dx: inout Tensor<T>, parameters grad: inout Self
    ) {
        let db = sigmoidScaledBackward(logits: tape.betaLogits, outputGradient: d.beta, factor: betaFactor)
        grad.bProj = bProj.gradient(input: x, outputGradient: db)
        bProj.accumulateInputGradient(db, into: &dx)
        if let aProj, let aLog, let dtBias, let a = tape.decayLogits, let g = tape.decay, let dg = d.g {
            let (da, dALog, dBias) = GatedDecay.backward(
                input: a, gate: g, outputGradient: dg, aLog: aLog, dtBias: dtBias)
            grad.aLog = dALog
            grad.dtBias = dBias
            grad.aProj = aProj.gradient(input: x, outputGradient: da)
            aProj.accumulateInputGradient(da, into: &dx)
        }
        let r = valueHeads / heads
        let dq = repeatHeadsBackward(d.q, heads: heads, headDim: headKDim, times: r)
        let dk = repeatHeadsBackward(d.k, heads: heads * householder, headDim: headKDim, times: r)
        let f = features
        (grad.qProj, grad.qConv1d) = f.q.backward(
            input: x, saved: tape.q,
            outputGradient: l2NormalizeBackward(input: tape.qActivated, outputGradient: dq, groupSize: headKDim),
            layout: layout, inputGradient: &dx)
        (grad.kProj, grad.kConv1d) = f.k.backward(
            input: x, saved: tape.k,
            outputGradient: l2NormalizeBackward(input: tape.kActivated, outputGradient: dk, groupSize: headKDim),
            layout: layout, inputGradient: &dx)
        (grad.vProj, grad.vConv1d) = f.v.backward(
            input: x, saved: tape.v, outputGradient: d.v, layout: layout, inputGradient: &dx)
    }
}
