import LRNNKernels
import LRNNLinearAlgebra

extension DeltaRuleRunner {
    /// The chunked kernel from zero states for training: q `[tokens, H·K]`, k `[tokens, n·H·K]`,
    /// v `[tokens, n·H·V]`, β `[tokens, n·H]`, g `[tokens, H]`; returns o `[tokens, H·V]` and the
    /// kernel inputs the backward needs.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func trainingForward<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>?, heads h: Int, keyDim kd: Int,
        valueDim vd: Int, householder n: Int, layout: SequenceLayout
    ) throws(KernelError) -> (output: Tensor<T>, inputs: DeltaRule.Inputs<T>) {
        let lead = layout.kernelBatchShape
        let stepLead = [lead[0], lead[1] * n]
        let inputs = DeltaRule.Inputs(
            q: q.reshaped(lead + [h, kd]), k: k.reshaped(stepLead + [h, kd]), v: v.reshaped(stepLead + [h, vd]),
            beta: beta.reshaped(stepLead + [h]), g: g?.reshaped(lead + [h]))
        let result = try DeltaRule.chunked(
            inputs, numHouseholder: n, sequences: KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries))
        return (result.output.reshaped([layout.tokenCount, h * vd]), inputs)
    }

    /// dL/d(q, k, v, β, g) as `[tokens, features]` matrices from dL/do `[tokens, H·V]`
    /// (``/LRNNKernels/DeltaRule/backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:)``).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func trainingBackward<T: LRNNScalar>(
        _ inputs: DeltaRule.Inputs<T>, outputGradient dO: Tensor<T>, householder n: Int, layout: SequenceLayout
    ) throws(KernelError) -> (q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>?) {
        let rows = layout.tokenCount
        let d = try DeltaRule.backward(
            inputs, numHouseholder: n, sequences: KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries),
            outputGradient: dO.reshaped(inputs.q.shape.dropLast(2) + [inputs.v.shape[2], inputs.v.shape[3]]),
            finalStateGradient: nil)
        func flat(_ t: Tensor<T>) -> Tensor<T> { t.reshaped([rows, rows == 0 ? 0 : t.count / rows]) }
        return (flat(d.q), flat(d.k), flat(d.v), flat(d.beta), d.g.map(flat))
    }
}

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
    /// The forward pass from zero states and its pullback (fla's `GatedDeltaNet.forward` and
    /// `GatedDeltaProduct.forward`, differentiated).
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forwardWithPullback(_ x: Tensor<T>, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<T>, pullback: MixerPullback<T>)
    {
        let qf = ProjectedFeature(projection: qProj, conv: qConv1d, activation: .silu)
        let kf = ProjectedFeature(projection: kProj, conv: kConv1d, activation: .silu)
        let vf = ProjectedFeature(projection: vProj, conv: vConv1d, activation: .silu)
        let (qa, qs) = qf.forward(x, layout: layout)
        let (ka, ks) = kf.forward(x, layout: layout)
        let (v, vs) = vf.forward(x, layout: layout)
        var q = qa
        var k = ka
        l2Normalize(&q, groupSize: headKDim)
        l2Normalize(&k, groupSize: headKDim)
        let r = valueHeads / heads
        q = repeatHeads(q, heads: heads, headDim: headKDim, times: r)
        k = repeatHeads(k, heads: heads * householder, headDim: headKDim, times: r)
        let b = bProj(x)
        var beta = b
        sigmoidScaled(&beta, factor: betaFactor)
        var a: Tensor<T>? = nil
        var g: Tensor<T>? = nil
        if let aProj, let aLog, let dtBias {
            a = aProj(x)
            g = GatedDecay.forward(a!, aLog: aLog, dtBias: dtBias)
        }
        let (o, inputs) = try DeltaRuleRunner.trainingForward(
            q: q, k: k, v: v, beta: beta, g: g, heads: valueHeads, keyDim: headKDim, valueDim: headVDim,
            householder: householder, layout: layout)
        let (normed, gate) = oNorm.forwardSaving(o, input: x)
        let y = oProj(normed)
        let pullback: MixerPullback<T> = { dy throws(KernelError) in
            var dx = Tensor<T>.zeros(x.shape)
            var grad = self
            grad.oProj = oProj.gradient(input: normed, outputGradient: dy)
            let (dO, normGradient) = oNorm.backward(
                input: o, gate: gate, outputGradient: oProj.inputGradient(dy), mixerInput: x, inputGradient: &dx)
            grad.oNorm = normGradient
            let d = try DeltaRuleRunner.trainingBackward(
                inputs, outputGradient: dO, householder: householder, layout: layout)
            let db = sigmoidScaledBackward(logits: b, outputGradient: d.beta, factor: betaFactor)
            grad.bProj = bProj.gradient(input: x, outputGradient: db)
            bProj.accumulateInputGradient(db, into: &dx)
            if let aProj, let aLog, let dtBias, let a, let g, let dg = d.g {
                let (da, dALog, dBias) = GatedDecay.backward(
                    input: a, gate: g, outputGradient: dg, aLog: aLog, dtBias: dtBias)
                grad.aLog = dALog
                grad.dtBias = dBias
                grad.aProj = aProj.gradient(input: x, outputGradient: da)
                aProj.accumulateInputGradient(da, into: &dx)
            }
            let dq = repeatHeadsBackward(d.q, heads: heads, headDim: headKDim, times: r)
            let dk = repeatHeadsBackward(d.k, heads: heads * householder, headDim: headKDim, times: r)
            (grad.qProj, grad.qConv1d) = qf.backward(
                input: x, saved: qs,
                outputGradient: l2NormalizeBackward(input: qa, outputGradient: dq, groupSize: headKDim),
                layout: layout, inputGradient: &dx)
            (grad.kProj, grad.kConv1d) = kf.backward(
                input: x, saved: ks,
                outputGradient: l2NormalizeBackward(input: ka, outputGradient: dk, groupSize: headKDim),
                layout: layout, inputGradient: &dx)
            (grad.vProj, grad.vConv1d) = vf.backward(
                input: x, saved: vs, outputGradient: d.v, layout: layout, inputGradient: &dx)
            return (dx, grad)
        }
        return (y, pullback)
    }
}
