import LRNNLinearAlgebra

extension DeltaRule {
    /// The gradients of the naive delta rule, differentiated token by token: the test oracle of
    /// ``backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:)``.
    ///
    /// For L = Σ output ⊙ `outputGradient` + Σ finalState ⊙ `finalStateGradient`, per sequence and
    /// head it runs the recurrence forward keeping S̃_i, the state after step i's decay and before
    /// its update, then walks the steps backwards with dS = dL/dS (starting from the final-state
    /// cotangent). With r = v_i − S̃_iᵀk_i and w = dSᵀk_i, step i
    /// (S_i = S̃_i + β_i k_i rᵀ) gives
    ///
    ///     dv_i = β_i w,   dβ_i = wᵀr,   dk_i = β_i (dS·r − S̃_i·w),   dS̃ = dS − β_i k_i wᵀ
    ///
    /// a token's last step first adds its output's share (dq_t = scale·S_i·do_t,
    /// dS += scale·q_t do_tᵀ), and a token's first step passes through the decay
    /// (dg_t = ⟨dS̃, S̃⟩, dS = exp(g_t)·dS̃). At the sequence start dh0 = dS. It costs O(T·n·K·V)
    /// scalar operations and O(T·n·K·V) memory per sequence and head: meant for small problems.
    ///
    /// Source: reverse-mode differentiation of the recurrence in Yang et al. 2024, "Parallelizing
    /// Linear Transformers with the Delta Rule over Sequence Length" (eq. 1; fla's
    /// `fused_recurrent_delta_rule` backward).
    ///
    /// - Parameters:
    ///   - inputs: the forward's inputs: `q` `[B, T, H, K]`, `k` `[B, T·n, H, K]`,
    ///     `v` `[B, T·n, H, V]`, `beta` `[B, T·n, H]`, optional `g` `[B, T, H]` (log decays ≤ 0,
    ///     −∞ a reset) and optional `initialState` `[N, H, K, V]`.
    ///   - scale: the query scale; `nil` means `1/√K` (a constant: not differentiated).
    ///   - numHouseholder: n ≥ 1, the Householder steps per token (a constant).
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - outputGradient: dL/d(output) `[B, T, H, V]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, H, K, V]`, or nil for zero.
    /// - Returns: the gradients, as for `backward`.
    /// - Throws: the same ``KernelError``s as `backward` (without `chunkSize`).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func referenceBackward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, numHouseholder: Int = 1, sequences: SequenceBoundaries? = nil,
        outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?
    ) throws(KernelError) -> Inputs<T> {
        let p = try validateBackward(
            inputs, chunkSize: 1, numHouseholder: numHouseholder, sequences: sequences, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient)
        let scale = try DeltaRuleProblem.resolveScale(scale, keyDim: p.keyDim)
        let (tt, hh, dk, dv, n) = (p.tokens, p.heads, p.keyDim, p.valueDim, p.householder)
        let (q, k, v, beta) = (inputs.q.scalars, inputs.k.scalars, inputs.v.scalars, inputs.beta.scalars)
        let g = inputs.g?.scalars
        var grad = zeroGradients(like: inputs)
        let kv = dk * dv
        var saved: [T] = []  // S̃_i of every step of the current sequence and head
        var s = [T](repeating: 0, count: kv)
        var ds = [T](repeating: 0, count: kv)
        var r = [T](repeating: 0, count: dv)
        var w = [T](repeating: 0, count: dv)
        for seq in p.sequences {
            let steps = (seq.end - seq.start) * n
            saved = [T](repeating: 0, count: steps * kv)
            for h in 0..<hh {
                let stateOffset = seq.index(p, head: h) * kv
                // Forward, keeping S̃_i.
                for e in 0..<kv { s[e] = inputs.initialState?.scalars[stateOffset + e] ?? 0 }
                for t in seq.start..<seq.end {
                    let row = seq.batch * tt + t
                    if let g {
                        let decay = T.exp(g[row * hh + h])
                        for e in 0..<kv { s[e] *= decay }
                    }
                    for j in 0..<n {
                        let local = (t - seq.start) * n + j
                        let step = row * n + j
                        for e in 0..<kv { saved[local * kv + e] = s[e] }
                        let (kOff, vOff, b) = ((step * hh + h) * dk, (step * hh + h) * dv, beta[step * hh + h])
                        for c in 0..<dv {
                            var acc: T = 0
                            for a in 0..<dk { acc += s[a * dv + c] * k[kOff + a] }
                            r[c] = v[vOff + c] - acc
                        }
                        for a in 0..<dk {
                            let bk = b * k[kOff + a]
                            for c in 0..<dv { s[a * dv + c] += bk * r[c] }
                        }
                    }
                }
                // Backward.
                for e in 0..<kv { ds[e] = finalStateGradient?.scalars[stateOffset + e] ?? 0 }
                for t in (seq.start..<seq.end).reversed() {
                    let row = seq.batch * tt + t
                    for j in (0..<n).reversed() {
                        let local = (t - seq.start) * n + j
                        let step = row * n + j
                        let st = local * kv  // S̃_i in saved[st ..< st + kv]
                        let (kOff, vOff, b) = ((step * hh + h) * dk, (step * hh + h) * dv, beta[step * hh + h])
                        for c in 0..<dv {
                            var acc: T = 0
                            for a in 0..<dk { acc += saved[st + a * dv + c] * k[kOff + a] }
                            r[c] = v[vOff + c] - acc
                        }
                        if j == n - 1, let dO = outputGradient {
                            // o_t = scale·S_iᵀq_t with S_i = S̃_i + β k rᵀ.
                            let (qOff, oOff) = ((row * hh + h) * dk, (row * hh + h) * dv)
                            for a in 0..<dk {
                                var acc: T = 0
                                let bk = b * k[kOff + a]
                                for c in 0..<dv { acc += (saved[st + a * dv + c] + bk * r[c]) * dO.scalars[oOff + c] }
                                grad.q.scalars[qOff + a] = scale * acc
                                let sq = scale * q[qOff + a]
                                for c in 0..<dv { ds[a * dv + c] += sq * dO.scalars[oOff + c] }
                            }
                        }
                        // w = dSᵀk, then the step's gradients and dS̃.
                        for c in 0..<dv {
                            var acc: T = 0
                            for a in 0..<dk { acc += ds[a * dv + c] * k[kOff + a] }
                            w[c] = acc
                        }
                        var db: T = 0
                        for c in 0..<dv {
                            grad.v.scalars[vOff + c] = b * w[c]
                            db += w[c] * r[c]
                        }
                        grad.beta.scalars[step * hh + h] = db
                        for a in 0..<dk {
                            var acc: T = 0
                            for c in 0..<dv { acc += ds[a * dv + c] * r[c] - saved[st + a * dv + c] * w[c] }
                            grad.k.scalars[kOff + a] = b * acc
                        }
                        for a in 0..<dk {
                            let bk = b * k[kOff + a]
                            for c in 0..<dv { ds[a * dv + c] -= bk * w[c] }
                        }
                        if j == 0, let g {
                            // S̃ = exp(g_t)·S_prev: dg_t = ⟨dS̃, S̃⟩, dS_prev = exp(g_t)·dS̃.
                            var dgt: T = 0
                            for e in 0..<kv { dgt += ds[e] * saved[st + e] }
                            grad.g!.scalars[row * hh + h] = dgt
                            let decay = T.exp(g[row * hh + h])
                            for e in 0..<kv { ds[e] *= decay }
                        }
                    }
                }
                if grad.initialState != nil {
                    for e in 0..<kv { grad.initialState!.scalars[stateOffset + e] = ds[e] }
                }
            }
        }
        return grad
    }
}
