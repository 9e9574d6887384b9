import CLRNNBLAS
import CLRNNLAPACKE
import ComplexModule
import RealModule

extension Float: LRNNScalar {
    /// `"Float32"`.
    public static var precisionName: String { "Float32" }

    @inlinable
    public static func _blasGemm(
        _ transA: BLAS.Transpose, _ transB: BLAS.Transpose, _ m: Int, _ n: Int, _ k: Int,
        _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA.cblas, transB.cblas, blasInt(m), blasInt(n), blasInt(k),
            alpha, a, blasInt(lda), b, blasInt(ldb), beta, c, blasInt(ldc))
    }

    @inlinable
    public static func _blasTrsm(
        _ side: BLAS.Side, _ triangle: BLAS.Triangle, _ transA: BLAS.Transpose, _ diagonal: BLAS.Diagonal,
        _ m: Int, _ n: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ b: UnsafeMutablePointer<Float>, _ ldb: Int
    ) {
        cblas_strsm(
            CblasRowMajor, side.cblas, triangle.cblas, transA.cblas, diagonal.cblas,
            blasInt(m), blasInt(n), alpha, a, blasInt(lda), b, blasInt(ldb))
    }

    @inlinable
    public static func _blasTrmm(
        _ side: BLAS.Side, _ triangle: BLAS.Triangle, _ transA: BLAS.Transpose, _ diagonal: BLAS.Diagonal,
        _ m: Int, _ n: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ b: UnsafeMutablePointer<Float>, _ ldb: Int
    ) {
        cblas_strmm(
            CblasRowMajor, side.cblas, triangle.cblas, transA.cblas, diagonal.cblas,
            blasInt(m), blasInt(n), alpha, a, blasInt(lda), b, blasInt(ldb))
    }

    @inlinable
    public static func _blasSyrk(
        _ triangle: BLAS.Triangle, _ trans: BLAS.Transpose, _ n: Int, _ k: Int,
        _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_ssyrk(
            CblasRowMajor, triangle.cblas, trans.cblas, blasInt(n), blasInt(k),
            alpha, a, blasInt(lda), beta, c, blasInt(ldc))
    }

    @inlinable
    public static func _blasGemv(
        _ trans: BLAS.Transpose, _ m: Int, _ n: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ x: UnsafePointer<Float>, _ incx: Int,
        _ beta: Float, _ y: UnsafeMutablePointer<Float>, _ incy: Int
    ) {
        cblas_sgemv(
            CblasRowMajor, trans.cblas, blasInt(m), blasInt(n), alpha, a, blasInt(lda),
            x, blasInt(incx), beta, y, blasInt(incy))
    }

    @inlinable
    public static func _blasGer(
        _ m: Int, _ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ incx: Int,
        _ y: UnsafePointer<Float>, _ incy: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int
    ) {
        cblas_sger(
            CblasRowMajor, blasInt(m), blasInt(n), alpha, x, blasInt(incx), y, blasInt(incy),
            a, blasInt(lda))
    }

    @inlinable
    public static func _blasAxpy(
        _ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ incx: Int,
        _ y: UnsafeMutablePointer<Float>, _ incy: Int
    ) {
        cblas_saxpy(blasInt(n), alpha, x, blasInt(incx), y, blasInt(incy))
    }

    @inlinable
    public static func _blasScal(
        _ n: Int, _ alpha: Float, _ x: UnsafeMutablePointer<Float>, _ incx: Int
    ) {
        cblas_sscal(blasInt(n), alpha, x, blasInt(incx))
    }

    @inlinable
    public static func _blasDot(
        _ n: Int, _ x: UnsafePointer<Float>, _ incx: Int, _ y: UnsafePointer<Float>,
        _ incy: Int
    ) -> Float {
        cblas_sdot(blasInt(n), x, blasInt(incx), y, blasInt(incy))
    }

    @inlinable
    public static func _blasNrm2(_ n: Int, _ x: UnsafePointer<Float>, _ incx: Int) -> Float {
        cblas_snrm2(blasInt(n), x, blasInt(incx))
    }

    @inlinable
    public static func _blasComplexGemm(
        _ transA: BLAS.Transpose, _ transB: BLAS.Transpose, _ m: Int, _ n: Int, _ k: Int,
        _ alpha: Complex<Float>, _ a: UnsafePointer<Complex<Float>>, _ lda: Int,
        _ b: UnsafePointer<Complex<Float>>, _ ldb: Int,
        _ beta: Complex<Float>, _ c: UnsafeMutablePointer<Complex<Float>>, _ ldc: Int
    ) {
        var alpha = alpha
        var beta = beta
        cblas_cgemm(
            CblasRowMajor, transA.cblas, transB.cblas, blasInt(m), blasInt(n), blasInt(k),
            &alpha, a, blasInt(lda), b, blasInt(ldb), &beta, c, blasInt(ldc))
    }

    public static func _lapackGeev(
        _ jobvl: Bool, _ jobvr: Bool, _ n: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int,
        _ wr: UnsafeMutablePointer<Float>, _ wi: UnsafeMutablePointer<Float>,
        _ vl: UnsafeMutablePointer<Float>, _ ldvl: Int,
        _ vr: UnsafeMutablePointer<Float>, _ ldvr: Int,
        _ work: UnsafeMutablePointer<Float>, _ lwork: Int
    ) -> Int32 {
        LAPACKE_sgeev_work(
            lapackColumnMajor, lapackJob(jobvl), lapackJob(jobvr), lapackInt(n), a, lapackInt(lda),
            wr, wi, vl, lapackInt(ldvl), vr, lapackInt(ldvr), work, lapackInt(lwork))
    }

    public static func _lapackComplexGeev(
        _ jobvl: Bool, _ jobvr: Bool, _ n: Int, _ a: UnsafeMutablePointer<Complex<Float>>,
        _ lda: Int, _ w: UnsafeMutablePointer<Complex<Float>>,
        _ vl: UnsafeMutablePointer<Complex<Float>>, _ ldvl: Int,
        _ vr: UnsafeMutablePointer<Complex<Float>>, _ ldvr: Int,
        _ work: UnsafeMutablePointer<Complex<Float>>, _ lwork: Int,
        _ rwork: UnsafeMutablePointer<Float>
    ) -> Int32 {
        LAPACKE_cgeev_work(
            lapackColumnMajor, lapackJob(jobvl), lapackJob(jobvr), lapackInt(n), lapackComplex(a),
            lapackInt(lda), lapackComplex(w), lapackComplex(vl), lapackInt(ldvl), lapackComplex(vr),
            lapackInt(ldvr), lapackComplex(work), lapackInt(lwork), rwork)
    }

    public static func _lapackGesv(
        _ n: Int, _ nrhs: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>, _ b: UnsafeMutablePointer<Float>, _ ldb: Int
    ) -> Int32 {
        LAPACKE_sgesv_work(
            lapackColumnMajor, lapackInt(n), lapackInt(nrhs), a, lapackInt(lda), ipiv, b,
            lapackInt(ldb))
    }

    public static func _lapackComplexGesv(
        _ n: Int, _ nrhs: Int, _ a: UnsafeMutablePointer<Complex<Float>>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>, _ b: UnsafeMutablePointer<Complex<Float>>,
        _ ldb: Int
    ) -> Int32 {
        LAPACKE_cgesv_work(
            lapackColumnMajor, lapackInt(n), lapackInt(nrhs), lapackComplex(a), lapackInt(lda), ipiv,
            lapackComplex(b), lapackInt(ldb))
    }

    public static func _lapackGetrf(
        _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_sgetrf_work(lapackColumnMajor, lapackInt(m), lapackInt(n), a, lapackInt(lda), ipiv)
    }

    public static func _lapackGetri(
        _ n: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int, _ ipiv: UnsafePointer<Int32>,
        _ work: UnsafeMutablePointer<Float>, _ lwork: Int
    ) -> Int32 {
        LAPACKE_sgetri_work(
            lapackColumnMajor, lapackInt(n), a, lapackInt(lda), ipiv, work, lapackInt(lwork))
    }

    public static func _lapackGeqrf(
        _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int,
        _ tau: UnsafeMutablePointer<Float>, _ work: UnsafeMutablePointer<Float>, _ lwork: Int
    ) -> Int32 {
        LAPACKE_sgeqrf_work(
            lapackColumnMajor, lapackInt(m), lapackInt(n), a, lapackInt(lda), tau, work,
            lapackInt(lwork))
    }

    public static func _lapackOrgqr(
        _ m: Int, _ n: Int, _ k: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int,
        _ tau: UnsafePointer<Float>, _ work: UnsafeMutablePointer<Float>, _ lwork: Int
    ) -> Int32 {
        LAPACKE_sorgqr_work(
            lapackColumnMajor, lapackInt(m), lapackInt(n), lapackInt(k), a, lapackInt(lda), tau,
            work, lapackInt(lwork))
    }

    public static func _lapackGesdd(
        _ job: UInt8, _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int,
        _ s: UnsafeMutablePointer<Float>, _ u: UnsafeMutablePointer<Float>, _ ldu: Int,
        _ vt: UnsafeMutablePointer<Float>, _ ldvt: Int,
        _ work: UnsafeMutablePointer<Float>, _ lwork: Int, _ iwork: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_sgesdd_work(
            lapackColumnMajor, CChar(job), lapackInt(m), lapackInt(n), a, lapackInt(lda), s,
            u, lapackInt(ldu), vt, lapackInt(ldvt), work, lapackInt(lwork), iwork)
    }

    public static func _lapackComplexGesdd(
        _ job: UInt8, _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Complex<Float>>,
        _ lda: Int, _ s: UnsafeMutablePointer<Float>,
        _ u: UnsafeMutablePointer<Complex<Float>>, _ ldu: Int,
        _ vt: UnsafeMutablePointer<Complex<Float>>, _ ldvt: Int,
        _ work: UnsafeMutablePointer<Complex<Float>>, _ lwork: Int,
        _ rwork: UnsafeMutablePointer<Float>, _ iwork: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_cgesdd_work(
            lapackColumnMajor, CChar(job), lapackInt(m), lapackInt(n), lapackComplex(a),
            lapackInt(lda), s, lapackComplex(u), lapackInt(ldu), lapackComplex(vt), lapackInt(ldvt),
            lapackComplex(work), lapackInt(lwork), rwork, iwork)
    }

    public static func _lapackSyev(
        _ vectors: Bool, _ triangle: BLAS.Triangle, _ n: Int, _ a: UnsafeMutablePointer<Float>,
        _ lda: Int, _ w: UnsafeMutablePointer<Float>, _ work: UnsafeMutablePointer<Float>,
        _ lwork: Int
    ) -> Int32 {
        LAPACKE_ssyev_work(
            lapackColumnMajor, lapackJob(vectors), triangle.lapack, lapackInt(n), a, lapackInt(lda),
            w, work, lapackInt(lwork))
    }

    public static func _lapackHeev(
        _ vectors: Bool, _ triangle: BLAS.Triangle, _ n: Int,
        _ a: UnsafeMutablePointer<Complex<Float>>, _ lda: Int, _ w: UnsafeMutablePointer<Float>,
        _ work: UnsafeMutablePointer<Complex<Float>>, _ lwork: Int,
        _ rwork: UnsafeMutablePointer<Float>
    ) -> Int32 {
        LAPACKE_cheev_work(
            lapackColumnMajor, lapackJob(vectors), triangle.lapack, lapackInt(n), lapackComplex(a),
            lapackInt(lda), w, lapackComplex(work), lapackInt(lwork), rwork)
    }
}
