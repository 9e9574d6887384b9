import CLRNNBLAS
import CLRNNLAPACKE
import ComplexModule

extension BLAS.Transpose {
    @inlinable var cblas: CBLAS_TRANSPOSE {
        switch self {
        case .none: CblasNoTrans
        case .transpose: CblasTrans
        case .conjugateTranspose: CblasConjTrans
        }
    }
}

extension BLAS.Side {
    @inlinable var cblas: CBLAS_SIDE { self == .left ? CblasLeft : CblasRight }
}

extension BLAS.Triangle {
    @inlinable var cblas: CBLAS_UPLO { self == .upper ? CblasUpper : CblasLower }
    @inlinable var lapack: CChar { CChar(UInt8(ascii: self == .upper ? "U" : "L")) }
}

extension BLAS.Diagonal {
    @inlinable var cblas: CBLAS_DIAG { self == .unit ? CblasUnit : CblasNonUnit }
}

@inlinable func blasInt(_ x: Int) -> blasint { blasint(truncatingIfNeeded: x) }
@inlinable func lapackInt(_ x: Int) -> Int32 { Int32(truncatingIfNeeded: x) }
@inlinable func lapackJob(_ on: Bool) -> CChar { CChar(UInt8(ascii: on ? "V" : "N")) }
let lapackColumnMajor = LAPACK_COL_MAJOR

/// A complex array as LAPACKE's two-field struct type (same layout: real, imaginary).
func lapackComplex(
    _ p: UnsafeMutablePointer<Complex<Float>>
) -> UnsafeMutablePointer<lrnn_lapack_complex_float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: lrnn_lapack_complex_float.self)
}

/// A complex array as LAPACKE's two-field struct type (same layout: real, imaginary).
func lapackComplex(
    _ p: UnsafeMutablePointer<Complex<Double>>
) -> UnsafeMutablePointer<lrnn_lapack_complex_double> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: lrnn_lapack_complex_double.self)
}
