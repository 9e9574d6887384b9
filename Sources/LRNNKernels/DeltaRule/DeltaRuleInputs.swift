import LRNNLinearAlgebra

extension DeltaRule {
    /// Everything a delta-rule call differentiates: the kernel's inputs, and, returned by the
    /// backward pass, their gradients (the same fields, each dL/d of the input).
    ///
    /// Shapes (n = Householder steps per token, N = sequences: B, or the number of
    /// ``/LRNNLinearAlgebra/SequenceBoundaries`` sequences):
    /// - `q` `[B, T, H, K]`, `k` `[B, T·n, H, K]`, `v` `[B, T·n, H, V]`, `beta` `[B, T·n, H]`;
    /// - `g` `[B, T, H]` (natural-log decay per token, ≤ 0, −∞ a reset), or nil for DeltaNet and
    ///   DeltaProduct without a gate;
    /// - `initialState` `[N, H, K, V]`, or nil for a zero initial state.
    ///
    /// As a gradient, `g` and `initialState` are present exactly when they were in the inputs.
    ///
    /// `Sendable`: a value of tensors.
    ///
    /// Source: fla's `chunk_delta_rule` / `chunk_gated_delta_rule` arguments (`q, k, v, beta, g,
    /// initial_state`) and the gradients its backward returns (`dq, dk, dv, dbeta, dg, dh0`).
    public struct Inputs<T: LRNNScalar>: Sendable {
        /// Queries `[B, T, H, K]` (a gradient: dL/dq).
        public var q: Tensor<T>
        /// Keys `[B, T·n, H, K]` (a gradient: dL/dk).
        public var k: Tensor<T>
        /// Values `[B, T·n, H, V]` (a gradient: dL/dv).
        public var v: Tensor<T>
        /// Step sizes `[B, T·n, H]` (a gradient: dL/dβ).
        public var beta: Tensor<T>
        /// Log decays `[B, T, H]`, or nil (a gradient: dL/dg with respect to the log values).
        public var g: Tensor<T>?
        /// Initial states `[N, H, K, V]`, or nil for zeros (a gradient: dL/dh0).
        public var initialState: Tensor<T>?

        /// The inputs (or gradients) of one call.
        public init(
            q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>? = nil,
            initialState: Tensor<T>? = nil
        ) {
            self.q = q
            self.k = k
            self.v = v
            self.beta = beta
            self.g = g
            self.initialState = initialState
        }
    }
}
