import ComplexModule
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// The two precisions every generic test runs in.
let precisions: [any LRNNScalar.Type] = [Float.self, Double.self]

/// The error allowed for small, well-conditioned problems in precision `T`.
func tolerance<T: LRNNScalar>(_: T.Type) -> Double { T.self == Float.self ? 2e-5 : 1e-12 }

/// A rank-2 tensor from literal rows.
func matrix<T: LRNNScalar>(_ rows: [[Double]], as: T.Type = T.self) -> Tensor<T> {
    Tensor(shape: [rows.count, rows.first?.count ?? 0], scalars: rows.flatMap { $0.map { T($0) } })
}

/// A complex rank-2 tensor from literal rows of (real, imaginary) pairs.
func complexMatrix<T: LRNNScalar>(_ rows: [[(Double, Double)]], as: T.Type = T.self) -> Tensor<Complex<T>> {
    Tensor(
        shape: [rows.count, rows.first?.count ?? 0],
        scalars: rows.flatMap { $0.map { Complex(T($0.0), T($0.1)) } })
}

/// The transpose of a rank-2 tensor.
func transposed<S>(_ a: Tensor<S>) -> Tensor<S> {
    let (m, n) = (a.shape[0], a.shape[1])
    var out = [S]()
    out.reserveCapacity(a.count)
    for j in 0..<n { for i in 0..<m { out.append(a.scalars[i * n + j]) } }
    return Tensor(shape: [n, m], scalars: out)
}

/// The conjugate transpose of a complex rank-2 tensor.
func adjoint<T: LRNNScalar>(_ a: Tensor<Complex<T>>) -> Tensor<Complex<T>> {
    transposed(a).map { $0.conjugate }
}

/// The plain triple-loop product `A·B`, accumulated in Float64.
func naiveProduct<T: LRNNScalar>(_ a: Tensor<T>, _ b: Tensor<T>) -> Tensor<Double> {
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    precondition(b.shape[0] == k)
    var c = Tensor<Double>(zeros: [m, n])
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += Double(a.scalars[i * k + p]) * Double(b.scalars[p * n + j]) }
            c.scalars[i * n + j] = s
        }
    }
    return c
}

/// The plain triple-loop complex product `A·B`.
func naiveProduct<T: LRNNScalar>(_ a: Tensor<Complex<T>>, _ b: Tensor<Complex<T>>) -> Tensor<Complex<T>> {
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    precondition(b.shape[0] == k)
    var c = Tensor<Complex<T>>(shape: [m, n], repeating: .zero)
    for i in 0..<m {
        for j in 0..<n {
            var s = Complex<T>.zero
            for p in 0..<k { s += a.scalars[i * k + p] * b.scalars[p * n + j] }
            c.scalars[i * n + j] = s
        }
    }
    return c
}

/// `max |a − b| / max(|b|, 1)` over two real tensors of equal size.
func maxError<T: LRNNScalar>(_ a: Tensor<T>, _ b: Tensor<Double>) -> Double {
    precondition(a.count == b.count, "maxError: \(a.shape) vs \(b.shape)")
    var num = 0.0
    var den = 1.0
    for (x, r) in zip(a.scalars, b.scalars) {
        num = max(num, abs(Double(x) - r))
        den = max(den, abs(r))
    }
    return num / den
}

/// `max |a − b| / max(|b|, 1)` over two complex tensors of equal size (moduli).
func maxError<T: LRNNScalar>(_ a: Tensor<Complex<T>>, _ b: Tensor<Complex<T>>) -> Double {
    precondition(a.count == b.count, "maxError: \(a.shape) vs \(b.shape)")
    var num = 0.0
    var den = 1.0
    for (x, r) in zip(a.scalars, b.scalars) {
        num = max(num, Double((x - r).length))
        den = max(den, Double(r.length))
    }
    return num / den
}

/// The n×n identity.
func identity<T: LRNNScalar>(_ n: Int, as: T.Type = T.self) -> Tensor<T> {
    var t = Tensor<T>(zeros: [n, n])
    for i in 0..<n { t.scalars[i * n + i] = 1 }
    return t
}

/// A random complex matrix with entries uniform in the unit square.
func randomComplex<T: LRNNScalar>(_ rows: Int, _ columns: Int, _ rng: inout SeededRandom) -> Tensor<Complex<T>> {
    Tensor(
        shape: [rows, columns],
        scalars: (0..<(rows * columns)).map { _ in Complex(T(rng.uniform()), T(rng.uniform())) })
}

/// A random real matrix.
func randomReal<T: LRNNScalar>(_ rows: Int, _ columns: Int, _ rng: inout SeededRandom, as: T.Type = T.self) -> Tensor<T>
{
    rng.tensor([rows, columns], as: T.self)
}

/// The real matrix as complex.
func complexified<T: LRNNScalar>(_ a: Tensor<T>) -> Tensor<Complex<T>> { a.map { Complex($0, 0) } }
