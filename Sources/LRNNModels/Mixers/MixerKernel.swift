import LRNNKernels
import LRNNLinearAlgebra

/// The recurrence a ``ProjectedKernelMixer`` runs between its projections and its output norm:
/// one kernel family (docs/kernels/contract.md) called with the model layer's `[tokens, features]`
/// activations, its output `[tokens, H·V]`.
///
/// Each verb reshapes the mixer's matrices to the kernel's `[B, T, H, D]` layout (`[1, tokens, …]`
/// with packed sequences) and back; nothing else. `Features` holds the kernel's inputs as
/// matrices and serves as their gradient too, as the kernels' `Inputs` do.
protocol MixerKernel<Scalar>: Sendable {
    /// The element type.
    associatedtype Scalar: LRNNScalar
    /// The kernel's inputs as `[tokens, features]` matrices (and their gradients).
    associatedtype Features
    /// What the kernel's backward needs from its training forward (the kernel family's `Inputs`).
    associatedtype Tape

    /// The chunked kernel over a whole layout, from `initialState [N, H, K, V]` (zeros when nil).
    ///
    /// - Parameters:
    ///   - features: the kernel inputs.
    ///   - layout: how the tokens split into sequences.
    ///   - initialState: the recurrent state to start from, or nil for zeros.
    /// - Returns: o `[tokens, H·V]` and the final state `[N, H, K, V]`.
    /// - Throws: ``/LRNNKernels/KernelError`` when the kernel refuses its inputs.
    func chunked(_ features: Features, layout: SequenceLayout, initialState: Tensor<Scalar>?) throws(KernelError)
        -> (output: Tensor<Scalar>, finalState: Tensor<Scalar>)

    /// One decoding step for `batch` sequences (one token each), `state [B, H, K, V]` in place.
    ///
    /// - Parameters:
    ///   - features: the kernel inputs of one token per sequence.
    ///   - batch: the number of sequences B.
    ///   - state: the recurrent state, advanced by one token.
    /// - Returns: o `[B, H·V]`.
    /// - Throws: ``/LRNNKernels/KernelError`` when the kernel refuses its inputs.
    func step(_ features: Features, batch: Int, state: inout Tensor<Scalar>) throws(KernelError) -> Tensor<Scalar>

    /// The chunked kernel from zero states for training, keeping what the backward needs.
    ///
    /// - Parameters:
    ///   - features: the kernel inputs.
    ///   - layout: how the tokens split into sequences.
    /// - Returns: o `[tokens, H·V]` and the tape.
    /// - Throws: ``/LRNNKernels/KernelError`` when the kernel refuses its inputs.
    func trainingForward(_ features: Features, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<Scalar>, tape: Tape)

    /// dL/d(features) from dL/do `[tokens, H·V]` (no gradient flows into a final state).
    ///
    /// - Parameters:
    ///   - tape: the training forward's tape.
    ///   - outputGradient: dL/do.
    ///   - layout: how the tokens split into sequences.
    /// - Throws: ``/LRNNKernels/KernelError`` when the kernel refuses its inputs.
    func backward(_ tape: Tape, outputGradient: Tensor<Scalar>, layout: SequenceLayout) throws(KernelError)
        -> Features
}

/// The delta rule (with its gate and its n Householder steps per token) as a mixer's kernel:
/// DeltaNet, Gated DeltaNet and Gated DeltaProduct (``/LRNNKernels/DeltaRule``).
struct DeltaRuleMixerKernel<Scalar: LRNNScalar>: MixerKernel {
    /// The kernel inputs as matrices: q `[tokens, H·K]`, k `[tokens, n·H·K]`, v `[tokens, n·H·V]`,
    /// β `[tokens, n·H]`, g `[tokens, H]` (nil without a forget gate).
    struct Features {
        /// The queries.
        var q: Tensor<Scalar>
        /// The keys, n per token.
        var k: Tensor<Scalar>
        /// The values, n per token.
        var v: Tensor<Scalar>
        /// The write strengths β, n per token.
        var beta: Tensor<Scalar>
        /// The log decays, or nil.
        var g: Tensor<Scalar>?
    }

    /// Heads H (the value heads), key and value dims per head, Householder steps n per token.
    let heads: Int, keyDim: Int, valueDim: Int, householder: Int

    /// The kernel's `Inputs` in `[B, T·n, H, D]` layout.
    ///
    /// - Parameters:
    ///   - f: the features.
    ///   - lead: the kernel's leading shape `[B, T]`.
    ///   - initialState: the state to start from, or nil.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func kernelInputs(_ f: Features, lead: [Int], initialState: Tensor<Scalar>?) -> DeltaRule.Inputs<Scalar> {
        let (h, kd, vd) = (heads, keyDim, valueDim)
        let stepLead = [lead[0], lead[1] * householder]
        return DeltaRule.Inputs(
            q: f.q.reshaped(lead + [h, kd]), k: f.k.reshaped(stepLead + [h, kd]), v: f.v.reshaped(stepLead + [h, vd]),
            beta: f.beta.reshaped(stepLead + [h]), g: f.g?.reshaped(lead + [h]), initialState: initialState)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func chunked(_ features: Features, layout: SequenceLayout, initialState: Tensor<Scalar>?) throws(KernelError)
        -> (output: Tensor<Scalar>, finalState: Tensor<Scalar>)
    {
        let inputs = kernelInputs(features, lead: layout.kernelBatchShape, initialState: initialState)
        let result = try DeltaRule.chunked(
            inputs, numHouseholder: householder,
            sequences: KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries))
        return (result.output.reshaped([layout.tokenCount, heads * valueDim]), result.finalState)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func step(_ features: Features, batch b: Int, state: inout Tensor<Scalar>) throws(KernelError) -> Tensor<Scalar> {
        let (h, kd, vd, n) = (heads, keyDim, valueDim, householder)
        let f = features
        let o = try DeltaRule.step(
            q: f.q.reshaped([b, 1, h, kd]), k: f.k.reshaped([b, n, h, kd]), v: f.v.reshaped([b, n, h, vd]),
            beta: f.beta.reshaped([b, n, h]), g: f.g?.reshaped([b, 1, h]), numHouseholder: n, state: &state)
        return o.reshaped([b, h * vd])
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func trainingForward(_ features: Features, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<Scalar>, tape: DeltaRule.Inputs<Scalar>)
    {
        let inputs = kernelInputs(features, lead: layout.kernelBatchShape, initialState: nil)
        let result = try DeltaRule.chunked(
            inputs, numHouseholder: householder,
            sequences: KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries))
        return (result.output.reshaped([layout.tokenCount, heads * valueDim]), inputs)
    }

    /// dL/d(q, k, v, β, g) from dL/do
    /// (``/LRNNKernels/DeltaRule/backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:)``).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func backward(_ tape: DeltaRule.Inputs<Scalar>, outputGradient dO: Tensor<Scalar>, layout: SequenceLayout)
        throws(KernelError) -> Features
    {
        let rows = layout.tokenCount
        let d = try DeltaRule.backward(
            tape, numHouseholder: householder,
            sequences: KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries),
            outputGradient: dO.reshaped(tape.q.shape.dropLast(2) + [tape.v.shape[2], tape.v.shape[3]]),
            finalStateGradient: nil)
        func flat(_ t: Tensor<Scalar>) -> Tensor<Scalar> { t.reshaped([rows, rows == 0 ? 0 : t.count / rows]) }
        return Features(q: flat(d.q), k: flat(d.k), v: flat(d.v), beta: flat(d.beta), g: d.g.map(flat))
    }
}

/// Gated linear attention as a mixer's kernel (``/LRNNKernels/GLA``).
struct GLAMixerKernel<Scalar: LRNNScalar>: MixerKernel {
    /// The kernel inputs as matrices over the H query heads: q, k, gk `[tokens, H·K]`, v `[tokens, H·V]`.
    struct Features {
        /// The queries.
        var q: Tensor<Scalar>
        /// The keys.
        var k: Tensor<Scalar>
        /// The values.
        var v: Tensor<Scalar>
        /// The log decays per key feature.
        var gk: Tensor<Scalar>
    }

    /// Heads H, key and value dims per head.
    let heads: Int, keyDim: Int, valueDim: Int

    /// The kernel's `Inputs` in `[B, T, H, D]` layout.
    ///
    /// - Parameters:
    ///   - f: the features.
    ///   - lead: the kernel's leading shape `[B, T]`.
    ///   - initialState: the state to start from, or nil.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func kernelInputs(_ f: Features, lead: [Int], initialState: Tensor<Scalar>?) -> GLA.Inputs<Scalar> {
        GLA.Inputs(
            q: f.q.reshaped(lead + [heads, keyDim]), k: f.k.reshaped(lead + [heads, keyDim]),
            v: f.v.reshaped(lead + [heads, valueDim]), gk: f.gk.reshaped(lead + [heads, keyDim]),
            initialState: initialState)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func chunked(_ features: Features, layout: SequenceLayout, initialState: Tensor<Scalar>?) throws(KernelError)
        -> (output: Tensor<Scalar>, finalState: Tensor<Scalar>)
    {
        let inputs = kernelInputs(features, lead: layout.kernelBatchShape, initialState: initialState)
        let r = try GLA.chunked(inputs, sequences: KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries))
        return (r.output.reshaped([layout.tokenCount, heads * valueDim]), r.finalState)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func step(_ features: Features, batch b: Int, state: inout Tensor<Scalar>) throws(KernelError) -> Tensor<Scalar> {
        let f = features
        let o = try GLA.step(
            q: f.q.reshaped([b, 1, heads, keyDim]), k: f.k.reshaped([b, 1, heads, keyDim]),
            v: f.v.reshaped([b, 1, heads, valueDim]), gk: f.gk.reshaped([b, 1, heads, keyDim]), state: &state)
        return o.reshaped([b, heads * valueDim])
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func trainingForward(_ features: Features, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<Scalar>, tape: GLA.Inputs<Scalar>)
    {
        let inputs = kernelInputs(features, lead: layout.kernelBatchShape, initialState: nil)
        let r = try GLA.chunked(inputs, sequences: KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries))
        return (r.output.reshaped([layout.tokenCount, heads * valueDim]), inputs)
    }

    /// dL/d(q, k, v, gk) from dL/do
    /// (``/LRNNKernels/GLA/backward(_:scale:sequences:chunkSize:subChunkSize:outputGradient:finalStateGradient:)``).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func backward(_ tape: GLA.Inputs<Scalar>, outputGradient dO: Tensor<Scalar>, layout: SequenceLayout)
        throws(KernelError) -> Features
    {
        let rows = layout.tokenCount
        let d = try GLA.backward(
            tape, sequences: KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries),
            outputGradient: dO.reshaped(layout.kernelBatchShape + [heads, valueDim]), finalStateGradient: nil)
        return Features(
            q: d.q.reshaped([rows, heads * keyDim]), k: d.k.reshaped([rows, heads * keyDim]),
            v: d.v.reshaped([rows, heads * valueDim]), gk: d.gk.reshaped([rows, heads * keyDim]))
    }
}
