import LRNNLinearAlgebra

extension PLSTM1D {
    /// Everything a pLSTM 1-D call differentiates: the kernel-level inputs (gates already through
    /// their activations) and, returned by the backward pass, their gradients (the same fields,
    /// each dL/d of the input).
    ///
    /// Shapes (N = sequences: B, or the number of ``/LRNNLinearAlgebra/SequenceBoundaries``
    /// sequences; DK, DV the key and value sizes; JQ, JK, JV, JT, JO the state-tracking sizes of
    /// query, key, value, transition and output, read from the shapes): `q [B, T, H, DK, JQ]`,
    /// `k [B, T, H, DK, JK]`, `v [B, T, H, DV, JV]`, source `S [B, T, H, JT, JK, JV]`, transition
    /// `T [B, T, H, JT, JT]`, mark `M [B, T, H, JO, JQ, JT]`, direct `D [B, T, H, JO, JQ, JK, JV]`,
    /// initial state `C0 [N, H, DK, DV, JT]` or nil for zeros. As a gradient, `C0` is present exactly
    /// when it was in the inputs.
    ///
    /// Source: the tensors pLSTM's `pLSTM1DLayer` hands to `pLSTM1D_fwbw` (Pöppel et al., 2025,
    /// ml-jku/plstm), with the batch-times-heads axis split into `[B, …, H, …]`.
    public struct Inputs<Scalar: LRNNScalar>: Sendable {
        /// Queries `[B, T, H, DK, JQ]` (a gradient: dL/dq).
        public var q: Tensor<Scalar>
        /// Keys `[B, T, H, DK, JK]` (a gradient: dL/dk).
        public var k: Tensor<Scalar>
        /// Values `[B, T, H, DV, JV]` (a gradient: dL/dv).
        public var v: Tensor<Scalar>
        /// Source gates `[B, T, H, JT, JK, JV]` (a gradient: dL/dS).
        public var S: Tensor<Scalar>
        /// Transitions `[B, T, H, JT, JT]`, acting on the state leaving each token (a gradient: dL/dT).
        public var T: Tensor<Scalar>
        /// Mark gates `[B, T, H, JO, JQ, JT]` (a gradient: dL/dM).
        public var M: Tensor<Scalar>
        /// Direct gates `[B, T, H, JO, JQ, JK, JV]` (a gradient: dL/dD).
        public var D: Tensor<Scalar>
        /// Initial states `[N, H, DK, DV, JT]`, or nil for zeros (a gradient: dL/dC0).
        public var C0: Tensor<Scalar>?

        /// The inputs (or gradients) of one call.
        ///
        /// - Parameters:
        ///   - q: queries `[B, T, H, DK, JQ]`.
        ///   - k: keys `[B, T, H, DK, JK]`.
        ///   - v: values `[B, T, H, DV, JV]`.
        ///   - S: source gates `[B, T, H, JT, JK, JV]`.
        ///   - T: transitions `[B, T, H, JT, JT]`.
        ///   - M: mark gates `[B, T, H, JO, JQ, JT]`.
        ///   - D: direct gates `[B, T, H, JO, JQ, JK, JV]`.
        ///   - C0: initial states `[N, H, DK, DV, JT]`, or nil for zeros.
        public init(
            q: Tensor<Scalar>, k: Tensor<Scalar>, v: Tensor<Scalar>, S: Tensor<Scalar>, T: Tensor<Scalar>,
            M: Tensor<Scalar>, D: Tensor<Scalar>, C0: Tensor<Scalar>? = nil
        ) {
            self.q = q
            self.k = k
            self.v = v
            self.S = S
            self.T = T
            self.M = M
            self.D = D
            self.C0 = C0
        }
    }
}
