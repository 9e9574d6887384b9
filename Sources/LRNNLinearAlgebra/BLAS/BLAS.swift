import ComplexModule

/// Checked BLAS wrappers over ``MatrixView``s: shapes are verified (a mismatch is a
/// programmer error and stops with a message naming both shapes), then the call goes
/// straight to OpenBLAS with the views' leading dimensions.
public enum BLAS {
    @inlinable
    static func opShape<T>(_ a: MatrixView<T>, _ t: Transpose) -> (Int, Int) {
        t == .none ? (a.rows, a.columns) : (a.columns, a.rows)
    }

    /// General matrix product `C ← α·op(A)·op(B) + β·C`.
    ///
    /// Costs `2·m·n·k` flops for `op(A)` m×k and `op(B)` k×n.
    /// - Precondition: `op(A)` is m×k, `op(B)` is k×n and C is m×n.
    @inlinable
    public static func gemm<T: LRNNScalar>(
        _ a: MatrixView<T>, _ transA: Transpose = .none,
        _ b: MatrixView<T>, _ transB: Transpose = .none,
        into c: MatrixView<T>, alpha: T = 1, beta: T = 0
    ) {
        let (m, k) = opShape(a, transA)
        let (k2, n) = opShape(b, transB)
        precondition(
            k == k2 && c.rows == m && c.columns == n,
            "BLAS.gemm: op(A) \(m)×\(k) · op(B) \(k2)×\(n) into C \(c.rows)×\(c.columns)")
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { c.fill(0) } else if beta != 1 { for i in 0..<m { T._blasScal(n, beta, c.row(i), 1) } }
            return
        }
        T._blasGemm(
            transA, transB, m, n, k, alpha, a.base, a.leadingDimension, b.base, b.leadingDimension,
            beta, c.base, c.leadingDimension)
    }

    /// General matrix product without transposes, `C ← α·A·B + β·C` (Swift cannot skip the
    /// unlabelled `Transpose` defaults of the full form, so this overload spells it out).
    ///
    /// - Precondition: A is m×k, B is k×n and C is m×n.
    @inlinable
    public static func gemm<T: LRNNScalar>(
        _ a: MatrixView<T>, _ b: MatrixView<T>, into c: MatrixView<T>, alpha: T = 1, beta: T = 0
    ) {
        gemm(a, .none, b, .none, into: c, alpha: alpha, beta: beta)
    }

    /// Complex matrix product `C ← α·op(A)·op(B) + β·C`.
    ///
    /// - Precondition: `op(A)` is m×k, `op(B)` is k×n and C is m×n.
    @inlinable
    public static func gemm<T: LRNNScalar>(
        _ a: MatrixView<Complex<T>>, _ transA: Transpose = .none,
        _ b: MatrixView<Complex<T>>, _ transB: Transpose = .none,
        into c: MatrixView<Complex<T>>, alpha: Complex<T> = .one, beta: Complex<T> = .zero
    ) {
        let (m, k) = opShape(a, transA)
        let (k2, n) = opShape(b, transB)
        precondition(
            k == k2 && c.rows == m && c.columns == n,
            "BLAS.gemm (complex): op(A) \(m)×\(k) · op(B) \(k2)×\(n) into C \(c.rows)×\(c.columns)")
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i, j] = beta == .zero ? .zero : beta * c[i, j] } }
            return
        }
        T._blasComplexGemm(
            transA, transB, m, n, k, alpha, a.base, a.leadingDimension, b.base, b.leadingDimension,
            beta, c.base, c.leadingDimension)
    }

    /// Complex matrix product without transposes, `C ← α·A·B + β·C`.
    ///
    /// - Precondition: A is m×k, B is k×n and C is m×n.
    @inlinable
    public static func gemm<T: LRNNScalar>(
        _ a: MatrixView<Complex<T>>, _ b: MatrixView<Complex<T>>, into c: MatrixView<Complex<T>>,
        alpha: Complex<T> = .one, beta: Complex<T> = .zero
    ) {
        gemm(a, .none, b, .none, into: c, alpha: alpha, beta: beta)
    }

    /// Matrix–vector product `y ← α·op(A)·x + β·y` with vectors given by pointer and stride.
    ///
    /// - Precondition: the caller provides `op(A).columns` elements of x and `op(A).rows` of y.
    @inlinable
    public static func gemv<T: LRNNScalar>(
        _ a: MatrixView<T>, _ trans: Transpose = .none,
        x: UnsafePointer<T>, incx: Int = 1, y: UnsafeMutablePointer<T>, incy: Int = 1,
        alpha: T = 1, beta: T = 0
    ) {
        let (m, n) = opShape(a, trans)
        if m == 0 { return }
        if n == 0 {
            for i in 0..<m { y[i * incy] = beta == 0 ? 0 : beta * y[i * incy] }
            return
        }
        T._blasGemv(trans, a.rows, a.columns, alpha, a.base, a.leadingDimension, x, incx, beta, y, incy)
    }

    /// Rank-1 update `A ← α·x·yᵀ + A`.
    @inlinable
    public static func ger<T: LRNNScalar>(
        x: UnsafePointer<T>, incx: Int = 1, y: UnsafePointer<T>, incy: Int = 1,
        into a: MatrixView<T>, alpha: T = 1
    ) {
        if a.rows == 0 || a.columns == 0 { return }
        T._blasGer(a.rows, a.columns, alpha, x, incx, y, incy, a.base, a.leadingDimension)
    }

    /// Triangular solve in place: B ← α·op(A)⁻¹·B (left) or B ← α·B·op(A)⁻¹ (right).
    ///
    /// - Precondition: A is square, of B's row count (left) or column count (right).
    @inlinable
    public static func trsm<T: LRNNScalar>(
        _ a: MatrixView<T>, side: Side = .left, triangle: Triangle, transA: Transpose = .none,
        diagonal: Diagonal = .nonUnit, _ b: MatrixView<T>, alpha: T = 1
    ) {
        let need = side == .left ? b.rows : b.columns
        precondition(
            a.rows == a.columns && a.rows == need,
            "BLAS.trsm: A \(a.rows)×\(a.columns) on the \(side) of B \(b.rows)×\(b.columns)")
        if b.rows == 0 || b.columns == 0 { return }
        T._blasTrsm(
            side, triangle, transA, diagonal, b.rows, b.columns, alpha, a.base, a.leadingDimension,
            b.base, b.leadingDimension)
    }

    /// Triangular product in place: B ← α·op(A)·B (left) or B ← α·B·op(A) (right).
    ///
    /// - Precondition: A is square, of B's row count (left) or column count (right).
    @inlinable
    public static func trmm<T: LRNNScalar>(
        _ a: MatrixView<T>, side: Side = .left, triangle: Triangle, transA: Transpose = .none,
        diagonal: Diagonal = .nonUnit, _ b: MatrixView<T>, alpha: T = 1
    ) {
        let need = side == .left ? b.rows : b.columns
        precondition(
            a.rows == a.columns && a.rows == need,
            "BLAS.trmm: A \(a.rows)×\(a.columns) on the \(side) of B \(b.rows)×\(b.columns)")
        if b.rows == 0 || b.columns == 0 { return }
        T._blasTrmm(
            side, triangle, transA, diagonal, b.rows, b.columns, alpha, a.base, a.leadingDimension,
            b.base, b.leadingDimension)
    }

    /// Symmetric rank-k update of one triangle of C: `C ← α·A·Aᵀ + β·C` (`trans == .none`)
    /// or `C ← α·Aᵀ·A + β·C`.
    ///
    /// - Precondition: C is square with the matching order.
    @inlinable
    public static func syrk<T: LRNNScalar>(
        _ a: MatrixView<T>, trans: Transpose = .none, triangle: Triangle,
        into c: MatrixView<T>, alpha: T = 1, beta: T = 0
    ) {
        let (n, k) = opShape(a, trans)
        precondition(
            c.rows == n && c.columns == n,
            "BLAS.syrk: op(A) \(n)×\(k) into C \(c.rows)×\(c.columns)")
        if n == 0 { return }
        T._blasSyrk(triangle, trans, n, k, alpha, a.base, a.leadingDimension, beta, c.base, c.leadingDimension)
    }

    /// `y ← α·x + y` over `n` elements.
    @inlinable
    public static func axpy<T: LRNNScalar>(
        _ n: Int, alpha: T, x: UnsafePointer<T>, incx: Int = 1, y: UnsafeMutablePointer<T>,
        incy: Int = 1
    ) {
        if n > 0 { T._blasAxpy(n, alpha, x, incx, y, incy) }
    }

    /// `x ← α·x` over `n` elements.
    @inlinable
    public static func scal<T: LRNNScalar>(_ n: Int, alpha: T, x: UnsafeMutablePointer<T>, incx: Int = 1) {
        if n > 0 { T._blasScal(n, alpha, x, incx) }
    }

    /// The dot product `xᵀy` over `n` elements.
    @inlinable
    public static func dot<T: LRNNScalar>(
        _ n: Int, x: UnsafePointer<T>, incx: Int = 1, y: UnsafePointer<T>, incy: Int = 1
    ) -> T {
        n > 0 ? T._blasDot(n, x, incx, y, incy) : 0
    }

    /// The Euclidean norm `‖x‖₂` over `n` elements.
    @inlinable
    public static func nrm2<T: LRNNScalar>(_ n: Int, x: UnsafePointer<T>, incx: Int = 1) -> T {
        n > 0 ? T.blasNrm2(n, x, incx) : 0
    }
}
