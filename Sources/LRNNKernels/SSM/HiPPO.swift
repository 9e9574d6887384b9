import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// The measure a HiPPO operator projects onto.
public enum HiPPOMeasure: String, Sendable, CaseIterable {
    /// Scaled Legendre (the whole history, uniformly weighted).
    case legs
    /// Translated Legendre (a sliding window of unit length).
    case legt
    /// Translated Laguerre (exponentially decaying history).
    case lagt
    /// Fourier basis on a sliding window ("FouT").
    case fout
}

/// HiPPO transition matrices `x' = A·x + B·u` and LegS's normal-plus-low-rank structure.
public enum HiPPO {
    /// The HiPPO transition matrix `A [N, N]` and input vector `B [N]` for a measure.
    ///
    /// - `legs`: `A[n,k] = −√(2n+1)·√(2k+1)` for n > k, `−(n+1)` on the diagonal, 0 above;
    ///   `B[n] = √(2n+1)`.
    /// - `legt`: `A[n,k] = −½·√(2n+1)·√(2k+1)·(1 if n ≥ k else (−1)^(n−k))`, `B[n] = ½·√(2n+1)`.
    /// - `lagt`: `A = ½I − tril(1)` (−½ on the diagonal, −1 below), `B[n] = 1`.
    /// - `fout`: a block-diagonal rotation `π·k·[[0, −1], [1, 0]]` per frequency k ≥ 1 on the pairs
    ///   (2k, 2k+1), minus the rank-one term `B·Bᵀ`, with `B = (1, 0, √2, 0, √2, 0, …)`.
    /// - Parameters:
    ///   - measure: the measure.
    ///   - n: the state size N ≥ 1 (even for `fout`).
    ///   - as: the scalar type of the result.
    /// - Throws: ``KernelError/invalidArgument(name:reason:)`` for N < 1 or odd N with `fout`.
    public static func transition<T: LRNNScalar>(
        _ measure: HiPPOMeasure, n: Int, as: T.Type = T.self
    ) throws(KernelError) -> (a: Tensor<T>, b: Tensor<T>) {
        guard n >= 1 else { throw .invalidArgument(name: "N", reason: "must be ≥ 1, got \(n)") }
        var a = [Double](repeating: 0, count: n * n)
        var b = [Double](repeating: 0, count: n)
        let r = (0..<n).map { (2 * Double($0) + 1).squareRoot() }
        switch measure {
        case .legs:
            for i in 0..<n {
                for k in 0..<i { a[i * n + k] = -r[i] * r[k] }
                a[i * n + i] = -Double(i + 1)
                b[i] = r[i]
            }
        case .legt:
            for i in 0..<n {
                for k in 0..<n {
                    let sign: Double = i >= k ? 1 : ((i - k) % 2 == 0 ? 1 : -1)
                    a[i * n + k] = -0.5 * r[i] * r[k] * sign
                }
                b[i] = 0.5 * r[i]
            }
        case .lagt:
            for i in 0..<n {
                for k in 0..<i { a[i * n + k] = -1 }
                a[i * n + i] = -0.5
                b[i] = 1
            }
        case .fout:
            guard n % 2 == 0 else {
                throw .invalidArgument(name: "N", reason: "fout needs an even N, got \(n)")
            }
            for k in 1..<(n / 2) {
                let f = Double.pi * Double(k)
                a[(2 * k) * n + 2 * k + 1] = -f
                a[(2 * k + 1) * n + 2 * k] = f
            }
            for i in stride(from: 0, to: n, by: 2) { b[i] = i == 0 ? 1 : 2.0.squareRoot() }
            for i in 0..<n { for k in 0..<n { a[i * n + k] -= b[i] * b[k] } }
        }
        return (Tensor(shape: [n, n], scalars: a.map { T($0) }), Tensor(shape: [n], scalars: b.map { T($0) }))
    }

    /// LegS's low-rank factor `P [N]`, `P[n] = √(n + ½)`, such that `A + P·Pᵀ` is normal.
    public static func legsLowRank(n: Int) -> [Double] {
        (0..<n).map { (Double($0) + 0.5).squareRoot() }
    }

    /// The normal part of HiPPO-LegS, `A + P·Pᵀ = −½·I + S` with S skew-symmetric:
    /// `S[n,k] = −½·√(2n+1)·√(2k+1)` for n > k and `+½·√(2n+1)·√(2k+1)` for n < k.
    ///
    /// - Precondition: N ≥ 1.
    public static func legsNormalPart(n: Int) -> Tensor<Double> {
        precondition(n >= 1, "HiPPO.legsNormalPart: N = \(n)")
        let r = (0..<n).map { (2 * Double($0) + 1).squareRoot() }
        var s = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for k in 0..<n where i != k { s[i * n + k] = (i > k ? -0.5 : 0.5) * r[i] * r[k] }
            s[i * n + i] = -0.5
        }
        return Tensor(shape: [n, n], scalars: s)
    }

    /// The unitary diagonalisation of LegS's normal part, `A + P·Pᵀ = V·diag(λ)·Vᴴ`.
    ///
    /// The skew part S is diagonalised through the Hermitian matrix `−i·S` (LAPACK `zheev`):
    /// `−i·S·v = μ·v` gives `S·v = iμ·v`, so `λ = −½ + iμ` with μ real. Eigenvalues come in
    /// conjugate pairs, ascending in μ.
    /// - Returns: the eigenvalues, the unitary V (columns), and `Vᴴ·B` for LegS's B.
    /// - Throws: ``/LRNNLinearAlgebra/LAPACKError`` if the Hermitian solver fails.
    public static func legsDiagonalization(
        n: Int
    ) throws(LAPACKError) -> (
        values: [Complex<Double>], vectors: Tensor<Complex<Double>>, projectedB: [Complex<Double>]
    ) {
        precondition(n >= 1, "HiPPO.legsDiagonalization: N = \(n)")
        let normal = legsNormalPart(n: n)
        var h = Tensor<Complex<Double>>(shape: [n, n], repeating: .zero)
        for i in 0..<n {
            for k in 0..<n where i != k {
                // −i·S[i,k]
                h.scalars[i * n + k] = Complex(0, -normal.scalars[i * n + k])
            }
        }
        let (mu, v) = try LAPACK.hermitianEigen(h)
        let values = mu.map { Complex(-0.5, $0) }
        let b = (0..<n).map { (2 * Double($0) + 1).squareRoot() }
        var projected = [Complex<Double>](repeating: .zero, count: n)
        for j in 0..<n {
            var acc = Complex<Double>.zero
            for i in 0..<n { acc = acc + v.scalars[i * n + j].conjugate * Complex(b[i]) }
            projected[j] = acc
        }
        return (values, v, projected)
    }
}
