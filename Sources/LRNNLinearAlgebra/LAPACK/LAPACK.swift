import ComplexModule

/// Eigenvalues and (optionally) eigenvectors of a square matrix: `A·vᵢ = λᵢ·vᵢ` for the
/// columns `vᵢ` of `right`, and `uᵢᴴ·A = λᵢ·uᵢᴴ` for the columns of `left`.
/// LAPACK normalises every eigenvector to unit 2-norm with largest component real.
public struct EigenDecomposition<T: LRNNScalar>: Sendable {
    /// The eigenvalues λᵢ, in LAPACK's order.
    public var values: [Complex<T>]
    /// The left eigenvectors as columns of an n×n matrix, if requested.
    public var left: Tensor<Complex<T>>?
    /// The right eigenvectors as columns of an n×n matrix, if requested.
    public var right: Tensor<Complex<T>>?
}

/// Checked LAPACK drivers over ``Tensor``s. Inputs are copied (LAPACK overwrites its
/// arguments); failures throw ``LAPACKError`` naming the routine and `info`.
///
/// Every driver calls LAPACK through LAPACKE's column-major `_work` entry points, which pass
/// the arrays they are given straight to the Fortran routine, and every array the routine sees
/// (the matrix, right-hand sides, eigen- and singular-vector matrices, the vectors of
/// eigenvalues, singular values, pivots and reflector scalars, and every workspace) is
/// allocated here with a tail pad of four columns and 64 elements beyond what LAPACK is told.
/// The reason is a fault of OpenBLAS 0.3.21 (issue #4013): its gemv kernels may read up to
/// about one column past the end of their matrix, which inside LAPACK is a sub-block ending
/// where the caller's array ends, so an array that ends at the end of a memory mapping crashes
/// the process. (LAPACKE's row-major functions allocate transposed copies and workspaces of
/// their own, which cannot be padded.) Row-major tensors are transposed into the column-major
/// buffers and back, with the leading dimensions the row-major functions use, so the routines
/// compute on the same numbers and give the same results, bit for bit.
///
/// LAPACKE's high-level functions reported NaN input as an illegal argument; the drivers scan
/// their inputs first for NaN and ±∞ and throw the same ``LAPACKError`` (the routine and
/// `info = −i`, `i` the matrix's position in that function's argument list). Infinite entries
/// are refused too: with one, `gesdd` never returns and the other routines give NaN or ∞.
public enum LAPACK {
    static func square<T>(_ a: Tensor<T>, _ what: String) -> Int {
        precondition(
            a.rank == 2 && a.shape[0] == a.shape[1],
            "LAPACK.\(what): expected a square matrix, got shape \(a.shape)")
        return a.shape[0]
    }

    /// Eigen-decomposition of a general real n×n matrix (`sgeev` / `dgeev`).
    ///
    /// Complex-conjugate pairs come out adjacent, positive imaginary part first; their
    /// eigenvectors are unpacked from LAPACK's real storage into complex columns.
    /// - Throws: ``LAPACKError`` when the QR iteration fails or the input holds NaN or ±∞.
    public static func eigen<T: LRNNScalar>(
        _ a: Tensor<T>, left: Bool = false, right: Bool = true
    ) throws(LAPACKError) -> EigenDecomposition<T> {
        let n = square(a, "eigen")
        if n == 0 { return EigenDecomposition(values: [], left: nil, right: nil) }
        let routine = T.realPrefix + "geev"
        try rejectNonFinite(a.scalars, routine, argument: 5)
        let f = LAPACKBuffer(rowMajor: a.scalars, rows: n, columns: n, span: n)
        let wr = LAPACKBuffer<T>(count: n, span: n)
        let wi = LAPACKBuffer<T>(count: n, span: n)
        let vl = LAPACKBuffer<T>(count: left ? n * n : 1, span: n)
        let vr = LAPACKBuffer<T>(count: right ? n * n : 1, span: n)
        let (ldvl, ldvr) = (left ? n : 1, right ? n : 1)
        let work = try workspace(T.self, span: n, routine) { query, lwork in
            T._lapackGeev(
                left, right, n, f.base, n, wr.base, wi.base, vl.base, ldvl, vr.base, ldvr, query, lwork)
        }
        let info = withExtendedLifetime((f, wr, wi, vl, vr, work)) {
            T._lapackGeev(
                left, right, n, f.base, n, wr.base, wi.base, vl.base, ldvl, vr.base, ldvr, work.base,
                work.count)
        }
        try check(info, routine)
        let (re, im) = (wr.array(n), wi.array(n))
        let values = (0..<n).map { Complex(re[$0], im[$0]) }
        func unpack(_ buffer: LAPACKBuffer<T>) -> Tensor<Complex<T>> {
            let v = buffer.rowMajor(rows: n, columns: n, leadingDimension: n)
            var out = Tensor<Complex<T>>(shape: [n, n], repeating: .zero)
            var j = 0
            while j < n {
                if im[j] != 0 && j + 1 < n {
                    for i in 0..<n {
                        let re = v[i * n + j]
                        let im = v[i * n + j + 1]
                        out.scalars[i * n + j] = Complex(re, im)
                        out.scalars[i * n + j + 1] = Complex(re, -im)
                    }
                    j += 2
                } else {
                    for i in 0..<n { out.scalars[i * n + j] = Complex(v[i * n + j], 0) }
                    j += 1
                }
            }
            return out
        }
        return EigenDecomposition(
            values: values, left: left ? unpack(vl) : nil, right: right ? unpack(vr) : nil)
    }

    /// Eigen-decomposition of a general complex n×n matrix (`cgeev` / `zgeev`).
    /// - Throws: ``LAPACKError`` when the QR iteration fails or the input holds NaN or ±∞.
    public static func eigen<T: LRNNScalar>(
        _ a: Tensor<Complex<T>>, left: Bool = false, right: Bool = true
    ) throws(LAPACKError) -> EigenDecomposition<T> {
        let n = square(a, "eigen")
        if n == 0 { return EigenDecomposition(values: [], left: nil, right: nil) }
        let routine = T.complexPrefix + "geev"
        try rejectNonFinite(a.scalars, routine, argument: 5)
        let f = LAPACKBuffer(rowMajor: a.scalars, rows: n, columns: n, span: n)
        let w = LAPACKBuffer<Complex<T>>(count: n, span: n)
        let vl = LAPACKBuffer<Complex<T>>(count: left ? n * n : 1, span: n)
        let vr = LAPACKBuffer<Complex<T>>(count: right ? n * n : 1, span: n)
        let (ldvl, ldvr) = (left ? n : 1, right ? n : 1)
        let rwork = LAPACKBuffer<T>(count: 2 * n, span: n)
        let work = try complexWorkspace(T.self, span: n, routine) { query, lwork in
            T._lapackComplexGeev(
                left, right, n, f.base, n, w.base, vl.base, ldvl, vr.base, ldvr, query, lwork, rwork.base)
        }
        let info = withExtendedLifetime((f, w, vl, vr, work, rwork)) {
            T._lapackComplexGeev(
                left, right, n, f.base, n, w.base, vl.base, ldvl, vr.base, ldvr, work.base, work.count,
                rwork.base)
        }
        try check(info, routine)
        return EigenDecomposition(
            values: w.array(n),
            left: left ? Tensor(shape: [n, n], scalars: vl.rowMajor(rows: n, columns: n, leadingDimension: n)) : nil,
            right: right
                ? Tensor(shape: [n, n], scalars: vr.rowMajor(rows: n, columns: n, leadingDimension: n)) : nil)
    }

    /// Solves `A·X = B` for square A by LU with partial pivoting (`sgesv` / `dgesv`).
    ///
    /// `b` is a vector `[n]` or a matrix `[n, m]`; the result has b's shape.
    /// - Throws: ``LAPACKError`` with `info > 0` when A is exactly singular, `info < 0` when A
    ///   or b holds NaN or ±∞.
    public static func solve<T: LRNNScalar>(_ a: Tensor<T>, _ b: Tensor<T>) throws(LAPACKError) -> Tensor<T> {
        let n = square(a, "solve")
        precondition(
            (b.rank == 1 || b.rank == 2) && b.shape[0] == n,
            "LAPACK.solve: A \(a.shape) with right-hand side \(b.shape)")
        let nrhs = b.rank == 1 ? 1 : b.shape[1]
        if n == 0 || nrhs == 0 { return b }
        let routine = T.realPrefix + "gesv"
        try rejectNonFinite(a.scalars, routine, argument: 4)
        try rejectNonFinite(b.scalars, routine, argument: 7)
        let span = Swift.max(n, nrhs)
        let f = LAPACKBuffer(rowMajor: a.scalars, rows: n, columns: n, span: span)
        let x = LAPACKBuffer(rowMajor: b.scalars, rows: n, columns: nrhs, span: span)
        let ipiv = LAPACKBuffer<Int32>(count: n, span: span)
        let info = withExtendedLifetime((f, x, ipiv)) { T._lapackGesv(n, nrhs, f.base, n, ipiv.base, x.base, n) }
        try check(info, routine)
        return Tensor(shape: b.shape, scalars: x.rowMajor(rows: n, columns: nrhs, leadingDimension: n))
    }

    /// Solves the complex system `A·X = B` (`cgesv` / `zgesv`); `b` is `[n]` or `[n, m]`.
    /// - Throws: ``LAPACKError`` with `info > 0` when A is exactly singular, `info < 0` when A
    ///   or b holds NaN or ±∞.
    public static func solve<T: LRNNScalar>(
        _ a: Tensor<Complex<T>>, _ b: Tensor<Complex<T>>
    ) throws(LAPACKError) -> Tensor<Complex<T>> {
        let n = square(a, "solve")
        precondition(
            (b.rank == 1 || b.rank == 2) && b.shape[0] == n,
            "LAPACK.solve: A \(a.shape) with right-hand side \(b.shape)")
        let nrhs = b.rank == 1 ? 1 : b.shape[1]
        if n == 0 || nrhs == 0 { return b }
        let routine = T.complexPrefix + "gesv"
        try rejectNonFinite(a.scalars, routine, argument: 4)
        try rejectNonFinite(b.scalars, routine, argument: 7)
        let span = Swift.max(n, nrhs)
        let f = LAPACKBuffer(rowMajor: a.scalars, rows: n, columns: n, span: span)
        let x = LAPACKBuffer(rowMajor: b.scalars, rows: n, columns: nrhs, span: span)
        let ipiv = LAPACKBuffer<Int32>(count: n, span: span)
        let info = withExtendedLifetime((f, x, ipiv)) {
            T._lapackComplexGesv(n, nrhs, f.base, n, ipiv.base, x.base, n)
        }
        try check(info, routine)
        return Tensor(shape: b.shape, scalars: x.rowMajor(rows: n, columns: nrhs, leadingDimension: n))
    }

    /// LU factorisation with partial pivoting `P·A = L·U` (`sgetrf` / `dgetrf`).
    ///
    /// Returns the packed factors (L below the diagonal with unit diagonal implied, U on and
    /// above) and LAPACK's 1-based pivot indices, min(m, n) of them (none for an empty matrix).
    /// - Throws: ``LAPACKError`` with `info > 0` when U has an exact zero on its diagonal,
    ///   `info < 0` when the input holds NaN or ±∞.
    public static func luFactorization<T: LRNNScalar>(
        _ a: Tensor<T>
    ) throws(LAPACKError) -> (factors: Tensor<T>, pivots: [Int32]) {
        precondition(a.rank == 2, "LAPACK.luFactorization: expected a matrix, got shape \(a.shape)")
        let (m, n) = (a.shape[0], a.shape[1])
        // min(m, n) pivots: none for an empty matrix.
        if m == 0 || n == 0 { return (a, []) }
        let (f, ipiv) = try factorLU(a)
        return (
            Tensor(shape: a.shape, scalars: f.rowMajor(rows: m, columns: n, leadingDimension: m)),
            ipiv.array(Swift.min(m, n))
        )
    }

    /// `getrf` on a non-empty m×n matrix: the column-major factors (leading dimension m) and
    /// the pivots.
    static func factorLU<T: LRNNScalar>(
        _ a: Tensor<T>
    ) throws(LAPACKError) -> (factors: LAPACKBuffer<T>, pivots: LAPACKBuffer<Int32>) {
        let (m, n) = (a.shape[0], a.shape[1])
        let routine = T.realPrefix + "getrf"
        try rejectNonFinite(a.scalars, routine, argument: 4)
        let span = Swift.max(m, n)
        let f = LAPACKBuffer(rowMajor: a.scalars, rows: m, columns: n, span: span)
        let ipiv = LAPACKBuffer<Int32>(count: Swift.min(m, n), span: span)
        let info = withExtendedLifetime((f, ipiv)) { T._lapackGetrf(m, n, f.base, m, ipiv.base) }
        try check(info, routine)
        return (f, ipiv)
    }

    /// The inverse of a square matrix (`getrf` then `getri`). Prefer ``solve(_:_:)-(Tensor<T>,Tensor<T>)`` when
    /// the inverse is only applied to vectors.
    /// - Throws: ``LAPACKError`` when A is exactly singular or holds NaN or ±∞.
    public static func inverse<T: LRNNScalar>(_ a: Tensor<T>) throws(LAPACKError) -> Tensor<T> {
        let n = square(a, "inverse")
        if n == 0 { return a }
        let (f, ipiv) = try factorLU(a)
        let routine = T.realPrefix + "getri"
        try rejectNonFinite(UnsafeBufferPointer(start: f.base, count: n * n), routine, argument: 3)
        let work = try workspace(T.self, span: n, routine) { query, lwork in
            T._lapackGetri(n, f.base, n, ipiv.base, query, lwork)
        }
        let info = withExtendedLifetime((f, ipiv, work)) {
            T._lapackGetri(n, f.base, n, ipiv.base, work.base, work.count)
        }
        try check(info, routine)
        return Tensor(shape: [n, n], scalars: f.rowMajor(rows: n, columns: n, leadingDimension: n))
    }

    /// Thin QR factorisation `A = Q·R` of an m×n matrix with m ≥ n (`geqrf`, `orgqr`):
    /// Q is m×n with orthonormal columns, R is n×n upper triangular.
    /// - Throws: ``LAPACKError`` on an illegal argument (e.g. NaN or ±∞ input).
    public static func qr<T: LRNNScalar>(_ a: Tensor<T>) throws(LAPACKError) -> (q: Tensor<T>, r: Tensor<T>) {
        precondition(
            a.rank == 2 && a.shape[0] >= a.shape[1],
            "LAPACK.qr: expected an m×n matrix with m ≥ n, got shape \(a.shape)")
        let (m, n) = (a.shape[0], a.shape[1])
        if n == 0 { return (Tensor(shape: [m, 0], scalars: []), Tensor(shape: [0, 0], scalars: [])) }
        let geqrf = T.realPrefix + "geqrf"
        try rejectNonFinite(a.scalars, geqrf, argument: 4)
        let f = LAPACKBuffer(rowMajor: a.scalars, rows: m, columns: n, span: m)
        let tau = LAPACKBuffer<T>(count: n, span: m)
        let qrWork = try workspace(T.self, span: m, geqrf) { query, lwork in
            T._lapackGeqrf(m, n, f.base, m, tau.base, query, lwork)
        }
        let info = withExtendedLifetime((f, tau, qrWork)) {
            T._lapackGeqrf(m, n, f.base, m, tau.base, qrWork.base, qrWork.count)
        }
        try check(info, geqrf)
        var r = Tensor<T>(shape: [n, n], repeating: 0)
        for i in 0..<n { for j in i..<n { r.scalars[i * n + j] = f.base[i + j * m] } }
        let orgqr = T.realPrefix + "orgqr"
        try rejectNonFinite(UnsafeBufferPointer(start: f.base, count: m * n), orgqr, argument: 5)
        try rejectNonFinite(UnsafeBufferPointer(start: tau.base, count: n), orgqr, argument: 7)
        let qWork = try workspace(T.self, span: m, orgqr) { query, lwork in
            T._lapackOrgqr(m, n, n, f.base, m, tau.base, query, lwork)
        }
        let qInfo = withExtendedLifetime((f, tau, qWork)) {
            T._lapackOrgqr(m, n, n, f.base, m, tau.base, qWork.base, qWork.count)
        }
        try check(qInfo, orgqr)
        return (Tensor(shape: [m, n], scalars: f.rowMajor(rows: m, columns: n, leadingDimension: m)), r)
    }

    /// Thin singular value decomposition `A = U·diag(s)·Vᵀ` (`gesdd`), s descending.
    /// Returns U (m×k) and Vᵀ (k×n) with k = min(m, n) when `vectors` is true.
    /// - Throws: ``LAPACKError`` when the iteration fails or the input holds NaN or ±∞.
    public static func svd<T: LRNNScalar>(
        _ a: Tensor<T>, vectors: Bool = true
    ) throws(LAPACKError) -> (u: Tensor<T>?, s: [T], vt: Tensor<T>?) {
        precondition(a.rank == 2, "LAPACK.svd: expected a matrix, got shape \(a.shape)")
        let (m, n) = (a.shape[0], a.shape[1])
        let k = Swift.min(m, n)
        if k == 0 { return (nil, [], nil) }
        let routine = T.realPrefix + "gesdd"
        try rejectNonFinite(a.scalars, routine, argument: 5)
        let span = Swift.max(m, n)
        let f = LAPACKBuffer(rowMajor: a.scalars, rows: m, columns: n, span: span)
        let s = LAPACKBuffer<T>(count: k, span: span)
        let u = LAPACKBuffer<T>(count: vectors ? m * k : 1, span: span)
        let vt = LAPACKBuffer<T>(count: vectors ? k * n : 1, span: span)
        let (ldu, ldvt) = vectors ? (m, k) : (1, 1)
        let iwork = LAPACKBuffer<Int32>(count: 8 * k, span: span)
        let job = UInt8(ascii: vectors ? "S" : "N")
        let work = try workspace(T.self, span: span, routine) { query, lwork in
            T._lapackGesdd(job, m, n, f.base, m, s.base, u.base, ldu, vt.base, ldvt, query, lwork, iwork.base)
        }
        let info = withExtendedLifetime((f, s, u, vt, iwork, work)) {
            T._lapackGesdd(
                job, m, n, f.base, m, s.base, u.base, ldu, vt.base, ldvt, work.base, work.count, iwork.base)
        }
        try check(info, routine)
        guard vectors else { return (nil, s.array(k), nil) }
        return (
            Tensor(shape: [m, k], scalars: u.rowMajor(rows: m, columns: k, leadingDimension: m)), s.array(k),
            Tensor(shape: [k, n], scalars: vt.rowMajor(rows: k, columns: n, leadingDimension: k))
        )
    }

    /// Singular values (descending) of a complex matrix (`cgesdd` / `zgesdd`).
    /// - Throws: ``LAPACKError`` when the iteration fails or the input holds NaN or ±∞.
    public static func singularValues<T: LRNNScalar>(_ a: Tensor<Complex<T>>) throws(LAPACKError) -> [T] {
        precondition(a.rank == 2, "LAPACK.singularValues: expected a matrix, got shape \(a.shape)")
        let (m, n) = (a.shape[0], a.shape[1])
        let k = Swift.min(m, n)
        if k == 0 { return [] }
        let routine = T.complexPrefix + "gesdd"
        try rejectNonFinite(a.scalars, routine, argument: 5)
        let span = Swift.max(m, n)
        let f = LAPACKBuffer(rowMajor: a.scalars, rows: m, columns: n, span: span)
        let s = LAPACKBuffer<T>(count: k, span: span)
        // With job "N", U and Vᵀ are not referenced (leading dimensions 1), and LAPACK's
        // documentation asks 7·min(m, n) reals of rwork (5 since LAPACK 3.7).
        let u = LAPACKBuffer<Complex<T>>(count: 1, span: span)
        let vt = LAPACKBuffer<Complex<T>>(count: 1, span: span)
        let rwork = LAPACKBuffer<T>(count: 7 * k, span: span)
        let iwork = LAPACKBuffer<Int32>(count: 8 * k, span: span)
        let job = UInt8(ascii: "N")
        let work = try complexWorkspace(T.self, span: span, routine) { query, lwork in
            T._lapackComplexGesdd(
                job, m, n, f.base, m, s.base, u.base, 1, vt.base, 1, query, lwork, rwork.base, iwork.base)
        }
        let info = withExtendedLifetime((f, s, u, vt, rwork, iwork, work)) {
            T._lapackComplexGesdd(
                job, m, n, f.base, m, s.base, u.base, 1, vt.base, 1, work.base, work.count, rwork.base,
                iwork.base)
        }
        try check(info, routine)
        return s.array(k)
    }

    /// Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric matrix
    /// (`ssyev` / `dsyev`, reading the lower triangle).
    /// - Throws: ``LAPACKError`` when the iteration fails or the lower triangle holds NaN or ±∞.
    public static func symmetricEigen<T: LRNNScalar>(
        _ a: Tensor<T>
    ) throws(LAPACKError) -> (values: [T], vectors: Tensor<T>) {
        let n = square(a, "symmetricEigen")
        if n == 0 { return ([], a) }
        let routine = T.realPrefix + "syev"
        if lowerTriangleContainsNonFinite(a.scalars, n) { throw LAPACKError(routine: routine, info: -5) }
        let f = LAPACKBuffer(rowMajor: a.scalars, rows: n, columns: n, span: n)
        let w = LAPACKBuffer<T>(count: n, span: n)
        let work = try workspace(T.self, span: n, routine) { query, lwork in
            T._lapackSyev(true, .lower, n, f.base, n, w.base, query, lwork)
        }
        let info = withExtendedLifetime((f, w, work)) {
            T._lapackSyev(true, .lower, n, f.base, n, w.base, work.base, work.count)
        }
        try check(info, routine)
        return (w.array(n), Tensor(shape: [n, n], scalars: f.rowMajor(rows: n, columns: n, leadingDimension: n)))
    }

    /// Eigenvalues (ascending, real) and orthonormal eigenvectors (columns) of a Hermitian
    /// matrix (`cheev` / `zheev`, reading the lower triangle).
    /// - Throws: ``LAPACKError`` when the iteration fails or the lower triangle holds NaN or ±∞.
    public static func hermitianEigen<T: LRNNScalar>(
        _ a: Tensor<Complex<T>>
    ) throws(LAPACKError) -> (values: [T], vectors: Tensor<Complex<T>>) {
        let n = square(a, "hermitianEigen")
        if n == 0 { return ([], a) }
        let routine = T.complexPrefix + "heev"
        if lowerTriangleContainsNonFinite(a.scalars, n) { throw LAPACKError(routine: routine, info: -5) }
        let f = LAPACKBuffer(rowMajor: a.scalars, rows: n, columns: n, span: n)
        let w = LAPACKBuffer<T>(count: n, span: n)
        let rwork = LAPACKBuffer<T>(count: Swift.max(1, 3 * n - 2), span: n)
        let work = try complexWorkspace(T.self, span: n, routine) { query, lwork in
            T._lapackHeev(true, .lower, n, f.base, n, w.base, query, lwork, rwork.base)
        }
        let info = withExtendedLifetime((f, w, rwork, work)) {
            T._lapackHeev(true, .lower, n, f.base, n, w.base, work.base, work.count, rwork.base)
        }
        try check(info, routine)
        return (w.array(n), Tensor(shape: [n, n], scalars: f.rowMajor(rows: n, columns: n, leadingDimension: n)))
    }

    /// The 2-norm condition number `σ_max / σ_min` of a matrix (∞ when σ_min = 0).
    /// - Throws: ``LAPACKError`` when the SVD fails.
    public static func conditionNumber<T: LRNNScalar>(_ a: Tensor<T>) throws(LAPACKError) -> T {
        let s = try svd(a, vectors: false).s
        guard let hi = s.first, let lo = s.last else { return 0 }
        return lo == 0 ? .infinity : hi / lo
    }

    /// The 2-norm condition number `σ_max / σ_min` of a complex matrix (∞ when σ_min = 0).
    /// - Throws: ``LAPACKError`` when the SVD fails.
    public static func conditionNumber<T: LRNNScalar>(_ a: Tensor<Complex<T>>) throws(LAPACKError) -> T {
        let s = try singularValues(a)
        guard let hi = s.first, let lo = s.last else { return 0 }
        return lo == 0 ? .infinity : hi / lo
    }

    /// The spectral norm `‖A‖₂ = σ_max` of a real matrix.
    /// - Throws: ``LAPACKError`` when the SVD fails.
    public static func spectralNorm<T: LRNNScalar>(_ a: Tensor<T>) throws(LAPACKError) -> T {
        try svd(a, vectors: false).s.first ?? 0
    }
}
