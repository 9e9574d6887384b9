import LRNNLinearAlgebra
import RealModule

extension GLA {
    /// The plain token loop behind ``reference(_:scale:sequences:)``: for every
    /// sequence and head, `S ← diag(exp(gk_t))·S + k_t·v_tᵀ`, then `o_t = Sᵀ·(scale·q_t)`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func runReference<T: LRNNScalar>(
        _ p: Problem<T>, q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, initialState: Tensor<T>?
    ) -> (output: Tensor<T>, finalState: Tensor<T>) {
        let (tokens, heads, dk, dv) = (p.tokens, p.heads, p.keyDim, p.valueDim)
        var output: Tensor<T> = Tensor<T>.zeros([p.batch, tokens, heads, dv])
        var finalState: Tensor<T> = initialState ?? Tensor<T>.zeros([p.stateCount, heads, dk, dv])
        q.withUnsafeBufferPointer { qp in
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    gk.withUnsafeBufferPointer { gp in
                        output.withUnsafeMutableBufferPointer { op in
                            finalState.withUnsafeMutableBufferPointer { sp in
                                for (n, seg) in p.segments.enumerated() {
                                    for h in 0..<heads {
                                        let state = (n * heads + h) * dk * dv
                                        for t in seg.start..<(seg.start + seg.length) {
                                            let row = (seg.batch * tokens + t) * heads + h
                                            let kOff = row * dk
                                            let vOff = row * dv
                                            // S ← diag(exp(gk_t))·S + k_t·v_tᵀ
                                            for x in 0..<dk {
                                                let a = T.exp(gp[kOff + x])
                                                let kx = kp[kOff + x]
                                                for y in 0..<dv {
                                                    let i = state + x * dv + y
                                                    sp[i] = a * sp[i] + kx * vp[vOff + y]
                                                }
                                            }
                                            // o_t = Sᵀ·(scale·q_t)
                                            for x in 0..<dk {
                                                let qx = p.scale * qp[kOff + x]
                                                for y in 0..<dv { op[vOff + y] += sp[state + x * dv + y] * qx }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (output, finalState)
    }
}
