import LRNNKernels
import LRNNLinearAlgebra

extension AttentionMixer: DifferentiableTokenMixer {
    /// The forward pass from empty caches and its pullback (fla's `Attention.forward`,
    /// differentiated): `o_proj`, the blocked attention backward
    /// (``SoftmaxAttention/backward(q:k:v:outputGradient:cuSeqlensQ:cuSeqlensK:windowSize:scale:blockSize:)``'s
    /// two passes, grouped KV heads and the sliding window included), the inverse rotation of dq
    /// and dk (the rotary embedding is orthogonal: its backward rotates by −θ), then `q_proj`,
    /// `k_proj`, `v_proj` (weights and, with `qkv_bias`, biases) and dL/dx. Every sequence of a
    /// packed layout attends within itself, from position 0.
    ///
    /// Kept: x, the rotated q and k, v, the attention output and each query row's log-sum-exp;
    /// the backward rebuilds the probabilities block by block from them.
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forwardWithPullback(_ x: Tensor<T>, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<T>, pullback: MixerPullback<T>)
    {
        let boundaries = layout.boundaries
        let n = layout.sequenceCount
        let starts = Array(boundaries.dropLast())
        let lengths = (0..<n).map { boundaries[$0 + 1] - boundaries[$0] }
        let offsets = [Int](repeating: 0, count: n)
        let (q, k, v) = try inputs(x, boundaries: boundaries, offsets: offsets)
        let problem = AttentionProblem(
            heads: heads, kvHeads: kvHeads, headDim: headDim, window: windowSize, blockSize: blockSize,
            qStart: starts, qLength: lengths, kStart: starts, kLength: lengths)
        let s = scale
        var o = Tensor<T>.zeros([layout.tokenCount, heads * headDim])
        var lse = Tensor<T>.zeros([layout.tokenCount * heads])
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    o.withUnsafeMutableBufferPointer { ob in
                        lse.withUnsafeMutableBufferPointer { lb in
                            problem.run(
                                scale: s, q: qb.baseAddress!, k: kb.baseAddress!, v: vb.baseAddress!,
                                out: ob.baseAddress!, logSumExp: lb.baseAddress!)
                        }
                    }
                }
            }
        }
        let y = oProj(o)
        let pullback: MixerPullback<T> = { dy throws(KernelError) in
            var grad = self
            grad.oProj = oProj.gradient(input: o, outputGradient: dy)
            let dO = oProj.inputGradient(dy)
            try KernelError.requireFinite(dO, "outputGradient")
            var (dq, dk, dv) = problem.backward(
                scale: s, q: q, k: k, v: v, output: o, logSumExp: lse, outputGradient: dO)
            rotary.rotate(
                q: &dq, qHeads: heads, k: &dk, kHeads: kvHeads, boundaries: boundaries, offsets: offsets,
                inverse: true)
            var dx = Tensor<T>.zeros(x.shape)
            grad.qProj = qProj.gradient(input: x, outputGradient: dq)
            grad.kProj = kProj.gradient(input: x, outputGradient: dk)
            grad.vProj = vProj.gradient(input: x, outputGradient: dv)
            qProj.accumulateInputGradient(dq, into: &dx)
            kProj.accumulateInputGradient(dk, into: &dx)
            vProj.accumulateInputGradient(dv, into: &dx)
            return (dx, grad)
        }
        return (y, pullback)
    }
}
