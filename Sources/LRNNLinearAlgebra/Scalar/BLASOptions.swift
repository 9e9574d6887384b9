extension BLAS {
    /// Whether a matrix operand enters a BLAS product as stored or transposed.
    public enum Transpose: Sendable {
        /// Use the operand as stored: `op(A) = A`.
        case none
        /// Use its transpose: `op(A) = Aᵀ` (for complex operands, the plain transpose).
        case transpose
        /// Use its conjugate transpose: `op(A) = Aᴴ` (equal to `.transpose` for real operands).
        case conjugateTranspose
    }

    /// Which side a triangular operand multiplies from in `trsm` / `trmm`.
    public enum Side: Sendable {
        /// `op(A)·B`.
        case left
        /// `B·op(A)`.
        case right
    }

    /// Which triangle of a matrix is referenced.
    public enum Triangle: Sendable {
        /// The upper triangle (row ≤ column).
        case upper
        /// The lower triangle (row ≥ column).
        case lower
    }

    /// Whether a triangular matrix's diagonal is read or assumed to be ones.
    public enum Diagonal: Sendable {
        /// The diagonal is read from the matrix.
        case nonUnit
        /// The diagonal is taken to be all ones and not read.
        case unit
    }
}
