import LRNNKernels
import LRNNLinearAlgebra

/// One pre-norm residual block: `h ← h + attn(attn_norm(h))`, then `h ← h + mlp(mlp_norm(h))`
/// (checkpoint keys `model.layers.{i}.attn_norm.weight`, `….attn.*`, `….mlp_norm.weight`, `….mlp.*`).
///
/// A ``ParameterContainer`` with the children `attn_norm`, `attn`, `mlp_norm`, `mlp`.
public struct Block<T: LRNNScalar>: Sendable, ParameterContainer {
    /// `attn_norm` `[hidden]`.
    public internal(set) var attnNorm: RMSNorm<T>
    /// The token mixer (`attn`).
    public internal(set) var attn: any TokenMixer<T>
    /// `mlp_norm` `[hidden]` (nil for a block without an MLP).
    public internal(set) var mlpNorm: RMSNorm<T>?
    /// `mlp` (nil for a block without an MLP).
    public internal(set) var mlp: SwiGLUMLP<T>?

    /// Creates a block from its parts.
    ///
    /// - Parameters:
    ///   - attnNorm: the norm before the mixer.
    ///   - attn: the token mixer.
    ///   - mlpNorm: the norm before the MLP, or nil.
    ///   - mlp: the MLP, or nil.
    public init(attnNorm: RMSNorm<T>, attn: any TokenMixer<T>, mlpNorm: RMSNorm<T>?, mlp: SwiGLUMLP<T>?) {
        self.attnNorm = attnNorm
        self.attn = attn
        self.mlpNorm = mlpNorm
        self.mlp = mlp
    }

    /// `attn_norm`, `attn`, then `mlp_norm` and `mlp` when the block has an MLP.
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.child("attn_norm", &attnNorm)
        try walk.child("attn", &attn)
        if mlp != nil {
            try walk.child("mlp_norm", &mlpNorm!)
            try walk.child("mlp", &mlp!)
        }
    }

    /// The block over a whole layout (prefill path); `h [tokens, hidden]` is updated in place.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward(_ h: inout Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?) throws(KernelError) {
        let a = try attn.forward(attnNorm(h), layout: layout, state: &state)
        addInPlace(&h, a)
        applyMLP(&h)
    }

    /// The block for one token per sequence (decoding path); `h [B, hidden]` is updated in place.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step(_ h: inout Tensor<T>, state: inout MixerState<T>) throws(KernelError) {
        let a = try attn.step(attnNorm(h), state: &state)
        addInPlace(&h, a)
        applyMLP(&h)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func applyMLP(_ h: inout Tensor<T>) {
        guard let mlp, let mlpNorm else { return }
        let m = mlp(mlpNorm(h))
        addInPlace(&h, m)
    }
}

/// `x += y` elementwise.
@_specialize(where T == Float)
@_specialize(where T == Double)
func addInPlace<T: LRNNScalar>(_ x: inout Tensor<T>, _ y: Tensor<T>) {
    precondition(x.count == y.count, "addInPlace: \(x.shape) vs \(y.shape)")
    let n = x.count
    y.withUnsafeBufferPointer { yb in
        x.withUnsafeMutableBufferPointer { xb in
            let xp = xb.baseAddress!
            let yp = yb.baseAddress!
            parallelRanges(n, unitCost: 1) { range in for i in range { xp[i] += yp[i] } }
        }
    }
}
