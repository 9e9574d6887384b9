import LRNNLinearAlgebra

/// The output norm of the delta-rule and GLA mixers, the third stage of their skeleton
/// (``ProjectedKernelMixer``): gated (`RMSNorm(o_h)·w·act(g_h)`) or plain.
enum OutputNorm<T: LRNNScalar>: Sendable {
    /// `RMSNorm(o_h)·w` per head.
    case plain(RMSNorm<T>)
    /// `RMSNorm(o_h)·w·act(g_h)` per head, g from the gate projection.
    case gated(GatedRMSNorm<T>, gateProj: Linear<T>)
    /// `RMSNorm(o_h)·w`, then `o·act(gate_proj x)` over the whole row (GLA without fusion).
    case normThenGate(RMSNorm<T>, Activation, gateProj: Linear<T>)

    /// Visits the norm's weight under `normName` (`o_norm`, `g_norm_swish_gate`, `g_norm`), then
    /// the gate projection `g_proj` when there is one.
    ///
    /// - Parameters:
    ///   - walk: the walk, at the mixer's prefix.
    ///   - normName: the norm's key component.
    mutating func walkParameters(_ walk: inout ParameterWalk<T>, normName: String) throws(ModelLoadError) {
        // The payload is moved out (self holds an empty norm meanwhile) so that its tensors stay
        // uniquely referenced and a modifying walk changes them in place.
        let payload = self
        self = .plain(RMSNorm(dimension: 0, eps: 0, hasWeight: false))
        switch consume payload {
        case var .plain(n):
            try walk.child(normName, &n)
            self = .plain(n)
        case var .gated(n, p):
            try walk.child(normName, &n.norm)
            try walk.child("g_proj", &p)
            self = .gated(n, gateProj: p)
        case .normThenGate(var n, let act, var p):
            try walk.child(normName, &n)
            try walk.child("g_proj", &p)
            self = .normThenGate(n, act, gateProj: p)
        }
    }

    /// Applies the norm to `o [tokens, heads·d]` given the mixer input `x`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func apply(_ o: inout Tensor<T>, input x: Tensor<T>) {
        switch self {
        case let .plain(n): n.apply(&o)
        case let .gated(n, p): n.apply(&o, gate: p(x))
        case let .normThenGate(n, act, p):
            n.apply(&o)
            let g = p(x)
            let c = o.count
            g.withUnsafeBufferPointer { gb in
                o.withUnsafeMutableBufferPointer { ob in for i in 0..<c { ob[i] *= act(gb[i]) } }
            }
        }
    }
}
