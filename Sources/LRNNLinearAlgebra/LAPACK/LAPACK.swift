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
    /// - Throws: ``LAPACKError`` when the QR iteration fails or the input holds NaN.
    public static func eigen<T: LRNNScalar>(
        _ a: Tensor<T>, left: Bool = false, right: Bool = true
    ) throws(LAPACKError) -> EigenDecomposition<T> {
        let n = square(a, "eigen")
        var work = a.scalars
        var wr = [T](repeating: 0, count: n)
        var wi = [T](repeating: 0, count: n)
        var vl = [T](repeating: 0, count: left ? n * n : 1)
        var vr = [T](repeating: 0, count: right ? n * n : 1)
        if n == 0 { return EigenDecomposition(values: [], left: nil, right: nil) }
        let info = T._lapackGeev(left, right, n, &work, n, &wr, &wi, &vl, n, &vr, n)
        try check(info, T.realPrefix + "geev")
        let values = (0..<n).map { Complex(wr[$0], wi[$0]) }
        func unpack(_ v: [T]) -> Tensor<Complex<T>> {
            var out = Tensor<Complex<T>>(shape: [n, n], repeating: .zero)
            var j = 0
            while j < n {
                if wi[j] != 0 && j + 1 < n {
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
    /// - Throws: ``LAPACKError`` when the QR iteration fails.
    public static func eigen<T: LRNNScalar>(
        _ a: Tensor<Complex<T>>, left: Bool = false, right: Bool = true
    ) throws(LAPACKError) -> EigenDecomposition<T> {
        let n = square(a, "eigen")
        if n == 0 { return EigenDecomposition(values: [], left: nil, right: nil) }
        var work = a.scalars
        var w = [Complex<T>](repeating: .zero, count: n)
        var vl = [Complex<T>](repeating: .zero, count: left ? n * n : 1)
        var vr = [Complex<T>](repeating: .zero, count: right ? n * n : 1)
        let info = T._lapackComplexGeev(left, right, n, &work, n, &w, &vl, n, &vr, n)
        try check(info, T.complexPrefix + "geev")
        return EigenDecomposition(
            values: w,
            left: left ? Tensor(shape: [n, n], scalars: vl) : nil,
            right: right ? Tensor(shape: [n, n], scalars: vr) : nil)
    }

    /// Solves `A·X = B` for square A by LU with partial pivoting (`sgesv` / `dgesv`).
    ///
    /// `b` is a vector `[n]` or a matrix `[n, m]`; the result has b's shape.
    /// - Throws: ``LAPACKError`` with `info > 0` when A is exactly singular.
    public static func solve<T: LRNNScalar>(_ a: Tensor<T>, _ b: Tensor<T>) throws(LAPACKError) -> Tensor<T> {
        let n = square(a, "solve")
        precondition(
            (b.rank == 1 || b.rank == 2) && b.shape[0] == n,
            "LAPACK.solve: A \(a.shape) with right-hand side \(b.shape)")
        let nrhs = b.rank == 1 ? 1 : b.shape[1]
        if n == 0 || nrhs == 0 { return b }
        var lu = a.scalars
        var x = b.scalars
        var ipiv = [Int32](repeating: 0, count: n)
        try check(T._lapackGesv(n, nrhs, &lu, n, &ipiv, &x, nrhs), T.realPrefix + "gesv")
        return Tensor(shape: b.shape, scalars: x)
    }

    /// Solves the complex system `A·X = B` (`cgesv` / `zgesv`); `b` is `[n]` or `[n, m]`.
    /// - Throws: ``LAPACKError`` with `info > 0` when A is exactly singular.
    public static func solve<T: LRNNScalar>(
        _ a: Tensor<Complex<T>>, _ b: Tensor<Complex<T>>
    ) throws(LAPACKError) -> Tensor<Complex<T>> {
        let n = square(a, "solve")
        precondition(
            (b.rank == 1 || b.rank == 2) && b.shape[0] == n,
            "LAPACK.solve: A \(a.shape) with right-hand side \(b.shape)")
        let nrhs = b.rank == 1 ? 1 : b.shape[1]
        if n == 0 || nrhs == 0 { return b }
        var lu = a.scalars
        var x = b.scalars
        var ipiv = [Int32](repeating: 0, count: n)
        try check(T._lapackComplexGesv(n, nrhs, &lu, n, &ipiv, &x, nrhs), T.complexPrefix + "gesv")
        return Tensor(shape: b.shape, scalars: x)
    }

    /// LU factorisation with partial pivoting `P·A = L·U` (`sgetrf` / `dgetrf`).
    ///
    /// Returns the packed factors (L below the diagonal with unit diagonal implied, U on and
    /// above) and LAPACK's 1-based pivot indices.
    /// - Throws: ``LAPACKError`` with `info > 0` when U has an exact zero on its diagonal.
    public static func luFactorization<T: LRNNScalar>(
        _ a: Tensor<T>
    ) throws(LAPACKError) -> (factors: Tensor<T>, pivots: [Int32]) {
        precondition(a.rank == 2, "LAPACK.luFactorization: expected a matrix, got shape \(a.shape)")
        let (m, n) = (a.shape[0], a.shape[1])
        var lu = a.scalars
        var ipiv = [Int32](repeating: 0, count: Swift.max(1, Swift.min(m, n)))
        if m > 0 && n > 0 {
            try check(T._lapackGetrf(m, n, &lu, Swift.max(n, 1), &ipiv), T.realPrefix + "getrf")
        }
        return (Tensor(shape: a.shape, scalars: lu), ipiv)
    }

    /// The inverse of a square matrix (`getrf` then `getri`). Prefer ``solve(_:_:)-(Tensor<T>,Tensor<T>)`` when
    /// the inverse is only applied to vectors.
    /// - Throws: ``LAPACKError`` when A is exactly singular.
    public static func inverse<T: LRNNScalar>(_ a: Tensor<T>) throws(LAPACKError) -> Tensor<T> {
        let n = square(a, "inverse")
        if n == 0 { return a }
        var (lu, ipiv) = try luFactorization(a)
        let info = lu.scalars.withUnsafeMutableBufferPointer { T._lapackGetri(n, $0.baseAddress!, n, ipiv) }
        try check(info, T.realPrefix + "getri")
        return lu
    }

    /// Thin QR factorisation `A = Q·R` of an m×n matrix with m ≥ n (`geqrf`, `orgqr`):
    /// Q is m×n with orthonormal columns, R is n×n upper triangular.
    /// - Throws: ``LAPACKError`` on an illegal argument (e.g. NaN input).
    public static func qr<T: LRNNScalar>(_ a: Tensor<T>) throws(LAPACKError) -> (q: Tensor<T>, r: Tensor<T>) {
        precondition(
            a.rank == 2 && a.shape[0] >= a.shape[1],
            "LAPACK.qr: expected an m×n matrix with m ≥ n, got shape \(a.shape)")
        let (m, n) = (a.shape[0], a.shape[1])
        if n == 0 { return (Tensor(shape: [m, 0], scalars: []), Tensor(shape: [0, 0], scalars: [])) }
        var f = a.scalars
        var tau = [T](repeating: 0, count: n)
        try check(T._lapackGeqrf(m, n, &f, n, &tau), T.realPrefix + "geqrf")
        var r = Tensor<T>(shape: [n, n], repeating: 0)
        for i in 0..<n { for j in i..<n { r.scalars[i * n + j] = f[i * n + j] } }
        try check(T._lapackOrgqr(m, n, n, &f, n, tau), T.realPrefix + "orgqr")
        return (Tensor(shape: [m, n], scalars: f), r)
    }

    /// Thin singular value decomposition `A = U·diag(s)·Vᵀ` (`gesdd`), s descending.
    /// Returns U (m×k) and Vᵀ (k×n) with k = min(m, n) when `vectors` is true.
    /// - Throws: ``LAPACKError`` when the iteration fails or the input holds NaN.
    public static func svd<T: LRNNScalar>(
        _ a: Tensor<T>, vectors: Bool = true
    ) throws(LAPACKError) -> (u: Tensor<T>?, s: [T], vt: Tensor<T>?) {
        precondition(a.rank == 2, "LAPACK.svd: expected a matrix, got shape \(a.shape)")
        let (m, n) = (a.shape[0], a.shape[1])
        let k = Swift.min(m, n)
        if k == 0 { return (nil, [], nil) }
        var f = a.scalars
        var s = [T](repeating: 0, count: k)
        var u = [T](repeating: 0, count: vectors ? m * k : 1)
        var vt = [T](repeating: 0, count: vectors ? k * n : 1)
        let job = UInt8(ascii: vectors ? "S" : "N")
        try check(T._lapackGesdd(job, m, n, &f, n, &s, &u, k, &vt, n), T.realPrefix + "gesdd")
        return vectors
            ? (Tensor(shape: [m, k], scalars: u), s, Tensor(shape: [k, n], scalars: vt))
            : (nil, s, nil)
    }

    /// Singular values (descending) of a complex matrix (`cgesdd` / `zgesdd`).
    /// - Throws: ``LAPACKError`` when the iteration fails.
    public static func singularValues<T: LRNNScalar>(_ a: Tensor<Complex<T>>) throws(LAPACKError) -> [T] {
        precondition(a.rank == 2, "LAPACK.singularValues: expected a matrix, got shape \(a.shape)")
        let (m, n) = (a.shape[0], a.shape[1])
        let k = Swift.min(m, n)
        if k == 0 { return [] }
        var f = a.scalars
        var s = [T](repeating: 0, count: k)
        var dummy = [Complex<T>](repeating: .zero, count: 1)
        var dummy2 = dummy
        // U and Vᵀ are not referenced with job "N", but row-major LAPACKE still requires
        // ldvt ≥ n (it rejects ldvt = 1 as argument 11).
        try check(
            T._lapackComplexGesdd(UInt8(ascii: "N"), m, n, &f, n, &s, &dummy, 1, &dummy2, n),
            T.complexPrefix + "gesdd")
        return s
    }

    /// Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric matrix
    /// (`ssyev` / `dsyev`, reading the lower triangle).
    /// - Throws: ``LAPACKError`` when the iteration fails.
    public static func symmetricEigen<T: LRNNScalar>(
        _ a: Tensor<T>
    ) throws(LAPACKError) -> (values: [T], vectors: Tensor<T>) {
        let n = square(a, "symmetricEigen")
        if n == 0 { return ([], a) }
        var f = a.scalars
        var w = [T](repeating: 0, count: n)
        try check(T._lapackSyev(true, .lower, n, &f, n, &w), T.realPrefix + "syev")
        return (w, Tensor(shape: [n, n], scalars: f))
    }

    /// Eigenvalues (ascending, real) and orthonormal eigenvectors (columns) of a Hermitian
    /// matrix (`cheev` / `zheev`, reading the lower triangle).
    /// - Throws: ``LAPACKError`` when the iteration fails.
    public static func hermitianEigen<T: LRNNScalar>(
        _ a: Tensor<Complex<T>>
    ) throws(LAPACKError) -> (values: [T], vectors: Tensor<Complex<T>>) {
        let n = square(a, "hermitianEigen")
        if n == 0 { return ([], a) }
        var f = a.scalars
        var w = [T](repeating: 0, count: n)
        try check(T._lapackHeev(true, .lower, n, &f, n, &w), T.complexPrefix + "heev")
        return (w, Tensor(shape: [n, n], scalars: f))
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
