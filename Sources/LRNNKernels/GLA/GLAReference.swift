import LRNNLinearAlgebra
import RealModule

extension GLA {
    /// The plain token loop behind ``reference(q:k:v:gk:scale:initialState:cuSeqlens:)``: for every
    /// sequence and head, `S ← diag(exp(gk_t))·S + k_t·v_tᵀ`, then `o_t = Sᵀ·(scale·q_t)`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func runReference<T: LRNNScalar>(
        _ p: Problem<T>, q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, initialState: Tensor<T>?
    ) -> (output: Tensor<T>, finalState: Tensor<T>) {
        let (tokens, heads, dk, dv) = (p.tokens, p.heads, p.keyDim, p.valueDim)
        var output: Tensor<T> = GLA.zeros([p.batch, tokens, heads, dv])
        var finalState: Tensor<T> = initialState ?? GLA.zeros([p.stateCount, heads, dk, dv])
        for (n, seg) in p.segments.enumerated() {
            for h in 0..<heads {
                let stateBase = (n * heads + h) * dk * dv
                for t in seg.start..<(seg.start + seg.length) {
                    let row = (seg.batch * tokens + t) * heads + h
                    let kOff = row * dk
                    let vOff = row * dv
                    for x in 0..<dk {
                        let a = T.exp(gk.scalars[kOff + x])
                        let kx = k.scalars[kOff + x]
                        for y in 0..<dv {
                            let s = stateBase + x * dv + y
                            finalState.scalars[s] = a * finalState.scalars[s] + kx * v.scalars[vOff + y]
                        }
                    }
                    for y in 0..<dv {
                        var acc: T = 0
                        for x in 0..<dk {
                            acc += finalState.scalars[stateBase + x * dv + y] * (p.scale * q.scalars[kOff + x])
                        }
                        output.scalars[vOff + y] = acc
                    }
                }
            }
        }
        return (output, finalState)
    }
}
