import LRNNLinearAlgebra

extension GLA {
    /// Everything a GLA call differentiates: the kernel's inputs, and, returned by the backward
    /// pass, their gradients (the same fields, each dL/d of the input).
    ///
    /// Shapes (N = sequences: B, or the number of ``/LRNNLinearAlgebra/SequenceBoundaries`` sequences):
    /// `q`, `k`, `gk` `[B, T, H, K]` (`gk` the per-channel natural-log decay, ≤ 0), `v`
    /// `[B, T, H, V]`, `initialState` `[N, H, K, V]` or nil for zeros. As a gradient,
    /// `initialState` is present exactly when it was in the inputs.
    ///
    /// `Sendable`: a value of tensors.
    ///
    /// Source: fla's `chunk_gla(q, k, v, g, scale, initial_state, …)` and the gradients its backward
    /// returns (`dq, dk, dv, dg, dh0`).
    public struct Inputs<T: LRNNScalar>: Sendable {
        /// Queries `[B, T, H, K]` (a gradient: dL/dq).
        public var q: Tensor<T>
        /// Keys `[B, T, H, K]` (a gradient: dL/dk).
        public var k: Tensor<T>
        /// Values `[B, T, H, V]` (a gradient: dL/dv).
        public var v: Tensor<T>
        /// Per-channel log decays `[B, T, H, K]` (a gradient: dL/dgk with respect to the log values).
        public var gk: Tensor<T>
        /// Initial states `[N, H, K, V]`, or nil for zeros (a gradient: dL/dh0).
        public var initialState: Tensor<T>?

        /// The inputs (or gradients) of one call.
        public init(q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, initialState: Tensor<T>? = nil) {
            self.q = q
            self.k = k
            self.v = v
            self.gk = gk
            self.initialState = initialState
        }
    }
}
