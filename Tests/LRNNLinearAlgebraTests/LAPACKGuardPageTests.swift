import ComplexModule
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Runs `body` twice: with LAPACK's buffers where the allocator puts them, and with every
/// buffer ending exactly at a page that cannot be read, so that a routine reading past a
/// buffer's tail pad crashes the test process.
private func bothPlacements<R>(_ body: () throws -> R) throws -> (plain: R, guarded: R) {
    let plain = try body()
    let guarded = try LAPACKBufferPlacement.$_endsAtGuardPage.withValue(true) { try body() }
    return (plain, guarded)
}

/// The error allowed in this suite's residuals (relative, up to n = 40) in precision `T`.
private func residualTolerance<T: LRNNScalar>(_: T.Type) -> Double { T.self == Float.self ? 1e-3 : 1e-10 }

/// A column vector of reals as a k×1 matrix, for comparing eigenvalue lists.
private func column<T: LRNNScalar>(_ values: [T]) -> Tensor<T> { Tensor(shape: [values.count, 1], scalars: values) }

/// Every LAPACK driver, with its buffers ending at a guard page, must give bit for bit the
/// results it gives with ordinary buffers (the pad is never told to LAPACK, so nothing else
/// changes), and those results must be correct. Without the tail pad OpenBLAS 0.3.21's gemv
/// over-read (issue #4013) crashes this suite in `zgesdd`.
@Suite("LAPACK buffers ending at a guard page")
struct LAPACKGuardPageTests {
    @Test("square drivers, n = 1…40: identical results at a guard page, and correct", arguments: precisions)
    func square(_ type: any LRNNScalar.Type) throws { try runSquare(type) }

    func runSquare<T: LRNNScalar>(_: T.Type) throws {
        var rng = SeededRandom(seed: 91)
        let tol = residualTolerance(T.self)
        for n in 1...40 {
            let a: Tensor<T> = randomReal(n, n, &rng)
            let c: Tensor<Complex<T>> = randomComplex(n, n, &rng)
            try checkRealEigen(a, tol)
            try checkComplexEigen(c, tol)
            try checkSolve(a, c, &rng, tol)
            try checkInverse(a, tol)
            try checkSymmetricEigen(a, tol)
            try checkHermitianEigen(c, tol)
            try checkLU(a, tol)
            try checkQR(a, tol)
            try checkSVD(a, tol)
            try checkSingularValues(c, tol)
        }
    }

    @Test(
        "rectangular svd, singularValues, qr, luFactorization, m, n = 1…24: identical at a guard page, and correct",
        arguments: precisions)
    func rectangular(_ type: any LRNNScalar.Type) throws { try runRectangular(type) }

    func runRectangular<T: LRNNScalar>(_: T.Type) throws {
        var rng = SeededRandom(seed: 92)
        let tol = residualTolerance(T.self)
        for m in 1...24 {
            for n in 1...24 {
                let a: Tensor<T> = randomReal(m, n, &rng)
                let c: Tensor<Complex<T>> = randomComplex(m, n, &rng)
                try checkSVD(a, tol)
                try checkSingularValues(c, tol)
                try checkLU(a, tol)
                // QR needs m ≥ n: the tall orientation of the same matrix.
                try checkQR(m >= n ? a : transposed(a), tol)
            }
        }
    }

    func checkRealEigen<T: LRNNScalar>(_ a: Tensor<T>, _ tol: Double) throws {
        let n = a.shape[0]
        let (e, g) = try bothPlacements { try LAPACK.eigen(a, left: true, right: true) }
        #expect(g.values == e.values && g.left == e.left && g.right == e.right, "geev, n = \(n)")
        #expect(rightResidual(complexified(a), e) < tol, "geev A·V = V·Λ, n = \(n)")
        #expect(leftResidual(complexified(a), e) < tol, "geev uᴴA = λuᴴ, n = \(n)")
    }

    func checkComplexEigen<T: LRNNScalar>(_ c: Tensor<Complex<T>>, _ tol: Double) throws {
        let n = c.shape[0]
        let (e, g) = try bothPlacements { try LAPACK.eigen(c, left: true, right: true) }
        #expect(g.values == e.values && g.left == e.left && g.right == e.right, "complex geev, n = \(n)")
        #expect(rightResidual(c, e) < tol, "complex geev A·V = V·Λ, n = \(n)")
        #expect(leftResidual(c, e) < tol, "complex geev uᴴA = λuᴴ, n = \(n)")
    }

    func checkSolve<T: LRNNScalar>(
        _ a: Tensor<T>, _ c: Tensor<Complex<T>>, _ rng: inout SeededRandom, _ tol: Double
    ) throws {
        let n = a.shape[0]
        // A diagonal shift of n keeps both systems well conditioned.
        var shifted = a
        var shiftedComplex = c
        for i in 0..<n {
            shifted[i, i] += T(n)
            shiftedComplex[i, i] = shiftedComplex[i, i] + Complex(T(n), 0)
        }
        let b: Tensor<T> = randomReal(n, 3, &rng)
        let bc: Tensor<Complex<T>> = randomComplex(n, 2, &rng)
        let (x, xg) = try bothPlacements { try LAPACK.solve(shifted, b) }
        #expect(xg == x, "gesv, n = \(n)")
        #expect(maxError(naiveProduct(shifted, x).converted(to: T.self), b.converted(to: Double.self)) < tol)
        let (z, zg) = try bothPlacements { try LAPACK.solve(shiftedComplex, bc) }
        #expect(zg == z, "complex gesv, n = \(n)")
        #expect(maxError(naiveProduct(shiftedComplex, z), bc) < tol, "complex gesv A·X = B, n = \(n)")
    }

    func checkInverse<T: LRNNScalar>(_ a: Tensor<T>, _ tol: Double) throws {
        let n = a.shape[0]
        var shifted = a
        for i in 0..<n { shifted[i, i] += T(n) }
        let (inv, g) = try bothPlacements { try LAPACK.inverse(shifted) }
        #expect(g == inv, "getri, n = \(n)")
        #expect(maxError(naiveProduct(shifted, inv).converted(to: T.self), identity(n)) < tol, "A·A⁻¹ = I, n = \(n)")
    }

    func checkSymmetricEigen<T: LRNNScalar>(_ a: Tensor<T>, _ tol: Double) throws {
        let n = a.shape[0]
        var s = a
        for i in 0..<n { for j in 0..<n { s[i, j] = a[i, j] + a[j, i] } }
        let (e, g) = try bothPlacements { try LAPACK.symmetricEigen(s) }
        #expect(g.values == e.values && g.vectors == e.vectors, "syev, n = \(n)")
        var vw = e.vectors
        for i in 0..<n { for j in 0..<n { vw[i, j] *= e.values[j] } }
        #expect(maxError(naiveProduct(s, e.vectors).converted(to: T.self), vw.converted(to: Double.self)) < tol)
        #expect(orthonormalityError(e.vectors) < tol, "syev V orthonormal, n = \(n)")
    }

    func checkHermitianEigen<T: LRNNScalar>(_ c: Tensor<Complex<T>>, _ tol: Double) throws {
        let n = c.shape[0]
        var h = c
        for i in 0..<n { for j in 0..<n { h[i, j] = c[i, j] + c[j, i].conjugate } }
        let (e, g) = try bothPlacements { try LAPACK.hermitianEigen(h) }
        #expect(g.values == e.values && g.vectors == e.vectors, "heev, n = \(n)")
        var vw = e.vectors
        for i in 0..<n { for j in 0..<n { vw[i, j] = vw[i, j] * Complex(e.values[j], 0) } }
        #expect(maxError(naiveProduct(h, e.vectors), vw) < tol, "heev H·V = V·diag(w), n = \(n)")
    }

    func checkLU<T: LRNNScalar>(_ a: Tensor<T>, _ tol: Double) throws {
        let (m, n) = (a.shape[0], a.shape[1])
        let k = min(m, n)
        let (lu, g) = try bothPlacements { try LAPACK.luFactorization(a) }
        #expect(g.factors == lu.factors && g.pivots == lu.pivots, "getrf, \(m)×\(n)")
        // P·A = L·U: apply LAPACK's row interchanges to A in order.
        var pa = a
        for i in 0..<k {
            let p = Int(lu.pivots[i]) - 1
            for j in 0..<n { (pa[i, j], pa[p, j]) = (pa[p, j], pa[i, j]) }
        }
        var l = Tensor<T>(zeros: [m, k])
        var u = Tensor<T>(zeros: [k, n])
        for i in 0..<m { for j in 0..<k where j <= i { l[i, j] = i == j ? 1 : lu.factors[i, j] } }
        for i in 0..<k { for j in i..<n { u[i, j] = lu.factors[i, j] } }
        #expect(maxError(naiveProduct(l, u).converted(to: T.self), pa.converted(to: Double.self)) < tol)
    }

    func checkQR<T: LRNNScalar>(_ a: Tensor<T>, _ tol: Double) throws {
        let (m, n) = (a.shape[0], a.shape[1])
        let (qr, g) = try bothPlacements { try LAPACK.qr(a) }
        #expect(g.q == qr.q && g.r == qr.r, "geqrf/orgqr, \(m)×\(n)")
        #expect(orthonormalityError(qr.q) < tol, "Q orthonormal, \(m)×\(n)")
        #expect(maxError(naiveProduct(qr.q, qr.r).converted(to: T.self), a.converted(to: Double.self)) < tol)
    }

    func checkSVD<T: LRNNScalar>(_ a: Tensor<T>, _ tol: Double) throws {
        let (m, n) = (a.shape[0], a.shape[1])
        let k = min(m, n)
        let (svd, g) = try bothPlacements { try LAPACK.svd(a) }
        #expect(g.u == svd.u && g.s == svd.s && g.vt == svd.vt, "gesdd, \(m)×\(n)")
        let (values, valuesGuarded) = try bothPlacements { try LAPACK.svd(a, vectors: false).s }
        #expect(valuesGuarded == values, "gesdd (values only), \(m)×\(n)")
        var us = try #require(svd.u)
        for i in 0..<m { for j in 0..<k { us[i, j] *= svd.s[j] } }
        let vt = try #require(svd.vt)
        #expect(maxError(naiveProduct(us, vt).converted(to: T.self), a.converted(to: Double.self)) < tol)
        #expect(maxError(column(values), column(svd.s).converted(to: Double.self)) < tol)
    }

    func checkSingularValues<T: LRNNScalar>(_ c: Tensor<Complex<T>>, _ tol: Double) throws {
        let (m, n) = (c.shape[0], c.shape[1])
        let (s, g) = try bothPlacements { try LAPACK.singularValues(c) }
        #expect(g == s, "complex gesdd, \(m)×\(n)")
        #expect(zip(s, s.dropFirst()).allSatisfy { $0 >= $1 } && s.last! >= 0, "descending, \(m)×\(n)")
        // Σ σᵢ² = ‖C‖_F².
        let frobenius = c.scalars.reduce(0.0) { $0 + Double($1.lengthSquared) }
        let squares = s.reduce(0.0) { $0 + Double($1) * Double($1) }
        #expect(abs(squares - frobenius) / frobenius < tol, "Σσ² = ‖C‖², \(m)×\(n)")
    }
}
