import LRNNKernels
import LRNNLinearAlgebra

/// The skeleton shared by the delta-rule and GLA mixers: project → kernel → output norm →
/// output projection, as fla's `DeltaNet`, `GatedDeltaNet`, `GatedDeltaProduct` and
/// `GatedLinearAttention` layers run it:
///
///     features = project(x)                       (q/k/v projections, short convolutions, gates)
///     o        = kernel(features, state)          (chunked for prefill, step for decoding)
///     y        = o_proj(o_norm(o [, g_proj x]))
///
/// A conforming mixer states only what differs: its ``Kernel`` family and how it projects its
/// kernel inputs (``projectKernelInputs(_:layout:state:)`` for inference,
/// ``projectKernelInputsForTraining(_:layout:)`` and ``projectKernelInputsBackward(_:tape:input:layout:inputGradient:parameters:)``
/// for training). The three pipelines — ``skeletonForward(_:layout:state:)`` (prefill),
/// ``skeletonStep(_:state:)`` (decoding) and `forwardWithPullback(_:layout:)` (training) — the
/// state hand-over and the output stage are written once, below and in the training files.
protocol ProjectedKernelMixer<Scalar>: TokenMixer {
    /// The kernel family the mixer runs.
    associatedtype Kernel: MixerKernel<Scalar>
    /// What the projection's backward needs from the training forward.
    associatedtype ProjectionTape

    /// The kernel, with the mixer's head extents.
    var kernel: Kernel { get }
    /// The output norm (plain, gated by `g_proj`, or norm then gate).
    var oNorm: OutputNorm<Scalar> { get set }
    /// `o_proj` `[hidden, H·V]`.
    var oProj: Linear<Scalar> { get set }

    /// The kernel inputs of `x [tokens, hidden]` for inference, reading and updating the
    /// convolution windows of `state` when one is carried.
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states.
    ///   - layout: how the tokens split into sequences.
    ///   - state: the mixer state (its `conv` windows are used here), or nil for zeros.
    func projectKernelInputs(_ x: Tensor<Scalar>, layout: SequenceLayout, state: inout MixerState<Scalar>?)
        -> Kernel.Features

    /// The kernel inputs of `x` from zero convolution windows, and what their backward needs.
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states.
    ///   - layout: how the tokens split into sequences.
    func projectKernelInputsForTraining(_ x: Tensor<Scalar>, layout: SequenceLayout)
        -> (features: Kernel.Features, tape: ProjectionTape)

    /// The projection's backward: adds dL/dx to `dx` and stores the gradients of the projection
    /// stage's parameters in `grad` (a mixer of this type whose parameters are gradients).
    ///
    /// - Parameters:
    ///   - gradients: dL/d(kernel inputs).
    ///   - tape: the training forward's tape.
    ///   - x: the mixer input.
    ///   - layout: how the tokens split into sequences.
    ///   - dx: dL/dx, added to.
    ///   - grad: the gradient, its projection-stage parameters set here.
    func projectKernelInputsBackward(
        _ gradients: Kernel.Features, tape: ProjectionTape, input x: Tensor<Scalar>, layout: SequenceLayout,
        inputGradient dx: inout Tensor<Scalar>, parameters grad: inout Self)
}

extension ProjectedKernelMixer {
    /// The prefill path: the chunked kernel from the state's recurrent state (zeros without a
    /// state), the final state handed back to it, then the output stage.
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    ///   - state: the state to start from and update, or nil for zeros.
    /// - Throws: ``/LRNNKernels/KernelError`` when the kernel refuses its inputs.
    func skeletonForward(
        _ x: Tensor<Scalar>, layout: SequenceLayout, state: inout MixerState<Scalar>?
    ) throws(KernelError) -> Tensor<Scalar> {
        let features = projectKernelInputs(x, layout: layout, state: &state)
        let r = try kernel.chunked(features, layout: layout, initialState: state?.recurrent)
        if state != nil { state!.recurrent = r.finalState }
        var o = r.output
        oNorm.apply(&o, input: x)
        return oProj(o)
    }

    /// The decoding path: one token per sequence through the kernel's step, the state advanced
    /// in place (its tensors moved out meanwhile so that they stay uniquely referenced).
    ///
    /// - Parameters:
    ///   - x: one token's normalised hidden state per sequence, `[B, hidden]`.
    ///   - state: the state, advanced by one token.
    /// - Throws: ``/LRNNKernels/KernelError`` when the kernel refuses its inputs.
    func skeletonStep(_ x: Tensor<Scalar>, state: inout MixerState<Scalar>) throws(KernelError) -> Tensor<Scalar> {
        let b = x.count / hiddenSize
        var s: MixerState<Scalar>? = state
        state = MixerState(conv: [], recurrent: Tensor(zeros: [0]))
        defer { state = s! }
        let features = projectKernelInputs(x, layout: .uniform(batch: b, length: 1), state: &s)
        var o = try kernel.step(features, batch: b, state: &s!.recurrent)
        oNorm.apply(&o, input: x)
        return oProj(o)
    }
}
