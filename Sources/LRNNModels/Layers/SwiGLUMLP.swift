import LRNNLinearAlgebra

/// The gated MLP of every fla block: `down_proj(silu(gate_proj x) ⊙ up_proj x)`
/// (checkpoint keys `mlp.gate_proj.weight`, `mlp.up_proj.weight`, `mlp.down_proj.weight`).
public struct SwiGLUMLP<T: LRNNScalar>: Sendable {
    /// `mlp.gate_proj` `[intermediate, hidden]`.
    public let gateProj: Linear<T>
    /// `mlp.up_proj` `[intermediate, hidden]`.
    public let upProj: Linear<T>
    /// `mlp.down_proj` `[hidden, intermediate]`.
    public let downProj: Linear<T>

    /// Creates the MLP from its three projections.
    ///
    /// - Parameters:
    ///   - gateProj: `[intermediate, hidden]`.
    ///   - upProj: `[intermediate, hidden]`.
    ///   - downProj: `[hidden, intermediate]`.
    public init(gateProj: Linear<T>, upProj: Linear<T>, downProj: Linear<T>) {
        self.gateProj = gateProj
        self.upProj = upProj
        self.downProj = downProj
    }

    /// Applies the MLP to `x [rows, hidden]`, returning `[rows, hidden]`.
    ///
    /// - Parameter x: `[rows, hidden]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func callAsFunction(_ x: Tensor<T>) -> Tensor<T> {
        var g = gateProj(x)
        let u = upProj(x)
        let n = g.count
        u.withUnsafeBufferPointer { ub in
            g.withUnsafeMutableBufferPointer { gb in
                let gp = gb.baseAddress!
                let up = ub.baseAddress!
                parallelRanges(n, unitCost: 20) { range in
                    for i in range { gp[i] = gp[i] / (1 + T.exp(-gp[i])) * up[i] }
                }
            }
        }
        return downProj(g)
    }
}
