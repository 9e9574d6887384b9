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
    public static func blasNrm2(_ n: Int, _ x: UnsafePointer<Double>, _ incx: Int) -> Double {
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
        _ vl: UnsafeMutablePointer<Double>?, _ ldvl: Int,
        _ vr: UnsafeMutablePointer<Double>?, _ ldvr: Int
    ) -> Int32 {
        LAPACKE_dgeev(
            lapackRowMajor, lapackJob(jobvl), lapackJob(jobvr), lapackInt(n), a, lapackInt(lda),
            wr, wi, vl, lapackInt(ldvl), vr, lapackInt(ldvr))
    }

    public static func _lapackComplexGeev(
        _ jobvl: Bool, _ jobvr: Bool, _ n: Int, _ a: UnsafeMutablePointer<Complex<Double>>,
        _ lda: Int, _ w: UnsafeMutablePointer<Complex<Double>>,
        _ vl: UnsafeMutablePointer<Complex<Double>>?, _ ldvl: Int,
        _ vr: UnsafeMutablePointer<Complex<Double>>?, _ ldvr: Int
    ) -> Int32 {
        typealias Z = lrnn_lapack_complex_double
        return a.withMemoryRebound(to: Z.self, capacity: n * lda) { a in
            w.withMemoryRebound(to: Z.self, capacity: n) { w in
                LAPACKE_zgeev(
                    lapackRowMajor, lapackJob(jobvl), lapackJob(jobvr), lapackInt(n), a,
                    lapackInt(lda), w, UnsafeMutableRawPointer(vl)?.assumingMemoryBound(to: Z.self),
                    lapackInt(ldvl), UnsafeMutableRawPointer(vr)?.assumingMemoryBound(to: Z.self),
                    lapackInt(ldvr))
            }
        }
    }

    public static func _lapackGesv(
        _ n: Int, _ nrhs: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>, _ b: UnsafeMutablePointer<Double>, _ ldb: Int
    ) -> Int32 {
        LAPACKE_dgesv(
            lapackRowMajor, lapackInt(n), lapackInt(nrhs), a, lapackInt(lda), ipiv, b,
            lapackInt(ldb))
    }

    public static func _lapackComplexGesv(
        _ n: Int, _ nrhs: Int, _ a: UnsafeMutablePointer<Complex<Double>>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>, _ b: UnsafeMutablePointer<Complex<Double>>,
        _ ldb: Int
    ) -> Int32 {
        typealias Z = lrnn_lapack_complex_double
        return LAPACKE_zgesv(
            lapackRowMajor, lapackInt(n), lapackInt(nrhs),
            UnsafeMutableRawPointer(a).assumingMemoryBound(to: Z.self), lapackInt(lda), ipiv,
            UnsafeMutableRawPointer(b).assumingMemoryBound(to: Z.self), lapackInt(ldb))
    }

    public static func _lapackGetrf(
        _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ ipiv: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_dgetrf(lapackRowMajor, lapackInt(m), lapackInt(n), a, lapackInt(lda), ipiv)
    }

    public static func _lapackGetri(
        _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int, _ ipiv: UnsafePointer<Int32>
    ) -> Int32 {
        LAPACKE_dgetri(lapackRowMajor, lapackInt(n), a, lapackInt(lda), ipiv)
    }

    public static func _lapackGeqrf(
        _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ tau: UnsafeMutablePointer<Double>
    ) -> Int32 {
        LAPACKE_dgeqrf(lapackRowMajor, lapackInt(m), lapackInt(n), a, lapackInt(lda), tau)
    }

    public static func _lapackOrgqr(
        _ m: Int, _ n: Int, _ k: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ tau: UnsafePointer<Double>
    ) -> Int32 {
        LAPACKE_dorgqr(
            lapackRowMajor, lapackInt(m), lapackInt(n), lapackInt(k), a, lapackInt(lda), tau)
    }

    public static func _lapackGesdd(
        _ job: UInt8, _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int,
        _ s: UnsafeMutablePointer<Double>, _ u: UnsafeMutablePointer<Double>?, _ ldu: Int,
        _ vt: UnsafeMutablePointer<Double>?, _ ldvt: Int
    ) -> Int32 {
        LAPACKE_dgesdd(
            lapackRowMajor, CChar(job), lapackInt(m), lapackInt(n), a, lapackInt(lda), s,
            u, lapackInt(ldu), vt, lapackInt(ldvt))
    }

    public static func _lapackComplexGesdd(
        _ job: UInt8, _ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Complex<Double>>,
        _ lda: Int, _ s: UnsafeMutablePointer<Double>,
        _ u: UnsafeMutablePointer<Complex<Double>>?, _ ldu: Int,
        _ vt: UnsafeMutablePointer<Complex<Double>>?, _ ldvt: Int
    ) -> Int32 {
        typealias Z = lrnn_lapack_complex_double
        return LAPACKE_zgesdd(
            lapackRowMajor, CChar(job), lapackInt(m), lapackInt(n),
            UnsafeMutableRawPointer(a).assumingMemoryBound(to: Z.self), lapackInt(lda), s,
            UnsafeMutableRawPointer(u)?.assumingMemoryBound(to: Z.self), lapackInt(ldu),
            UnsafeMutableRawPointer(vt)?.assumingMemoryBound(to: Z.self), lapackInt(ldvt))
    }

    public static func _lapackSyev(
        _ vectors: Bool, _ triangle: BLAS.Triangle, _ n: Int, _ a: UnsafeMutablePointer<Double>,
        _ lda: Int, _ w: UnsafeMutablePointer<Double>
    ) -> Int32 {
        LAPACKE_dsyev(
            lapackRowMajor, lapackJob(vectors), triangle.lapack, lapackInt(n), a, lapackInt(lda), w)
    }

    public static func _lapackHeev(
        _ vectors: Bool, _ triangle: BLAS.Triangle, _ n: Int,
        _ a: UnsafeMutablePointer<Complex<Double>>, _ lda: Int, _ w: UnsafeMutablePointer<Double>
    ) -> Int32 {
        typealias Z = lrnn_lapack_complex_double
        return LAPACKE_zheev(
            lapackRowMajor, lapackJob(vectors), triangle.lapack, lapackInt(n),
            UnsafeMutableRawPointer(a).assumingMemoryBound(to: Z.self), lapackInt(lda), w)
    }
}
