import LRNNLinearAlgebra

extension PLSTM2D {
    /// Everything a pLSTM 2-D call differentiates: the kernel-level inputs (gates already through
    /// their activations) and, returned by the backward pass, their gradients (the same fields, each
    /// dL/d of the input; an optional field is present exactly when it was in the inputs).
    ///
    /// Shapes (X, Y the grid, axes 1 and 2; DK, DV and the J sizes as in ``PLSTM1D/Inputs``, read
    /// from the shapes): `q [B, X, Y, H, DK, JQ]`, `k [B, X, Y, H, DK, JK]`, `v [B, X, Y, H, DV, JV]`,
    /// sources `S_r`, `S_d` `[B, X, Y, H, JT, JK, JV]`, transitions `T_rl`, `T_du` and the optional
    /// cross transitions `T_ru`, `T_dl` `[B, X, Y, H, JT, JT]` (absent: zero), marks `M_l`, `M_u`
    /// `[B, X, Y, H, JO, JQ, JT]`, direct `D [B, X, Y, H, JO, JQ, JK, JV]`, and the boundary states
    /// `C_left [B, Y, H, DK, DV, JT]` (arriving from the left at x = 0, per row y) and
    /// `C_top [B, X, H, DK, DV, JT]` (arriving from above at y = 0, per column x), present together
    /// or both absent (zeros).
    ///
    /// P-mode (directed propagation) has all four transitions; D-mode (diffusive) has one cross
    /// transition: `T_ru` with `T_dl` absent (chirality L) or `T_dl` with `T_ru` absent (chirality R).
    ///
    /// Source: the tensors pLSTM's `pLSTM2DLayer` hands to `pLSTM2D_fwbw` for one orientation
    /// (Pöppel et al., 2025, ml-jku/plstm), with the batch-times-heads axis split into `[B, …, H, …]`.
    public struct Inputs<Scalar: LRNNScalar>: Sendable {
        /// Queries `[B, X, Y, H, DK, JQ]`.
        public var q: Tensor<Scalar>
        /// Keys `[B, X, Y, H, DK, JK]`.
        public var k: Tensor<Scalar>
        /// Values `[B, X, Y, H, DV, JV]`.
        public var v: Tensor<Scalar>
        /// Sources onto the r-edge (to the right) `[B, X, Y, H, JT, JK, JV]`.
        public var S_r: Tensor<Scalar>
        /// Sources onto the d-edge (downwards) `[B, X, Y, H, JT, JK, JV]`.
        public var S_d: Tensor<Scalar>
        /// Transitions from the left edge to the r-edge `[B, X, Y, H, JT, JT]`.
        public var T_rl: Tensor<Scalar>
        /// Transitions from the upper edge to the d-edge `[B, X, Y, H, JT, JT]`.
        public var T_du: Tensor<Scalar>
        /// Transitions from the upper edge to the r-edge `[B, X, Y, H, JT, JT]`, or nil (zero).
        public var T_ru: Tensor<Scalar>?
        /// Transitions from the left edge to the d-edge `[B, X, Y, H, JT, JT]`, or nil (zero).
        public var T_dl: Tensor<Scalar>?
        /// Marks reading the left edge `[B, X, Y, H, JO, JQ, JT]`.
        public var M_l: Tensor<Scalar>
        /// Marks reading the upper edge `[B, X, Y, H, JO, JQ, JT]`.
        public var M_u: Tensor<Scalar>
        /// Direct gates `[B, X, Y, H, JO, JQ, JK, JV]`.
        public var D: Tensor<Scalar>
        /// States arriving from the left at x = 0 `[B, Y, H, DK, DV, JT]`, or nil (zeros).
        public var C_left: Tensor<Scalar>?
        /// States arriving from above at y = 0 `[B, X, H, DK, DV, JT]`, or nil (zeros).
        public var C_top: Tensor<Scalar>?

        /// The inputs (or gradients) of one call.
        ///
        /// - Parameters:
        ///   - q: queries `[B, X, Y, H, DK, JQ]`.
        ///   - k: keys `[B, X, Y, H, DK, JK]`.
        ///   - v: values `[B, X, Y, H, DV, JV]`.
        ///   - S_r: sources onto the r-edge `[B, X, Y, H, JT, JK, JV]`.
        ///   - S_d: sources onto the d-edge `[B, X, Y, H, JT, JK, JV]`.
        ///   - T_rl: left-to-right transitions `[B, X, Y, H, JT, JT]`.
        ///   - T_du: up-to-down transitions `[B, X, Y, H, JT, JT]`.
        ///   - T_ru: up-to-right transitions, or nil.
        ///   - T_dl: left-to-down transitions, or nil.
        ///   - M_l: marks of the left edge `[B, X, Y, H, JO, JQ, JT]`.
        ///   - M_u: marks of the upper edge `[B, X, Y, H, JO, JQ, JT]`.
        ///   - D: direct gates `[B, X, Y, H, JO, JQ, JK, JV]`.
        ///   - C_left: left boundary states `[B, Y, H, DK, DV, JT]`, or nil.
        ///   - C_top: top boundary states `[B, X, H, DK, DV, JT]`, or nil.
        public init(
            q: Tensor<Scalar>, k: Tensor<Scalar>, v: Tensor<Scalar>, S_r: Tensor<Scalar>, S_d: Tensor<Scalar>,
            T_rl: Tensor<Scalar>, T_du: Tensor<Scalar>, T_ru: Tensor<Scalar>? = nil, T_dl: Tensor<Scalar>? = nil,
            M_l: Tensor<Scalar>, M_u: Tensor<Scalar>, D: Tensor<Scalar>, C_left: Tensor<Scalar>? = nil,
            C_top: Tensor<Scalar>? = nil
        ) {
            self.q = q
            self.k = k
            self.v = v
            self.S_r = S_r
            self.S_d = S_d
            self.T_rl = T_rl
            self.T_du = T_du
            self.T_ru = T_ru
            self.T_dl = T_dl
            self.M_l = M_l
            self.M_u = M_u
            self.D = D
            self.C_left = C_left
            self.C_top = C_top
        }
    }

    /// The states leaving the grid: `right [B, Y, H, DK, DV, JT]` (the r-edge state of x = X − 1, per
    /// row) and `bottom [B, X, H, DK, DV, JT]` (the d-edge state of y = Y − 1, per column); also the
    /// type of their cotangents.
    public struct BoundaryStates<Scalar: LRNNScalar>: Sendable {
        /// `C_right [B, Y, H, DK, DV, JT]`.
        public var right: Tensor<Scalar>
        /// `C_bottom [B, X, H, DK, DV, JT]`.
        public var bottom: Tensor<Scalar>

        /// The two boundaries.
        ///
        /// - Parameters:
        ///   - right: `C_right [B, Y, H, DK, DV, JT]`.
        ///   - bottom: `C_bottom [B, X, H, DK, DV, JT]`.
        public init(right: Tensor<Scalar>, bottom: Tensor<Scalar>) {
            self.right = right
            self.bottom = bottom
        }
    }
}
