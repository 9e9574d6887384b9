import ComplexModule
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// `A·V` against `V·diag(λ)` for right eigenvectors (columns of V), relative to ‖A‖.
func rightResidual<T: LRNNScalar>(_ a: Tensor<Complex<T>>, _ e: EigenDecomposition<T>) -> Double {
    let v = e.right!
    let n = a.shape[0]
    let av = naiveProduct(a, v)
    var vl = v
    for i in 0..<n { for j in 0..<n { vl.scalars[i * n + j] = v.scalars[i * n + j] * e.values[j] } }
    return maxError(av, vl)
}

/// `uᴴ·A` against `λ·uᴴ` for left eigenvectors (columns of U): `Uᴴ·A = diag(λ)·Uᴴ`.
func leftResidual<T: LRNNScalar>(_ a: Tensor<Complex<T>>, _ e: EigenDecomposition<T>) -> Double {
    let uh = adjoint(e.left!)
    let n = a.shape[0]
    let uha = naiveProduct(uh, a)
    var luh = uh
    for i in 0..<n { for j in 0..<n { luh.scalars[i * n + j] = e.values[i] * uh.scalars[i * n + j] } }
    return maxError(uha, luh)
}

/// Whether the columns of an m×n matrix are orthonormal (`QᵀQ = I`).
func orthonormalityError<T: LRNNScalar>(_ q: Tensor<T>) -> Double {
    maxError(naiveProduct(transposed(q), q).converted(to: T.self), identity(q.shape[1]))
}

@Suite("LAPACK drivers")
struct LAPACKTests {
    @Test("inverse: A·A⁻¹ = I", arguments: precisions)
    func inverse(_ type: any LRNNScalar.Type) throws { try runInverse(type) }

    func runInverse<T: LRNNScalar>(_: T.Type) throws {
        var rng = SeededRandom(seed: 21)
        var a: Tensor<T> = randomReal(5, 5, &rng)
        for i in 0..<5 { a[i, i] += 3 }
        let inv = try LAPACK.inverse(a)
        #expect(maxError(naiveProduct(a, inv).converted(to: T.self), identity(5)) < tolerance(T.self))
        #expect(maxError(naiveProduct(inv, a).converted(to: T.self), identity(5)) < tolerance(T.self))
        // A hand-computed case: [[4, 7], [2, 6]]⁻¹ = [[0.6, −0.7], [−0.2, 0.4]].
        let small = try LAPACK.inverse(matrix([[4, 7], [2, 6]], as: T.self))
        #expect(maxError(small, matrix([[0.6, -0.7], [-0.2, 0.4]])) < tolerance(T.self))
    }

    @Test("solve: vector and matrix right-hand sides, real and complex", arguments: precisions)
    func solve(_ type: any LRNNScalar.Type) throws { try runSolve(type) }

    func runSolve<T: LRNNScalar>(_: T.Type) throws {
        // [[2, 1], [1, 3]]·x = [3, 5] ⇒ x = [0.8, 1.4].
        let x = try LAPACK.solve(matrix([[2, 1], [1, 3]], as: T.self), Tensor(shape: [2], scalars: [3, 5]))
        #expect(x.shape == [2])
        #expect(maxError(x, Tensor(shape: [2], scalars: [0.8, 1.4])) < tolerance(T.self))
        var rng = SeededRandom(seed: 22)
        var a: Tensor<T> = randomReal(6, 6, &rng)
        for i in 0..<6 { a[i, i] += 4 }
        let b: Tensor<T> = randomReal(6, 3, &rng)
        let xm = try LAPACK.solve(a, b)
        #expect(xm.shape == [6, 3])
        #expect(maxError(naiveProduct(a, xm).converted(to: T.self), b.converted(to: Double.self)) < tolerance(T.self))
        // Complex: (A + iI)·X = B.
        var ac = complexified(a)
        for i in 0..<6 { ac[i, i] = ac[i, i] + Complex(0, 1) }
        let bc: Tensor<Complex<T>> = randomComplex(6, 2, &rng)
        let xc = try LAPACK.solve(ac, bc)
        #expect(maxError(naiveProduct(ac, xc), bc) < tolerance(T.self))
    }

    @Test("eigen (real input): A·V = V·Λ and uᴴA = λuᴴ, conjugate pairs unpacked", arguments: precisions)
    func realEigen(_ type: any LRNNScalar.Type) throws { try runRealEigen(type) }

    func runRealEigen<T: LRNNScalar>(_: T.Type) throws {
        var rng = SeededRandom(seed: 23)
        let a: Tensor<T> = randomReal(7, 7, &rng)
        let e = try LAPACK.eigen(a, left: true, right: true)
        #expect(e.values.count == 7)
        #expect(e.values.contains { $0.imaginary != 0 }, "the seeded matrix should have a complex pair")
        let ac = complexified(a)
        #expect(rightResidual(ac, e) < 10 * tolerance(T.self))
        #expect(leftResidual(ac, e) < 10 * tolerance(T.self))
        // Without eigenvectors only the values are returned, the same ones.
        let valuesOnly = try LAPACK.eigen(a, left: false, right: false)
        #expect(valuesOnly.left == nil && valuesOnly.right == nil)
        for (x, y) in zip(valuesOnly.values, e.values) { #expect(Double((x - y).length) < tolerance(T.self)) }
        // The rotation [[0, −1], [1, 0]] has eigenvalues ±i.
        let rot = try LAPACK.eigen(matrix([[0, -1], [1, 0]], as: T.self))
        #expect(Set(rot.values.map { [Double($0.real), Double($0.imaginary)] }) == [[0, 1], [0, -1]])
        #expect(rightResidual(complexified(matrix([[0, -1], [1, 0]], as: T.self)), rot) < tolerance(T.self))
    }

    @Test("eigen (complex input): rotation gives ±i; A·V = V·Λ; uᴴA = λuᴴ", arguments: precisions)
    func complexEigen(_ type: any LRNNScalar.Type) throws { try runComplexEigen(type) }

    func runComplexEigen<T: LRNNScalar>(_: T.Type) throws {
        let rotation = complexMatrix([[(0, 0), (-1, 0)], [(1, 0), (0, 0)]], as: T.self)
        let r = try LAPACK.eigen(rotation, left: true, right: true)
        let sorted = r.values.sorted { $0.imaginary < $1.imaginary }
        #expect(Double((sorted[0] - Complex(0, -1)).length) < tolerance(T.self))
        #expect(Double((sorted[1] - Complex(0, 1)).length) < tolerance(T.self))
        #expect(rightResidual(rotation, r) < tolerance(T.self))
        #expect(leftResidual(rotation, r) < tolerance(T.self))
        var rng = SeededRandom(seed: 24)
        let a: Tensor<Complex<T>> = randomComplex(6, 6, &rng)
        let e = try LAPACK.eigen(a, left: true, right: true)
        #expect(rightResidual(a, e) < 10 * tolerance(T.self))
        #expect(leftResidual(a, e) < 10 * tolerance(T.self))
        // Eigenvectors come normalised to unit 2-norm.
        let v = e.right!
        for j in 0..<6 {
            let norm = (0..<6).map { Double(v[$0, j].lengthSquared) }.reduce(0, +)
            #expect(abs(norm - 1) < tolerance(T.self))
        }
    }

    @Test("qr: Q orthonormal, R upper triangular, Q·R = A", arguments: precisions)
    func qr(_ type: any LRNNScalar.Type) throws { try runQR(type) }

    func runQR<T: LRNNScalar>(_: T.Type) throws {
        var rng = SeededRandom(seed: 25)
        let a: Tensor<T> = randomReal(6, 4, &rng)
        let (q, r) = try LAPACK.qr(a)
        #expect(q.shape == [6, 4] && r.shape == [4, 4])
        #expect(orthonormalityError(q) < tolerance(T.self))
        for i in 0..<4 { for j in 0..<i { #expect(r[i, j] == 0, "R[\(i), \(j)]") } }
        #expect(maxError(naiveProduct(q, r).converted(to: T.self), a.converted(to: Double.self)) < tolerance(T.self))
    }

    @Test("svd: reconstructs A, values descending and non-negative", arguments: precisions)
    func svd(_ type: any LRNNScalar.Type) throws { try runSVD(type) }

    func runSVD<T: LRNNScalar>(_: T.Type) throws {
        var rng = SeededRandom(seed: 26)
        for (m, n) in [(5, 3), (3, 5), (4, 4)] {
            let a: Tensor<T> = randomReal(m, n, &rng)
            let (u, s, vt) = try LAPACK.svd(a)
            let k = min(m, n)
            let uu = try #require(u)
            let vv = try #require(vt)
            #expect(uu.shape == [m, k] && vv.shape == [k, n] && s.count == k)
            #expect(zip(s, s.dropFirst()).allSatisfy { $0 >= $1 } && s.last! >= 0, "\(s)")
            var us = uu
            for i in 0..<m { for j in 0..<k { us[i, j] *= s[j] } }
            #expect(
                maxError(naiveProduct(us, vv).converted(to: T.self), a.converted(to: Double.self)) < tolerance(T.self))
            #expect(orthonormalityError(uu) < tolerance(T.self))
            #expect(orthonormalityError(transposed(vv)) < tolerance(T.self))
            let valuesOnly = try LAPACK.svd(a, vectors: false)
            #expect(valuesOnly.u == nil && valuesOnly.vt == nil)
            for (x, y) in zip(valuesOnly.s, s) { #expect(Double(abs(x - y)) < tolerance(T.self)) }
            // The complex driver agrees on a real matrix.
            let sc = try LAPACK.singularValues(complexified(a))
            for (x, y) in zip(sc, s) { #expect(Double(abs(x - y)) < tolerance(T.self)) }
        }
        #expect(try LAPACK.spectralNorm(matrix([[3, 0], [0, -4]], as: T.self)) == 4)
    }

    @Test("symmetricEigen: A·V = V·diag(w), w ascending, V orthonormal", arguments: precisions)
    func symmetricEigen(_ type: any LRNNScalar.Type) throws { try runSymmetricEigen(type) }

    func runSymmetricEigen<T: LRNNScalar>(_: T.Type) throws {
        var rng = SeededRandom(seed: 27)
        let m: Tensor<T> = randomReal(5, 5, &rng)
        var a = m
        for i in 0..<5 { for j in 0..<5 { a[i, j] = m[i, j] + m[j, i] } }
        let (w, v) = try LAPACK.symmetricEigen(a)
        #expect(zip(w, w.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(orthonormalityError(v) < tolerance(T.self))
        var vw = v
        for i in 0..<5 { for j in 0..<5 { vw[i, j] *= w[j] } }
        #expect(maxError(naiveProduct(a, v).converted(to: T.self), vw.converted(to: Double.self)) < tolerance(T.self))
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let (w2, _) = try LAPACK.symmetricEigen(matrix([[2, 1], [1, 2]], as: T.self))
        #expect(maxError(Tensor(shape: [2], scalars: w2), Tensor(shape: [2], scalars: [1, 3])) < tolerance(T.self))
    }

    @Test("hermitianEigen: H·V = V·diag(w), w real and ascending", arguments: precisions)
    func hermitianEigen(_ type: any LRNNScalar.Type) throws { try runHermitianEigen(type) }

    func runHermitianEigen<T: LRNNScalar>(_: T.Type) throws {
        var rng = SeededRandom(seed: 28)
        let m: Tensor<Complex<T>> = randomComplex(4, 4, &rng)
        var h = m
        for i in 0..<4 { for j in 0..<4 { h[i, j] = m[i, j] + m[j, i].conjugate } }
        let (w, v) = try LAPACK.hermitianEigen(h)
        #expect(zip(w, w.dropFirst()).allSatisfy { $0 <= $1 })
        var vw = v
        for i in 0..<4 { for j in 0..<4 { vw[i, j] = vw[i, j] * Complex(w[j], 0) } }
        #expect(maxError(naiveProduct(h, v), vw) < tolerance(T.self))
        #expect(maxError(naiveProduct(adjoint(v), v), complexified(identity(4))) < tolerance(T.self))
        // [[1, −i], [i, 1]] has eigenvalues 0 and 2.
        let (w2, _) = try LAPACK.hermitianEigen(complexMatrix([[(1, 0), (0, -1)], [(0, 1), (1, 0)]], as: T.self))
        #expect(abs(Double(w2[0])) < tolerance(T.self) && abs(Double(w2[1]) - 2) < tolerance(T.self))
    }

    @Test("conditionNumber of a diagonal matrix is max|d| / min|d|", arguments: precisions)
    func conditionNumber(_ type: any LRNNScalar.Type) throws { try runConditionNumber(type) }

    func runConditionNumber<T: LRNNScalar>(_: T.Type) throws {
        let d = matrix([[2, 0, 0], [0, -0.5, 0], [0, 0, 10]], as: T.self)
        #expect(abs(Double(try LAPACK.conditionNumber(d)) - 20) < 20 * tolerance(T.self))
        #expect(abs(Double(try LAPACK.conditionNumber(complexified(d))) - 20) < 20 * tolerance(T.self))
        #expect(try LAPACK.conditionNumber(matrix([[1, 0], [0, 0]], as: T.self)) == .infinity)
        #expect(try LAPACK.conditionNumber(identity(4, as: T.self)) == 1)
    }

    @Test("singular matrix: LAPACKError names the routine with info > 0", arguments: precisions)
    func singular(_ type: any LRNNScalar.Type) { runSingular(type) }

    func runSingular<T: LRNNScalar>(_: T.Type) {
        let p = T.self == Float.self ? "s" : "d"
        let c = T.self == Float.self ? "c" : "z"
        // Row 2 = 2 × row 1: elimination leaves U(2, 2) = 0.
        let a = matrix([[1, 2], [2, 4]], as: T.self)
        #expect(throws: LAPACKError(routine: p + "gesv", info: 2)) {
            try LAPACK.solve(a, Tensor<T>(shape: [2], scalars: [1, 1]))
        }
        #expect(throws: LAPACKError(routine: p + "getrf", info: 2)) { try LAPACK.inverse(a) }
        #expect(throws: LAPACKError(routine: p + "getrf", info: 2)) { try LAPACK.luFactorization(a) }
        #expect(throws: LAPACKError(routine: c + "gesv", info: 2)) {
            try LAPACK.solve(complexified(a), Tensor<Complex<T>>(shape: [2], scalars: [.one, .one]))
        }
        let error = LAPACKError(routine: p + "gesv", info: 2)
        #expect(error.description.contains(p + "gesv") && error.description.contains("singular"))
        // NaN input is an illegal argument (info < 0), reported, not a crash.
        let nan = matrix([[1, 2], [3, 4]], as: T.self).map { $0 == 4 ? T.nan : $0 }
        let thrown = #expect(throws: LAPACKError.self) { try LAPACK.eigen(nan) }
        #expect(thrown?.routine == p + "geev" && (thrown?.info ?? 0) < 0)
    }

    @Test(
        "NaN input: each driver throws the routine and the info LAPACKE's high-level functions gave",
        arguments: precisions)
    func nanInput(_ type: any LRNNScalar.Type) { runNaNInput(type) }

    func runNaNInput<T: LRNNScalar>(_: T.Type) {
        let p = T.self == Float.self ? "s" : "d"
        let c = T.self == Float.self ? "c" : "z"
        let good = matrix([[2, 1], [1, 3]], as: T.self)
        let nan = matrix([[2, 1], [1, 3]], as: T.self).map { $0 == 3 ? T.nan : $0 }
        let upperNaN = matrix([[2, 5], [1, 3]], as: T.self).map { $0 == 5 ? T.nan : $0 }
        // A NaN only in an imaginary part counts.
        let complexNaN = complexified(good).map { $0.real == 3 ? Complex(3, T.nan) : $0 }
        let rhs = Tensor<T>(shape: [2], scalars: [1, 1])
        // −i: the matrix is argument i of the high-level LAPACKE function (the layout is argument 1).
        #expect(throws: LAPACKError(routine: p + "geev", info: -5)) { try LAPACK.eigen(nan) }
        #expect(throws: LAPACKError(routine: c + "geev", info: -5)) { try LAPACK.eigen(complexNaN) }
        #expect(throws: LAPACKError(routine: p + "gesv", info: -4)) { try LAPACK.solve(nan, rhs) }
        #expect(throws: LAPACKError(routine: p + "gesv", info: -7)) {
            try LAPACK.solve(good, Tensor<T>(shape: [2], scalars: [1, .nan]))
        }
        #expect(throws: LAPACKError(routine: c + "gesv", info: -4)) { try LAPACK.solve(complexNaN, complexified(rhs)) }
        #expect(throws: LAPACKError(routine: p + "getrf", info: -4)) { try LAPACK.luFactorization(nan) }
        #expect(throws: LAPACKError(routine: p + "getrf", info: -4)) { try LAPACK.inverse(nan) }
        #expect(throws: LAPACKError(routine: p + "geqrf", info: -4)) { try LAPACK.qr(nan) }
        #expect(throws: LAPACKError(routine: p + "gesdd", info: -5)) { try LAPACK.svd(nan) }
        #expect(throws: LAPACKError(routine: c + "gesdd", info: -5)) { try LAPACK.singularValues(complexNaN) }
        #expect(throws: LAPACKError(routine: p + "syev", info: -5)) { try LAPACK.symmetricEigen(nan) }
        #expect(throws: LAPACKError(routine: c + "heev", info: -5)) { try LAPACK.hermitianEigen(complexNaN) }
        // syev and heev read the lower triangle only, and only it is checked: a NaN above the
        // diagonal is never read, and the result is that of the lower triangle.
        #expect(throws: Never.self) {
            let (w, _) = try LAPACK.symmetricEigen(good)
            #expect(try LAPACK.symmetricEigen(upperNaN).values == w)
            #expect(
                try LAPACK.hermitianEigen(complexified(upperNaN)).values
                    == LAPACK.hermitianEigen(complexified(good)).values)
        }
        // ±∞ is refused as NaN is, before any routine runs: with it gesdd never returned (svd),
        // and getrf/getri or geqrf/orgqr turned it into a NaN caught only between the two calls.
        #expect(throws: LAPACKError(routine: p + "getrf", info: -4)) {
            try LAPACK.inverse(matrix([[.infinity, .infinity], [1, 1]], as: T.self))
        }
        #expect(throws: LAPACKError(routine: p + "geqrf", info: -4)) {
            try LAPACK.qr(matrix([[.infinity, 0], [1, 1]], as: T.self))
        }
        let infinite = matrix([[2, 1, 0], [1, 3, 1], [0, 1, 4]], as: T.self).map { $0 == 2 ? -T.infinity : $0 }
        #expect(throws: LAPACKError(routine: p + "gesdd", info: -5)) { try LAPACK.svd(infinite) }
        #expect(throws: LAPACKError(routine: p + "gesdd", info: -5)) { try LAPACK.spectralNorm(infinite) }
        #expect(throws: LAPACKError(routine: p + "geev", info: -5)) { try LAPACK.eigen(infinite) }
        #expect(throws: LAPACKError(routine: p + "gesv", info: -4)) {
            try LAPACK.solve(infinite, Tensor<T>(shape: [3], scalars: [1, 2, 3]))
        }
        #expect(throws: LAPACKError(routine: p + "syev", info: -5)) { try LAPACK.symmetricEigen(infinite) }
        // A complex entry with an infinite imaginary part.
        let complexInfinite = complexified(infinite.map { $0.isFinite ? $0 : 1 }).map {
            $0.real == 4 ? Complex(4, T.infinity) : $0
        }
        #expect(throws: LAPACKError(routine: c + "gesdd", info: -5)) { try LAPACK.singularValues(complexInfinite) }
        #expect(throws: LAPACKError(routine: c + "heev", info: -5)) { try LAPACK.hermitianEigen(complexInfinite) }
        let error = LAPACKError(routine: p + "geev", info: -5)
        #expect(error.description.contains("argument 5") && error.description.contains("NaN or ±∞"))
    }

    @Test("empty matrices: LU has no pivots, the other drivers return empty results", arguments: precisions)
    func emptyMatrices(_ type: any LRNNScalar.Type) throws { try runEmptyMatrices(type) }

    func runEmptyMatrices<T: LRNNScalar>(_: T.Type) throws {
        for shape in [[0, 0], [0, 3], [3, 0]] {
            let a = Tensor<T>(shape: shape, scalars: [])
            let lu = try LAPACK.luFactorization(a)
            #expect(lu.pivots.isEmpty && lu.factors.shape == shape, "\(shape)")
            #expect(try LAPACK.svd(a).s.isEmpty)
        }
        #expect(try LAPACK.eigen(Tensor<T>(shape: [0, 0], scalars: [])).values.isEmpty)
    }
}
