import ComplexModule
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("BLAS wrappers")
struct BLASTests {
    @Test("gemm: literal product", arguments: precisions)
    func gemmLiteral(_ type: any LRNNScalar.Type) { runGemmLiteral(type) }

    func runGemmLiteral<T: LRNNScalar>(_: T.Type) {
        var a = matrix([[1, 2, 3], [4, 5, 6]], as: T.self)
        var b = matrix([[7, 8], [9, 10], [11, 12]], as: T.self)
        var c = Tensor<T>(zeros: [2, 2])
        a.withMatrixView { av in
            b.withMatrixView { bv in c.withMatrixView { cv in BLAS.gemm(av, bv, into: cv) } }
        }
        #expect(c == matrix([[58, 64], [139, 154]]))
        // β = 1 accumulates, α scales: C ← 2·A·B + C.
        a.withMatrixView { av in
            b.withMatrixView { bv in c.withMatrixView { cv in BLAS.gemm(av, bv, into: cv, alpha: 2, beta: 1) } }
        }
        #expect(c == matrix([[174, 192], [417, 462]]))
    }

    @Test("gemm: every transpose combination with α and β", arguments: precisions)
    func gemmTransposes(_ type: any LRNNScalar.Type) { runGemmTransposes(type) }

    func runGemmTransposes<T: LRNNScalar>(_: T.Type) {
        var rng = SeededRandom(seed: 11)
        let (m, k, n) = (4, 3, 5)
        let aLogical: Tensor<T> = randomReal(m, k, &rng)
        let bLogical: Tensor<T> = randomReal(k, n, &rng)
        let c0: Tensor<T> = randomReal(m, n, &rng)
        let (alpha, beta) = (T(1.5), T(-0.5))
        let ab = naiveProduct(aLogical, bLogical)
        var expected = Tensor<Double>(zeros: [m, n])
        for i in 0..<(m * n) { expected.scalars[i] = 1.5 * ab.scalars[i] - 0.5 * Double(c0.scalars[i]) }
        for ta in [BLAS.Transpose.none, .transpose, .conjugateTranspose] {
            for tb in [BLAS.Transpose.none, .transpose, .conjugateTranspose] {
                var a = ta == .none ? aLogical : transposed(aLogical)
                var b = tb == .none ? bLogical : transposed(bLogical)
                var c = c0
                a.withMatrixView { av in
                    b.withMatrixView { bv in
                        c.withMatrixView { cv in BLAS.gemm(av, ta, bv, tb, into: cv, alpha: alpha, beta: beta) }
                    }
                }
                #expect(maxError(c, expected) < tolerance(T.self), "op(A) \(ta), op(B) \(tb)")
            }
        }
    }

    @Test("gemm: sub-block views with leading dimension > columns", arguments: precisions)
    func gemmBlocks(_ type: any LRNNScalar.Type) { runGemmBlocks(type) }

    func runGemmBlocks<T: LRNNScalar>(_: T.Type) {
        let sentinel = T(7)
        var bufA = Tensor<T>(shape: [6, 9], repeating: sentinel)
        var bufB = Tensor<T>(shape: [5, 8], repeating: sentinel)
        var bufC = Tensor<T>(shape: [4, 10], repeating: sentinel)
        let a = matrix([[1, 2, 3], [4, 5, 6]], as: T.self)
        let b = matrix([[7, 8], [9, 10], [11, 12]], as: T.self)
        for i in 0..<2 { for j in 0..<3 { bufA[1 + i, 2 + j] = a[i, j] } }
        for i in 0..<3 { for j in 0..<2 { bufB[i, 4 + j] = b[i, j] } }
        bufA.withMatrixView { av in
            bufB.withMatrixView { bv in
                bufC.withMatrixView { cv in
                    let ab = av.block(rows: 1..<3, columns: 2..<5)
                    let bb = bv.block(rows: 0..<3, columns: 4..<6)
                    let cb = cv.block(rows: 2..<4, columns: 3..<5)
                    #expect(ab.leadingDimension == 9 && bb.leadingDimension == 8 && cb.leadingDimension == 10)
                    #expect(ab.base == av.base + 11 && cb.base == cv.base + 23)
                    BLAS.gemm(ab, bb, into: cb)
                }
            }
        }
        let expected: [[T]] = [[58, 64], [139, 154]]
        for i in 0..<4 {
            for j in 0..<10 {
                let inside = (2..<4).contains(i) && (3..<5).contains(j)
                #expect(bufC[i, j] == (inside ? expected[i - 2][j - 3] : sentinel), "C[\(i), \(j)]")
            }
        }
        #expect(bufA.scalars.filter { $0 == sentinel }.count == 54 - 6)
    }

    @Test("gemm: k = 0 leaves β·C", arguments: precisions)
    func gemmEmptyInner(_ type: any LRNNScalar.Type) { runGemmEmptyInner(type) }

    func runGemmEmptyInner<T: LRNNScalar>(_: T.Type) {
        var a = Tensor<T>(zeros: [2, 0])
        var b = Tensor<T>(zeros: [0, 3])
        var c = Tensor<T>(shape: [2, 3], repeating: 4)
        a.withMatrixView { av in
            b.withMatrixView { bv in c.withMatrixView { cv in BLAS.gemm(av, bv, into: cv, beta: 0.5) } }
        }
        #expect(c.scalars == [T](repeating: 2, count: 6))
        a.withMatrixView { av in
            b.withMatrixView { bv in c.withMatrixView { cv in BLAS.gemm(av, bv, into: cv, beta: 0) } }
        }
        #expect(c.scalars == [T](repeating: 0, count: 6))
    }

    @Test("gemv: plain, transposed, strided, with α and β", arguments: precisions)
    func gemv(_ type: any LRNNScalar.Type) { runGemv(type) }

    func runGemv<T: LRNNScalar>(_: T.Type) {
        var a = matrix([[1, 2, 3], [4, 5, 6]], as: T.self)
        let x: [T] = [1, 1, 1]
        var y: [T] = [0, 0]
        a.withMatrixView { av in BLAS.gemv(av, x: x, y: &y) }
        #expect(y == [6, 15])
        // y ← 2·Aᵀ·x + 1·y with x read at stride 2 and y written at stride 3.
        let xs: [T] = [1, -99, 2]
        var ys: [T] = [1, 50, 50, 1, 50, 50, 1]
        a.withMatrixView { av in BLAS.gemv(av, .transpose, x: xs, incx: 2, y: &ys, incy: 3, alpha: 2, beta: 1) }
        #expect(ys == [19, 50, 50, 25, 50, 50, 31])
        // A sub-block (rows 0..<2, columns 1..<3) through its leading dimension.
        var z: [T] = [0, 0]
        a.withMatrixView { av in BLAS.gemv(av.block(rows: 0..<2, columns: 1..<3), x: [1, -1], y: &z) }
        #expect(z == [-1, -1])
    }

    @Test("ger: rank-1 update into a sub-block", arguments: precisions)
    func ger(_ type: any LRNNScalar.Type) { runGer(type) }

    func runGer<T: LRNNScalar>(_: T.Type) {
        var buf = Tensor<T>(shape: [3, 5], repeating: 1)
        buf.withMatrixView { v in
            BLAS.ger(x: [1, 2], y: [3, 4, 5], into: v.block(rows: 1..<3, columns: 1..<4), alpha: 2)
        }
        #expect(
            buf
                == matrix(
                    [[1, 1, 1, 1, 1], [1, 7, 9, 11, 1], [1, 13, 17, 21, 1]], as: T.self))
    }

    @Test("trmm multiplies and trsm solves, every side, triangle, transpose and diagonal", arguments: precisions)
    func triangular(_ type: any LRNNScalar.Type) { runTriangular(type) }

    func runTriangular<T: LRNNScalar>(_: T.Type) {
        var rng = SeededRandom(seed: 5)
        let n = 4
        let (m, p) = (4, 3)
        for side in [BLAS.Side.left, .right] {
            for triangle in [BLAS.Triangle.upper, .lower] {
                for trans in [BLAS.Transpose.none, .transpose] {
                    for diagonal in [BLAS.Diagonal.nonUnit, .unit] {
                        // A full random matrix: the unreferenced triangle (and, for .unit, the
                        // diagonal) hold values that must not be read.
                        var a: Tensor<T> = randomReal(n, n, &rng)
                        for i in 0..<n { a[i, i] = T(2 + rng.uniform(0...1)) }
                        var effective = Tensor<T>(zeros: [n, n])
                        for i in 0..<n {
                            for j in 0..<n {
                                let inTriangle = triangle == .upper ? j >= i : j <= i
                                if i == j {
                                    effective[i, j] = diagonal == .unit ? 1 : a[i, j]
                                } else if inTriangle {
                                    effective[i, j] = a[i, j]
                                }
                            }
                        }
                        if trans != .none { effective = transposed(effective) }
                        let b0: Tensor<T> = side == .left ? randomReal(n, p, &rng) : randomReal(m, n, &rng)
                        let expected = side == .left ? naiveProduct(effective, b0) : naiveProduct(b0, effective)
                        var b = b0
                        a.withMatrixView { av in
                            b.withMatrixView { bv in
                                BLAS.trmm(
                                    av, side: side, triangle: triangle, transA: trans, diagonal: diagonal, bv,
                                    alpha: 1)
                            }
                        }
                        let what = "\(side) \(triangle) \(trans) \(diagonal)"
                        #expect(maxError(b, expected) < tolerance(T.self), "trmm \(what)")
                        // trsm undoes it, with α: op(A)·X = 2·B ⇒ X = 2·B0.
                        a.withMatrixView { av in
                            b.withMatrixView { bv in
                                BLAS.trsm(
                                    av, side: side, triangle: triangle, transA: trans, diagonal: diagonal, bv,
                                    alpha: 2)
                            }
                        }
                        #expect(maxError(b, b0.map { 2 * Double($0) }) < tolerance(T.self), "trsm \(what)")
                    }
                }
            }
        }
    }

    @Test("syrk: the referenced triangle equals A·Aᵀ (or Aᵀ·A), the other is untouched", arguments: precisions)
    func syrk(_ type: any LRNNScalar.Type) { runSyrk(type) }

    func runSyrk<T: LRNNScalar>(_: T.Type) {
        var a = matrix([[1, 2], [3, 4], [5, 6]], as: T.self)
        let aat: [[T]] = [[5, 11, 17], [11, 25, 39], [17, 39, 61]]
        let ata: [[T]] = [[35, 44], [44, 56]]
        for triangle in [BLAS.Triangle.upper, .lower] {
            var c = Tensor<T>(shape: [3, 3], repeating: 99)
            a.withMatrixView { av in c.withMatrixView { cv in BLAS.syrk(av, triangle: triangle, into: cv) } }
            for i in 0..<3 {
                for j in 0..<3 {
                    let referenced = triangle == .upper ? j >= i : j <= i
                    #expect(c[i, j] == (referenced ? aat[i][j] : 99), "\(triangle) C[\(i), \(j)]")
                }
            }
            var d = Tensor<T>(shape: [2, 2], repeating: 1)
            a.withMatrixView { av in
                d.withMatrixView { dv in
                    BLAS.syrk(av, trans: .transpose, triangle: triangle, into: dv, alpha: 2, beta: 3)
                }
            }
            for i in 0..<2 {
                for j in 0..<2 {
                    let referenced = triangle == .upper ? j >= i : j <= i
                    #expect(d[i, j] == (referenced ? 2 * ata[i][j] + 3 : 1), "\(triangle) Aᵀ·A [\(i), \(j)]")
                }
            }
        }
    }

    @Test("axpy, scal, dot and nrm2, contiguous and strided", arguments: precisions)
    func level1(_ type: any LRNNScalar.Type) { runLevel1(type) }

    func runLevel1<T: LRNNScalar>(_: T.Type) {
        let x: [T] = [1, 2, 3]
        var y: [T] = [4, 5, 6]
        #expect(BLAS.dot(3, x: x, y: y) == 32)
        BLAS.axpy(3, alpha: 2, x: x, y: &y)
        #expect(y == [6, 9, 12])
        BLAS.scal(3, alpha: 0.5, x: &y)
        #expect(y == [3, 4.5, 6])
        #expect(BLAS.nrm2(2, x: [T(3), 4]) == 5)
        // Strided: every other element of [3, _, 4] and [1, _, 2].
        let xs: [T] = [3, 100, 4]
        var ys: [T] = [1, 100, 2]
        #expect(BLAS.nrm2(2, x: xs, incx: 2) == 5)
        #expect(BLAS.dot(2, x: xs, incx: 2, y: ys, incy: 2) == 11)
        BLAS.axpy(2, alpha: -1, x: xs, incx: 2, y: &ys, incy: 2)
        #expect(ys == [-2, 100, -2])
        BLAS.scal(2, alpha: 3, x: &ys, incx: 2)
        #expect(ys == [-6, 100, -6])
        // n = 0 is a no-op with zero results.
        #expect(BLAS.dot(0, x: x, y: y) == 0 && BLAS.nrm2(0, x: x) == 0)
        // nrm2 does not overflow where the naive sum of squares would.
        let big = T.greatestFiniteMagnitude / 4
        #expect(BLAS.nrm2(2, x: [big, big]) == big * T(2).squareRoot())
    }

    @Test("complex gemm: literal product and conjugate transposes", arguments: precisions)
    func complexGemm(_ type: any LRNNScalar.Type) { runComplexGemm(type) }

    func runComplexGemm<T: LRNNScalar>(_: T.Type) {
        // A = [[1+i, 2], [0, i]], B = [[1, −i], [1, 1]]: A·B = [[3+i, 3−i], [i, i]].
        var a = complexMatrix([[(1, 1), (2, 0)], [(0, 0), (0, 1)]], as: T.self)
        var b = complexMatrix([[(1, 0), (0, -1)], [(1, 0), (1, 0)]], as: T.self)
        var c = Tensor<Complex<T>>(shape: [2, 2], repeating: .zero)
        a.withMatrixView { av in
            b.withMatrixView { bv in c.withMatrixView { cv in BLAS.gemm(av, bv, into: cv) } }
        }
        #expect(c == complexMatrix([[(3, 1), (3, -1)], [(0, 1), (0, 1)]]))
        // Aᴴ·B with α = i and β = 2 on C = 1.
        var rng = SeededRandom(seed: 3)
        let a2: Tensor<Complex<T>> = randomComplex(3, 2, &rng)
        let b2: Tensor<Complex<T>> = randomComplex(3, 4, &rng)
        let alpha = Complex<T>(0, 1)
        let beta = Complex<T>(2, 0)
        let product = naiveProduct(adjoint(a2), b2)
        let expected = product.map { alpha * $0 + beta }
        // op(A) = a2ᴴ two ways: A = a2 with .conjugateTranspose, and A = conj(a2) with .transpose.
        for (trans, stored) in [(BLAS.Transpose.conjugateTranspose, a2), (.transpose, a2.map { $0.conjugate })] {
            var a3 = stored
            var b3 = b2
            var c3 = Tensor<Complex<T>>(shape: [2, 4], repeating: .one)
            a3.withMatrixView { av in
                b3.withMatrixView { bv in
                    c3.withMatrixView { cv in BLAS.gemm(av, trans, bv, into: cv, alpha: alpha, beta: beta) }
                }
            }
            #expect(maxError(c3, expected) < tolerance(T.self), "op(A) = \(trans)")
        }
    }
}
