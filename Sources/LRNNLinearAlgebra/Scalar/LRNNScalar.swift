import ComplexModule
import RealModule

/// A real floating-point type that LinearRNN computes in: `Float` (BLAS `s`, LAPACK `c`
/// for complex) or `Double` (BLAS `d`, LAPACK `z`).
///
/// The requirements are the raw BLAS/LAPACK entry points for the type, underscored hooks in
/// the manner of swift-numerics (`_blasGemm`, `_lapackGeev`, …): call the checked wrappers in
/// ``BLAS`` and ``LAPACK`` instead. The BLAS hooks are row-major: every matrix argument has a
/// leading dimension that is the distance between rows. The LAPACK hooks are LAPACKE's
/// column-major `_work` entry points (the leading dimension is the distance between columns),
/// which hand the caller's arrays, workspaces included, straight to LAPACK; ``LAPACK`` allocates
/// every one of them with a tail pad (see there).
public protocol LRNNScalar: Real, BinaryFloatingPoint, Sendable, Codable
where Magnitude == Self {
    /// The precision's name as reports print it: `"Float32"` or `"Float64"`.
    static var precisionName: String { get }

    // MARK: BLAS level 3

    /// `C ← α·op(A)·op(B) + β·C` with `op(A)` of size m×k and `op(B)` k×n.
    static func _blasGemm(
        _ transA: BLAS.Transpose, _ transB: BLAS.Transpose, _ m: Int, _ n: Int, _ k: Int,
        _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int,
        _ b: UnsafePointer<Self>, _ ldb: Int,
        _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int)

    /// Solves `op(A)·X = α·B` (left) or `X·op(A) = α·B` (right) for triangular A; X overwrites B (m×n).
    static func _blasTrsm(
        _ side: BLAS.Side, _ triangle: BLAS.Triangle, _ transA: BLAS.Transpose, _ diagonal: BLAS.Diagonal,
        _ m: Int, _ n: Int, _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int,
        _ b: UnsafeMutablePointer<Self>, _ ldb: Int)

    /// `B ← α·op(A)·B` (left) or `B ← α·B·op(A)` (right) for triangular A; B is m×n.
    static func _blasTrmm(
        _ side: BLAS.Side, _ triangle: BLAS.Triangle, _ transA: BLAS.Transpose, _ diagonal: BLAS.Diagonal,
        _ m: Int, _ n: Int, _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int,
        _ b: UnsafeMutablePointer<Self>, _ ldb: Int)

    /// `C ← α·A·Aᵀ + β·C` (trans = none, A n×k) or `C ← α·Aᵀ·A + β·C` (A k×n), one triangle of C.
    static func _blasSyrk(
        _ triangle: BLAS.Triangle, _ trans: BLAS.Transpose, _ n: Int, _ k: Int,
        _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int,
        _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int)

    // MARK: BLAS levels 1 and 2

    /// `y ← α·op(A)·x + β·y` for an m×n matrix A.
    static func _blasGemv(
        _ trans: BLAS.Transpose, _ m: Int, _ n: Int, _ alpha: Self,
        _ a: UnsafePointer<Self>, _ lda: Int, _ x: UnsafePointer<Self>, _ incx: Int,
        _ beta: Self, _ y: UnsafeMutablePointer<Self>, _ incy: Int)

    /// `A ← α·x·yᵀ + A` for an m×n matrix A.
    static func _blasGer(
        _ m: Int, _ n: Int, _ alpha: Self, _ x: UnsafePointer<Self>, _ incx: Int,
        _ y: UnsafePointer<Self>, _ incy: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int)

    /// `y ← α·x + y`.
    static func _blasAxpy(
        _ n: Int, _ alpha: Self, _ x: UnsafePointer<Self>, _ incx: Int,
        _ y: UnsafeMutablePointer<Self>, _ incy: Int)

    /// `x ← α·x`.
    static func _blasScal(_ n: Int, _ alpha: Self, _ x: UnsafeMutablePointer<Self>, _ incx: Int)

    /// `xᵀy`.
    static func _blasDot(
        _ n: Int, _ x: UnsafePointer<Self>, _ incx: Int, _ y: UnsafePointer<Self>, _ incy: Int
    ) -> Self

    /// `‖x‖₂`, computed without overflow.
    static func _blasNrm2(_ n: Int, _ x: UnsafePointer<Self>, _ incx: Int) -> Self

    /// `C ← α·op(A)·op(B) + β·C` for complex matrices (BLAS `cgemm` / `zgemm`).
    static func _blasComplexGemm(
        _ transA: BLAS.Transpose, _ transB: BLAS.Transpose, _ m: Int, _ n: Int, _ k: Int,
        _ alpha: Complex<Self>, _ a: UnsafePointer<Complex<Self>>, _ lda: Int,
        _ b: UnsafePointer<Complex<Self>>, _ ldb: Int,
        _ beta: Complex<Self>, _ c: UnsafeMutablePointer<Complex<Self>>, _ ldc: Int)

    // MARK: LAPACK (column-major LAPACKE `_work` entry points; each returns LAPACK's `info`)
    //
    // Every array is column-major with the given leading dimension (the distance between
    // columns) and is passed to the Fortran routine as it is: LAPACKE allocates nothing.
    // `lwork = -1` is LAPACK's workspace query (the optimal size comes back in `work[0]`).

    /// Eigenvalues (`wr + i·wi`) and optionally left/right eigenvectors of a general real n×n
    /// matrix, LAPACK's packed real format for complex pairs (`geev`). A is destroyed.
    static func _lapackGeev(
        _ jobvl: Bool, _ jobvr: Bool, _ n: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int,
        _ wr: UnsafeMutablePointer<Self>, _ wi: UnsafeMutablePointer<Self>,
        _ vl: UnsafeMutablePointer<Self>, _ ldvl: Int,
        _ vr: UnsafeMutablePointer<Self>, _ ldvr: Int,
        _ work: UnsafeMutablePointer<Self>, _ lwork: Int
    ) -> Int32

    /// Eigenvalues and optionally eigenvectors of a general complex n×n matrix (`cgeev`/`zgeev`);
    /// `rwork` holds 2n reals.
    static func _lapackComplexGeev(
        _ jobvl: Bool, _ jobvr: Bool, _ n: Int, _ a: UnsafeMutablePointer<Complex<Self>>,
        _ lda: Int, _ w: UnsafeMutablePointer<Complex<Self>>,
        _ vl: UnsafeMutablePointer<Complex<Self>>, _ ldvl: Int,
        _ vr: UnsafeMutablePointer<Complex<Self>>, _ ldvr: Int,
        _ work: UnsafeMutablePointer<Complex<Self>>, _ lwork: Int, _ rwork: UnsafeMutablePointer<Self>
    ) -> Int32

    /// Solves `A·X = B` by LU with partial pivoting (`gesv`); A (n×n) is overwritten by its LU factors.
    static func _lapackGesv(
        _ n: Int, _ nrhs: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>, _ b: UnsafeMutablePointer<Self>, _ ldb: Int
    ) -> Int32

    /// Solves the complex system `A·X = B` (`cgesv` / `zgesv`).
    static func _lapackComplexGesv(
        _ n: Int, _ nrhs: Int, _ a: UnsafeMutablePointer<Complex<Self>>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>, _ b: UnsafeMutablePointer<Complex<Self>>, _ ldb: Int
    ) -> Int32

    /// LU factorisation with partial pivoting of an m×n matrix (`getrf`).
    static func _lapackGetrf(
        _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>
    ) -> Int32

    /// Inverse of an n×n matrix from its `getrf` factors (`getri`).
    static func _lapackGetri(
        _ n: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int, _ ipiv: UnsafePointer<Int32>,
        _ work: UnsafeMutablePointer<Self>, _ lwork: Int
    ) -> Int32

    /// QR factorisation `A = Q·R` of an m×n matrix in Householder form (`geqrf`).
    static func _lapackGeqrf(
        _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int,
        _ tau: UnsafeMutablePointer<Self>, _ work: UnsafeMutablePointer<Self>, _ lwork: Int
    ) -> Int32

    /// Forms the m×n matrix Q with orthonormal columns from `geqrf`'s output (`orgqr`).
    static func _lapackOrgqr(
        _ m: Int, _ n: Int, _ k: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int,
        _ tau: UnsafePointer<Self>, _ work: UnsafeMutablePointer<Self>, _ lwork: Int
    ) -> Int32

    /// Singular value decomposition by divide and conquer (`gesdd`); `job` is `"A"`, `"S"` or
    /// `"N"`; `iwork` holds 8·min(m, n) integers.
    static func _lapackGesdd(
        _ job: UInt8, _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int,
        _ s: UnsafeMutablePointer<Self>, _ u: UnsafeMutablePointer<Self>, _ ldu: Int,
        _ vt: UnsafeMutablePointer<Self>, _ ldvt: Int,
        _ work: UnsafeMutablePointer<Self>, _ lwork: Int, _ iwork: UnsafeMutablePointer<Int32>
    ) -> Int32

    /// Singular values (and optionally vectors) of a complex m×n matrix (`cgesdd` / `zgesdd`);
    /// `rwork` is sized for the job as LAPACK documents, `iwork` holds 8·min(m, n) integers.
    static func _lapackComplexGesdd(
        _ job: UInt8, _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Complex<Self>>, _ lda: Int,
        _ s: UnsafeMutablePointer<Self>, _ u: UnsafeMutablePointer<Complex<Self>>, _ ldu: Int,
        _ vt: UnsafeMutablePointer<Complex<Self>>, _ ldvt: Int,
        _ work: UnsafeMutablePointer<Complex<Self>>, _ lwork: Int,
        _ rwork: UnsafeMutablePointer<Self>, _ iwork: UnsafeMutablePointer<Int32>
    ) -> Int32

    /// Eigenvalues (ascending) and optionally eigenvectors of a symmetric matrix (`syev`).
    static func _lapackSyev(
        _ vectors: Bool, _ triangle: BLAS.Triangle, _ n: Int, _ a: UnsafeMutablePointer<Self>,
        _ lda: Int, _ w: UnsafeMutablePointer<Self>, _ work: UnsafeMutablePointer<Self>, _ lwork: Int
    ) -> Int32

    /// Eigenvalues (ascending) and optionally eigenvectors of a Hermitian matrix (`cheev` /
    /// `zheev`); `rwork` holds max(1, 3n − 2) reals.
    static func _lapackHeev(
        _ vectors: Bool, _ triangle: BLAS.Triangle, _ n: Int, _ a: UnsafeMutablePointer<Complex<Self>>,
        _ lda: Int, _ w: UnsafeMutablePointer<Self>,
        _ work: UnsafeMutablePointer<Complex<Self>>, _ lwork: Int, _ rwork: UnsafeMutablePointer<Self>
    ) -> Int32
}
