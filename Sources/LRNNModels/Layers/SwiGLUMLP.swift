import LRNNLinearAlgebra

/// The gated MLP of every fla block: `down_proj(silu(gate_proj x) ⊙ up_proj x)`
/// (checkpoint keys `mlp.gate_proj.weight`, `mlp.up_proj.weight`, `mlp.down_proj.weight`).
public struct SwiGLUMLP<T: LRNNScalar>: Sendable, ParameterContainer {
    /// `mlp.gate_proj` `[intermediate, hidden]`.
    public internal(set) var gateProj: Linear<T>
    /// `mlp.up_proj` `[intermediate, hidden]`.
    public internal(set) var upProj: Linear<T>
    /// `mlp.down_proj` `[hidden, intermediate]`.
    public internal(set) var downProj: Linear<T>

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

    /// An MLP `hidden → intermediate → hidden` whose weights a ``ParameterWalk`` supplies.
    init(hiddenSize: Int, intermediateSize: Int) {
        gateProj = Linear(outFeatures: intermediateSize, inFeatures: hiddenSize)
        upProj = Linear(outFeatures: intermediateSize, inFeatures: hiddenSize)
        downProj = Linear(outFeatures: hiddenSize, inFeatures: intermediateSize)
    }

    /// `gate_proj`, `up_proj`, `down_proj`.
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.child("gate_proj", &gateProj)
        try walk.child("up_proj", &upProj)
        try walk.child("down_proj", &downProj)
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
