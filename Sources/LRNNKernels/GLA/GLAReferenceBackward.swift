import LRNNLinearAlgebra
import RealModule

extension GLA {
    /// The token loop behind ``referenceBackward(_:scale:sequences:outputGradient:finalStateGradient:)``:
    /// for every sequence and head, the recurrence forward keeping every state, then the adjoint
    /// recurrence backward (see the public function for the equations).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func runReferenceBackward<T: LRNNScalar>(
        _ p: Problem<T>, _ x: Inputs<T>, outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?
    ) -> Inputs<T> {
        let (tokens, heads, dk, dv) = (p.tokens, p.heads, p.keyDim, p.valueDim)
        let stateSize = dk * dv
        var gradQ: Tensor<T> = Tensor.zeros(x.q.shape)
        var gradK: Tensor<T> = Tensor.zeros(x.k.shape)
        var gradV: Tensor<T> = Tensor.zeros(x.v.shape)
        var gradGK: Tensor<T> = Tensor.zeros(x.gk.shape)
        var gradH0: Tensor<T> = Tensor.zeros([p.stateCount, heads, dk, dv])
        let longest = p.segments.map(\.length).max() ?? 0
        // states[t] = S_t of the current sequence and head, t = 0 ... length.
        var states = [T](repeating: 0, count: (longest + 1) * stateSize)
        var dS = [T](repeating: 0, count: stateSize)
        let zeroO = [T](repeating: 0, count: dv)
        for (n, seg) in p.segments.enumerated() {
            for h in 0..<heads {
                let stateOffset = (n * heads + h) * stateSize
                // Forward: S_0 = h0, S_t = diag(exp(gk_t))·S_{t−1} + k_t·v_tᵀ.
                for i in 0..<stateSize { states[i] = x.initialState?.scalars[stateOffset + i] ?? 0 }
                for t in 0..<seg.length {
                    let row = (seg.batch * tokens + seg.start + t) * heads + h
                    for r in 0..<dk {
                        let a = T.exp(x.gk.scalars[row * dk + r])
                        let kr = x.k.scalars[row * dk + r]
                        for c in 0..<dv {
                            let prev = states[t * stateSize + r * dv + c]
                            states[(t + 1) * stateSize + r * dv + c] = a * prev + kr * x.v.scalars[row * dv + c]
                        }
                    }
                }
                // Backward: dS = dS_T (finalStateGradient), then token by token.
                for i in 0..<stateSize { dS[i] = finalStateGradient?.scalars[stateOffset + i] ?? 0 }
                for t in stride(from: seg.length - 1, through: 0, by: -1) {
                    let row = (seg.batch * tokens + seg.start + t) * heads + h
                    let st = (t + 1) * stateSize  // S_t (after the token)
                    let sPrev = t * stateSize  // S_{t−1}
                    let dO = outputGradient.map { Array($0.scalars[(row * dv)..<(row * dv + dv)]) } ?? zeroO
                    for r in 0..<dk {
                        let qr = p.scale * x.q.scalars[row * dk + r]
                        let kr = x.k.scalars[row * dk + r]
                        let a = T.exp(x.gk.scalars[row * dk + r])
                        var dqr: T = 0
                        var dkr: T = 0
                        var da: T = 0
                        for c in 0..<dv {
                            // dS_t = dS (from later tokens) + scale·q_t·do_tᵀ
                            let g = dS[r * dv + c] + qr * dO[c]
                            dqr += states[st + r * dv + c] * dO[c]
                            dkr += g * x.v.scalars[row * dv + c]
                            gradV.scalars[row * dv + c] += g * kr
                            da += g * states[sPrev + r * dv + c]
                            dS[r * dv + c] = a * g  // becomes dS for S_{t−1}
                        }
                        gradQ.scalars[row * dk + r] = p.scale * dqr
                        gradK.scalars[row * dk + r] = dkr
                        gradGK.scalars[row * dk + r] = a * da
                    }
                }
                for i in 0..<stateSize { gradH0.scalars[stateOffset + i] = dS[i] }
            }
        }
        return Inputs(q: gradQ, k: gradK, v: gradV, gk: gradGK, initialState: x.initialState == nil ? nil : gradH0)
    }
}
