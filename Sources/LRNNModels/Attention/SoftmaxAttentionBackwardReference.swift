import LRNNKernels
import LRNNLinearAlgebra

extension SoftmaxAttention {
    /// The naive backward: for every query and head, the softmax over the keys it sees and its
    /// Jacobian applied directly, the test oracle of
    /// ``backward(q:k:v:outputGradient:cuSeqlensQ:cuSeqlensK:windowSize:scale:blockSize:)``.
    ///
    ///     P_j = softmax_j(scale·q·k_j),  dP_j = dO·v_j,  dS_j = P_j·(dP_j − Σ_l P_l·dP_l)
    ///     dq += scale·Σ_j dS_j·k_j,   dk_j += scale·dS_j·q,   dv_j += P_j·dO
    ///
    /// - Parameters:
    ///   - q: queries `[B, Tq, H, D]`.
    ///   - k: keys `[B, Tk, Hkv, D]`.
    ///   - v: values `[B, Tk, Hkv, D]`.
    ///   - outputGradient: dL/d(output) `[B, Tq, H, D]`.
    ///   - cuSeqlensQ: packed query sequences, as for the blocked path.
    ///   - cuSeqlensK: packed key sequences, as for the blocked path.
    ///   - windowSize: the sliding window, or nil.
    ///   - scale: the score scale (nil: `1/√D`).
    /// - Returns: dL/dq, dL/dk and dL/dv, of the shapes of q, k and v.
    /// - Throws: the errors of the blocked backward.
    public static func referenceBackward<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, outputGradient: Tensor<T>, cuSeqlensQ: [Int]? = nil,
        cuSeqlensK: [Int]? = nil, windowSize: Int? = nil, scale: T? = nil
    ) throws(KernelError) -> (q: Tensor<T>, k: Tensor<T>, v: Tensor<T>) {
        let p = try AttentionProblem(
            q: q, k: k, v: v, cuSeqlensQ: cuSeqlensQ, cuSeqlensK: cuSeqlensK, windowSize: windowSize, blockSize: 1)
        try KernelError.requireShape(outputGradient, q.shape, "outputGradient")
        try KernelError.requireFinite(outputGradient, "outputGradient")
        let s = try resolvedScale(scale, headDim: p.headDim)
        let (h, hkv, d) = (p.heads, p.kvHeads, p.headDim)
        let g = h / hkv
        let dO = outputGradient.scalars
        var dq = [T](repeating: 0, count: q.count)
        var dk = [T](repeating: 0, count: k.count)
        var dv = [T](repeating: 0, count: v.count)
        for n in 0..<p.qStart.count {
            let offset = p.kLength[n] - p.qLength[n]
            for i in 0..<p.qLength[n] {
                let position = offset + i
                let keys = Array((p.window.map { Swift.max(0, position - $0 + 1) } ?? 0)...position)
                for head in 0..<h {
                    let qBase = (p.qStart[n] + i) * h * d + head * d
                    let kBase = keys.map { (p.kStart[n] + $0) * hkv * d + (head / g) * d }
                    let scores = kBase.map { kb in
                        (0..<d).reduce(T(0)) { $0 + q.scalars[qBase + $1] * k.scalars[kb + $1] } * s
                    }
                    let m = scores.max()!
                    let e = scores.map { T.exp($0 - m) }
                    let total = e.reduce(0, +)
                    let prob = e.map { $0 / total }
                    let dp = kBase.map { vb in (0..<d).reduce(T(0)) { $0 + dO[qBase + $1] * v.scalars[vb + $1] } }
                    let mean = zip(prob, dp).reduce(T(0)) { $0 + $1.0 * $1.1 }
                    for (j, base) in kBase.enumerated() {
                        let ds = prob[j] * (dp[j] - mean)
                        for c in 0..<d {
                            dq[qBase + c] += s * ds * k.scalars[base + c]
                            dk[base + c] += s * ds * q.scalars[qBase + c]
                            dv[base + c] += prob[j] * dO[qBase + c]
                        }
                    }
                }
            }
        }
        return (
            Tensor(shape: q.shape, scalars: dq), Tensor(shape: k.shape, scalars: dk),
            Tensor(shape: v.shape, scalars: dv)
        )
    }
}
