import LRNNLinearAlgebra

extension DeltaRule {
    /// The naive token-by-token delta rule: the definition, written as plain loops.
    ///
    /// Per sequence and head, with S the K×V state (initially `initialState` or 0):
    ///
    ///     S ← exp(g_t)·S                                    (when g is given; 0 for g_t = −∞)
    ///     for j in 0..<n, i = t·n + j:   S ← S + β_i·k_i·(v_i − Sᵀk_i)ᵀ
    ///     o_t = Sᵀ(scale·q_t)
    ///
    /// It costs O(T·n·K·V) scalar operations with no blocking and exists to check the fast
    /// paths (``chunked(_:scale:numHouseholder:sequences:chunkSize:)``,
    /// ``recurrent(_:scale:numHouseholder:sequences:)``) against: fla's `naive_recurrent` forms.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:numHouseholder:sequences:chunkSize:)``.
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - numHouseholder: n ≥ 1.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    /// - Returns: the output `[B, T, H, V]` and the final states `[N, H, K, V]`.
    /// - Throws: the same ``KernelError``s as `chunked` (every input is scanned before any work).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func reference<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, numHouseholder: Int = 1, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        let (q, k, v, beta, g, initialState) = (
            inputs.q, inputs.k, inputs.v, inputs.beta, inputs.g, inputs.initialState
        )
        let p = try DeltaRuleProblem.validate(
            q: q, k: k, v: v, beta: beta, g: g, initialState: initialState, sequences: sequences,
            numHouseholder: numHouseholder)
        let scale = try DeltaRuleProblem.resolveScale(scale, keyDim: p.keyDim)
        let (tt, hh, dk, dv, n) = (p.tokens, p.heads, p.keyDim, p.valueDim, p.householder)
        var out = Tensor<T>.zeros(p.outputShape)
        var final = initialState ?? Tensor<T>.zeros(p.stateShape)
        var s = [T](repeating: 0, count: dk * dv)
        var kv = [T](repeating: 0, count: dv)
        for (si, seq) in p.sequences.enumerated() {
            for h in 0..<hh {
                let stateOffset = (si * hh + h) * dk * dv
                for e in 0..<(dk * dv) { s[e] = final.scalars[stateOffset + e] }
                for t in seq.start..<seq.end {
                    let row = seq.batch * tt + t
                    if let g {
                        let decay = T.exp(g.scalars[row * hh + h])
                        for e in 0..<(dk * dv) { s[e] *= decay }
                    }
                    for j in 0..<n {
                        let step = seq.batch * tt * n + t * n + j
                        let kOff = (step * hh + h) * dk
                        let vOff = (step * hh + h) * dv
                        let b = beta.scalars[step * hh + h]
                        for c in 0..<dv {
                            var acc: T = 0
                            for r in 0..<dk { acc += s[r * dv + c] * k.scalars[kOff + r] }
                            kv[c] = v.scalars[vOff + c] - acc
                        }
                        for r in 0..<dk {
                            let bk = b * k.scalars[kOff + r]
                            for c in 0..<dv { s[r * dv + c] += bk * kv[c] }
                        }
                    }
                    let qOff = (row * hh + h) * dk
                    let oOff = (row * hh + h) * dv
                    for c in 0..<dv {
                        var acc: T = 0
                        for r in 0..<dk { acc += s[r * dv + c] * q.scalars[qOff + r] }
                        out.scalars[oOff + c] = scale * acc
                    }
                }
                for e in 0..<(dk * dv) { final.scalars[stateOffset + e] = s[e] }
            }
        }
        return (out, final)
    }

    /// ``reference(_:scale:numHouseholder:sequences:)`` with separate tensors and fla's
    /// `cu_seqlens` list (the argument list of existing call sites).
    ///
    /// - Parameters:
    ///   - q: queries `[B, T, H, K]`.
    ///   - k: keys `[B, T·n, H, K]`.
    ///   - v: values `[B, T·n, H, V]`.
    ///   - beta: step sizes `[B, T·n, H]`.
    ///   - g: optional log decays `[B, T, H]`.
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - initialState: optional `[N, H, K, V]`.
    ///   - cuSeqlens: optional packed-sequence boundaries.
    ///   - numHouseholder: n ≥ 1.
    /// - Returns: the output `[B, T, H, V]` and the final states `[N, H, K, V]`.
    /// - Throws: as ``reference(_:scale:numHouseholder:sequences:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func reference<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>? = nil,
        scale: T? = nil, initialState: Tensor<T>? = nil, cuSeqlens: [Int]? = nil,
        numHouseholder: Int = 1
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        try reference(
            Inputs(q: q, k: k, v: v, beta: beta, g: g, initialState: initialState), scale: scale,
            numHouseholder: numHouseholder, sequences: KernelError.sequenceBoundaries(cuSeqlens))
    }
}
