import CLRNNBLAS
import CLRNNLAPACKE
import ComplexModule
import RealModule

extension Double: LRNNScalar {
    /// `"Float64"`.
    public static var precisionName: String { "Float64" }

    @inlinable
    public static func _blasGemm(
        _ transA: BLAS.Transpose, _ transB: BLAS.Transpose, _ m: Int, _ n: Int, _ k: Int,
        _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int,
        _ b: UnsafePointer<Double>, _ ldb: Int,
        _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, transA.cblas, transB.cblas, blasInt(m), blasInt(n), blasInt(k),
            alpha, a, blasInt(lda), b, blasInt(ldb), beta, c, blasInt(ldc))
    }

    @inlinable
    public static func _blasTrsm(
        _ side: BLAS.Side, _ triangle: BLAS.Triangle, _ transA: BLAS.Transpose, _ diagonal: BLAS.Diagonal,
        _ m: Int, _ n: Int, _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int,
        _ b: UnsafeMutablePointer<Double>, _ ldb: Int
    ) {
        cblas_dtrsm(
            CblasRowMajor, side.cblas, triangle.cblas, transA.cblas, diagonal.cblas,
            blasInt(m), blasInt(n), alpha, a, blasInt(lda), b, blasInt(ldb))
    }

    @inlinable
    public static func _blasTrmm(
        _ side: BLAS.Side, _ triangle: BLAS.Triangle, _ transA: BLAS.Transpose, _ diagonal: BLAS.Diagonal,
        _ m: Int, _ n: Int, _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int,
        _ b: UnsafeMutablePointer<Double>, _ ldb: Int
    ) {
        cblas_dtrmm(
            CblasRowMajor, side.cblas, triangle.cblas, transA.cblas, diagonal.cblas,
            blasInt(m), blasInt(n), alpha, a, blasInt(lda), b, blasInt(ldb))
    }

    @inlinable
    public static func _blasSyrk(
        _ triangle: BLAS.Triangle, _ trans: BLAS.Transpose, _ n: Int, _ k: Int,
        _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int,
        _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int
    ) {
        cblas_dsyrk(
            CblasRowMajor, triangle.cblas, trans.cblas, blasInt(n), blasInt(k),
            alpha, a, blasInt(lda), beta, c, blasInt(ldc))
    }

    @inlinable
    public static func _blasGemv(
        _ trans: BLAS.Transpose, _ m: Int, _ n: Int, _ alpha: Double,
        _ a: UnsafePointer<Double>, _ lda: Int, _ x: UnsafePointer<Double>, _ incx: Int,
        _ beta: Double, _ y: UnsafeMutablePointer<Double>, _ incy: Int
    ) {
        cblas_dgemv(
            CblasRowMajor, trans.cblas, blasInt(m), blasInt(n), alpha, a, blasInt(lda),
            x, blasInt(incx), beta, y, blasInt(incy))
    }

    @inlinable
    public static func _blasGer(
        _ m: Int, _ n: Int, _ alpha: Double, _ x: UnsafePointer<Double>, _ incx: Int,
        _ y: UnsafePointer<Double>, _ incy: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int
    ) {
        cblas_dger(
            CblasRowMajor, blasInt(m), blasInt(n), alpha, x, blasInt(incx), y, blasInt(incy),
            a, blasInt(lda))
    }

    @inlinable
    public static func _blasAxpy(
        _ n: Int, _ alpha: Double, _ x: UnsafePointer<Double>, _ incx: Int,
        _ y: UnsafeMutablePointer<Double>, _ incy: Int
    ) {
        cblas_daxpy(blasInt(n), alpha, x, blasInt(incx), y, blasInt(incy))
    }

    @inlinable
    public static func _blasScal(
        _ n: Int, _ alpha: Double, _ x: UnsafeMutablePointer<Double>, _ incx: Int
    ) {
        cblas_dscal(blasInt(n), alpha, x, blasInt(incx))
    }

    @inlinable
    public static func _blasDot(
        _ n: Int, _ x: UnsafePointer<Double>, _ incx: Int, _ y: UnsafePointer<Double>,
        _ incy: Int
    ) -> Double {
        cblas_ddot(blasInt(n), x, blasInt(incx), y, blasInt(incy))
    }

    @inlinable
    public static func _blasNrm2(_ n: Int, _ x: UnsafePointer<Double>, _ incx: Int) -> Double {
        cblas_dnrm2(blasInt(n), x, blasInt(incx))
    }

    @inlinable
    public static func _blasComplexGemm(
        _ transA: BLAS.Transpose, _ transB: BLAS.Transpose, _ m: Int, _ n: Int, _ k: Int,
        _ alpha: Complex<Double>, _ a: UnsafePointer<Complex<Double>>, _ lda: Int,
        _ b: UnsafePointer<Complex<Double>>, _ ldb: Int,
        _ beta: Complex<Double>, _ c: UnsafeMutablePointer<Complex<Double>>, _ ldc: Int
    ) {
        var alpha = alpha
        var beta = beta
        cblas_zgemm(
            CblasRowMajor, transA.cblas, transB.cblas, blasInt(m), blasInt(n), blasInt(k),
            &alpha, a, blasInt(lda), b, blasInt(ldb), &beta, c, blasInt(ldc))
    }

    public static func _lapackGeev(
        _ jobvl: Bool, _ jobvr: Bool, _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ wr: UnsafeMutablePointer<Double>, _ wi: UnsafeMutablePointer<Double>,
        _ vl: UnsafeMutablePointer<Double>, _ ldvl: Int,
        _ vr: UnsafeMutablePointer<Double>, _ ldvr: Int,
        _ work: UnsafeMutablePointer<Double>, _ lwork: Int
    ) -> Int32 {
        LAPACKE_dgeev_work(
            lapackColumnMajor, lapackJob(jobvl), lapackJob(jobvr), lapackInt(n), a, lapackInt(lda),
            wr, wi, vl, lapackInt(ldvl), vr, lapackInt(ldvr), work, lapackInt(lwork))
    }

    public static func _lapackComplexGeev(
        _ jobvl: Bool, _ jobvr: Bool, _ n: Int, _ a: UnsafeMutablePointer<Complex<Double>>,
        _ lda: Int, _ w: UnsafeMutablePointer<Complex<Double>>,
        _ vl: UnsafeMutablePointer<Complex<Double>>, _ ldvl: Int,
        _ vr: UnsafeMutablePointer<Complex<Double>>, _ ldvr: Int,
        _ work: UnsafeMutablePointer<Complex<Double>>, _ lwork: Int,
        _ rwork: UnsafeMutablePointer<Double>
    ) -> Int32 {
        LAPACKE_zgeev_work(
            lapackColumnMajor, lapackJob(jobvl), lapackJob(jobvr), lapackInt(n), lapackComplex(a),
            lapackInt(lda), lapackComplex(w), lapackComplex(vl), lapackInt(ldvl), lapackComplex(vr),
            lapackInt(ldvr), lapackComplex(work), lapackInt(lwork), rwork)
    }

    public static func _lapackGesv(
        _ n: Int, _ nrhs: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>, _ b: UnsafeMutablePointer<Double>, _ ldb: Int
    ) -> Int32 {
        LAPACKE_dgesv_work(
            lapackColumnMajor, lapackInt(n), lapackInt(nrhs), a, lapackInt(lda), ipiv, b,
            lapackInt(ldb))
    }

    public static func _lapackComplexGesv(
        _ n: Int, _ nrhs: Int, _ a: UnsafeMutablePointer<Complex<Double>>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>, _ b: UnsafeMutablePointer<Complex<Double>>,
        _ ldb: Int
    ) -> Int32 {
        LAPACKE_zgesv_work(
            lapackColumnMajor, lapackInt(n), lapackInt(nrhs), lapackComplex(a), lapackInt(lda), ipiv,
            lapackComplex(b), lapackInt(ldb))
    }

    public static func _lapackGetrf(
        _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_dgetrf_work(lapackColumnMajor, lapackInt(m), lapackInt(n), a, lapackInt(lda), ipiv)
    }

    public static func _lapackGetri(
        _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int, _ ipiv: UnsafePointer<Int32>,
        _ work: UnsafeMutablePointer<Double>, _ lwork: Int
    ) -> Int32 {
        LAPACKE_dgetri_work(
            lapackColumnMajor, lapackInt(n), a, lapackInt(lda), ipiv, work, lapackInt(lwork))
    }

    public static func _lapackGeqrf(
        _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ tau: UnsafeMutablePointer<Double>, _ work: UnsafeMutablePointer<Double>, _ lwork: Int
    ) -> Int32 {
        LAPACKE_dgeqrf_work(
            lapackColumnMajor, lapackInt(m), lapackInt(n), a, lapackInt(lda), tau, work,
            lapackInt(lwork))
    }

    public static func _lapackOrgqr(
        _ m: Int, _ n: Int, _ k: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ tau: UnsafePointer<Double>, _ work: UnsafeMutablePointer<Double>, _ lwork: Int
    ) -> Int32 {
        LAPACKE_dorgqr_work(
            lapackColumnMajor, lapackInt(m), lapackInt(n), lapackInt(k), a, lapackInt(lda), tau,
            work, lapackInt(lwork))
    }

    public static func _lapackGesdd(
        _ job: UInt8, _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ s: UnsafeMutablePointer<Double>, _ u: UnsafeMutablePointer<Double>, _ ldu: Int,
        _ vt: UnsafeMutablePointer<Double>, _ ldvt: Int,
        _ work: UnsafeMutablePointer<Double>, _ lwork: Int, _ iwork: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_dgesdd_work(
            lapackColumnMajor, CChar(job), lapackInt(m), lapackInt(n), a, lapackInt(lda), s,
            u, lapackInt(ldu), vt, lapackInt(ldvt), work, lapackInt(lwork), iwork)
    }

    public static func _lapackComplexGesdd(
        _ job: UInt8, _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Complex<Double>>,
        _ lda: Int, _ s: UnsafeMutablePointer<Double>,
        _ u: UnsafeMutablePointer<Complex<Double>>, _ ldu: Int,
        _ vt: UnsafeMutablePointer<Complex<Double>>, _ ldvt: Int,
        _ work: UnsafeMutablePointer<Complex<Double>>, _ lwork: Int,
        _ rwork: UnsafeMutablePointer<Double>, _ iwork: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_zgesdd_work(
            lapackColumnMajor, CChar(job), lapackInt(m), lapackInt(n), lapackComplex(a),
            lapackInt(lda), s, lapackComplex(u), lapackInt(ldu), lapackComplex(vt), lapackInt(ldvt),
            lapackComplex(work), lapackInt(lwork), rwork, iwork)
    }

    public static func _lapackSyev(
        _ vectors: Bool, _ triangle: BLAS.Triangle, _ n: Int, _ a: UnsafeMutablePointer<Double>,
        _ lda: Int, _ w: UnsafeMutablePointer<Double>, _ work: UnsafeMutablePointer<Double>,
        _ lwork: Int
    ) -> Int32 {
        LAPACKE_dsyev_work(
            lapackColumnMajor, lapackJob(vectors), triangle.lapack, lapackInt(n), a, lapackInt(lda),
            w, work, lapackInt(lwork))
    }

    public static func _lapackHeev(
        _ vectors: Bool, _ triangle: BLAS.Triangle, _ n: Int,
        _ a: UnsafeMutablePointer<Complex<Double>>, _ lda: Int, _ w: UnsafeMutablePointer<Double>,
        _ work: UnsafeMutablePointer<Complex<Double>>, _ lwork: Int,
        _ rwork: UnsafeMutablePointer<Double>
    ) -> Int32 {
        LAPACKE_zheev_work(
            lapackColumnMajor, lapackJob(vectors), triangle.lapack, lapackInt(n), lapackComplex(a),
            lapackInt(lda), w, lapackComplex(work), lapackInt(lwork), rwork)
    }
}
