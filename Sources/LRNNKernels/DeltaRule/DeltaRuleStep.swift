import LRNNLinearAlgebra

extension DeltaRule {
    /// One decoding step for B independent sequences, updating `state` in place.
    ///
    /// Per batch entry and head, with S = `state[b, h]` (K×V):
    ///
    ///     S ← exp(g)·S                                      (when g is given)
    ///     for j < n:   S ← S + β_j·k_j·(v_j − Sᵀk_j)ᵀ       (gemv + ger)
    ///     o = Sᵀ(scale·q)                                    (gemv)
    ///
    /// The decay is folded into the first step's gemv and one `scal`; every pass over S is a
    /// BLAS level-2 call. Batch × heads run as parallel work items when the state is large
    /// enough to pay for the threads.
    ///
    /// - Parameters:
    ///   - q: queries `[B, 1, H, K]`.
    ///   - k: keys `[B, n, H, K]`.
    ///   - v: values `[B, n, H, V]`.
    ///   - beta: step sizes `[B, n, H]`.
    ///   - g: optional log decays `[B, 1, H]` (≤ 0; −∞ zeroes the state before the update: a reset).
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - numHouseholder: n ≥ 1.
    ///   - state: `[B, H, K, V]`, updated in place (left unchanged when an error is thrown).
    /// - Returns: the output `[B, 1, H, V]`.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming the tensor,
    ///   ``KernelError/nonFinite(tensor:)`` for NaN/±∞ in any input or the state (NaN/+∞ in g),
    ///   ``KernelError/invalidArgument(name:reason:)`` for n < 1, g > 0 or a non-finite scale.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func step<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>? = nil,
        scale: T? = nil, numHouseholder: Int = 1, state: inout Tensor<T>
    ) throws(KernelError) -> Tensor<T> {
        let n = numHouseholder
        guard n >= 1 else {
            throw .invalidArgument(name: "numHouseholder", reason: "must be at least 1, got \(n)")
        }
        guard q.rank == 4, q.shape[1] == 1, q.shape[3] >= 1 else {
            throw .shapeMismatch(tensor: "q", shape: q.shape, expected: "[B, 1, H, K] with K ≥ 1")
        }
        let (b, h, dk) = (q.shape[0], q.shape[2], q.shape[3])
        guard k.shape == [b, n, h, dk] else {
            throw .shapeMismatch(tensor: "k", shape: k.shape, expected: "[B, n, H, K] = \([b, n, h, dk])")
        }
        guard v.rank == 4, Array(v.shape.prefix(3)) == [b, n, h], v.shape[3] >= 1 else {
            throw .shapeMismatch(tensor: "v", shape: v.shape, expected: "[B, n, H, V] = \([b, n, h]) + [V ≥ 1]")
        }
        let dv = v.shape[3]
        guard beta.shape == [b, n, h] else {
            throw .shapeMismatch(tensor: "beta", shape: beta.shape, expected: "[B, n, H] = \([b, n, h])")
        }
        if let g, g.shape != [b, 1, h] {
            throw .shapeMismatch(tensor: "g", shape: g.shape, expected: "[B, 1, H] = \([b, 1, h])")
        }
        try KernelError.requireShape(state, [b, h, dk, dv], "state")
        let scale = try DeltaRuleProblem.resolveScale(scale, keyDim: dk)
        try DeltaRuleProblem.requireFinite(q, "q")
        try DeltaRuleProblem.requireFinite(k, "k")
        try DeltaRuleProblem.requireFinite(v, "v")
        try DeltaRuleProblem.requireFinite(beta, "beta")
        if let g { try DeltaRuleProblem.requireLogDecays(g) }
        try DeltaRuleProblem.requireFinite(state, "state")
        return runStep(
            q: q, k: k, v: v, beta: beta, g: g, scale: scale, n: n, dims: (b, h, dk, dv), state: &state)
    }

    /// The step kernel over raw pointers, parallel over batch × heads for large states.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func runStep<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>?, scale: T, n: Int,
        dims: (b: Int, h: Int, dk: Int, dv: Int), state: inout Tensor<T>
    ) -> Tensor<T> {
        let (bb, hh, dk, dv) = dims
        let items = bb * hh
        var output = Tensor(shape: [bb, 1, hh, dv], scalars: [T](repeating: 0, count: items * dv))
        if items == 0 { return output }
        let gScalars = g?.scalars ?? []
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    beta.withUnsafeBufferPointer { betab in
                        gScalars.withUnsafeBufferPointer { gb in
                            output.withUnsafeMutableBufferPointer { ob in
                                state.withUnsafeMutableBufferPointer { sb in
                                    let qp = qb.baseAddress!
                                    let kp = kb.baseAddress!
                                    let vp = vb.baseAddress!
                                    let bp = betab.baseAddress!
                                    let gp = g != nil ? gb.baseAddress! : nil
                                    let op = ob.baseAddress!
                                    let sp = sb.baseAddress!
                                    let scratch = UnsafeMutablePointer<T>.allocate(capacity: items * dv)
                                    defer { scratch.deallocate() }
                                    let body = { (item: Int) in
                                        let bi = item / hh
                                        let h = item % hh
                                        let s = MatrixView(sp + item * dk * dv, rows: dk, columns: dv)
                                        let delta = scratch + item * dv
                                        for j in 0..<n {
                                            let row = (bi * n + j) * hh + h
                                            let kj = kp + row * dk
                                            let vj = vp + row * dv
                                            // δ = v − decay·Sᵀk  (S before the decay), then S ← decay·S + β·k·δᵀ.
                                            var decay: T = 1
                                            if j == 0, let gp { decay = T.exp(gp[bi * hh + h]) }
                                            BLAS.gemv(s, .transpose, x: kj, y: delta, alpha: -decay)
                                            BLAS.axpy(dv, alpha: 1, x: vj, y: delta)
                                            if decay != 1 { BLAS.scal(dk * dv, alpha: decay, x: s.base) }
                                            BLAS.ger(x: kj, y: delta, into: s, alpha: bp[row])
                                        }
                                        let qrow = qp + (bi * hh + h) * dk
                                        BLAS.gemv(s, .transpose, x: qrow, y: op + item * dv, alpha: scale)
                                    }
                                    if items > 1 && items * dk * dv >= stepParallelThreshold {
                                        Threading.parallelFor(items, body)
                                    } else {
                                        // Inline; OpenBLAS is single-threaded already (Threading's policy).
                                        for i in 0..<items { body(i) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// The total state size (B·H·K·V scalars) from which `step` spreads heads over threads.
    static let stepParallelThreshold = 1 << 17
}
