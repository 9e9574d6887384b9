import LRNNKernels
import LRNNLinearAlgebra

/// Calls the delta-rule kernels with the model layer's `[tokens, features]` activations.
enum DeltaRuleRunner {
    /// The chunked kernel over a whole layout: q `[tokens, H·K]`, k `[tokens, n·H·K]`,
    /// v `[tokens, n·H·V]`, β `[tokens, n·H]`, g `[tokens, H]`; returns o `[tokens, H·V]` and
    /// updates the recurrent state when one is carried.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>?, heads h: Int, keyDim kd: Int,
        valueDim vd: Int, householder n: Int, layout: SequenceLayout, state: inout MixerState<T>?
    ) throws(KernelError) -> Tensor<T> {
        let lead = layout.kernelBatchShape
        let stepLead = [lead[0], lead[1] * n]
        let inputs = DeltaRule.Inputs(
            q: q.reshaped(lead + [h, kd]), k: k.reshaped(stepLead + [h, kd]), v: v.reshaped(stepLead + [h, vd]),
            beta: beta.reshaped(stepLead + [h]), g: g?.reshaped(lead + [h]), initialState: state?.recurrent)
        let result = try DeltaRule.chunked(
            inputs, numHouseholder: n, sequences: KernelError.sequenceBoundaries(layout.kernelSequenceBoundaries))
        if state != nil { state!.recurrent = result.finalState }
        return result.output.reshaped([layout.tokenCount, h * vd])
    }

    /// One decoding step for B sequences (one token each), state `[B, H, K, V]` in place.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func step<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>?, heads h: Int, keyDim kd: Int,
        valueDim vd: Int, householder n: Int, batch b: Int, state: inout Tensor<T>
    ) throws(KernelError) -> Tensor<T> {
        let o = try DeltaRule.step(
            q: q.reshaped([b, 1, h, kd]), k: k.reshaped([b, n, h, kd]), v: v.reshaped([b, n, h, vd]),
            beta: beta.reshaped([b, n, h]), g: g?.reshaped([b, 1, h]), numHouseholder: n, state: &state)
        return o.reshaped([b, h * vd])
    }
}
