import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// A diagonalised state-space system `(Λ, V, B̃ = V⁻¹·B)` of a perturbed matrix `A + E`
/// (perturb-then-diagonalise), with the figures that judge it.
///
/// Its transfer function for an output vector C is `Σ_n C̃_n·B̃_n / (iω − λ_n)` with `C̃ = C·V`;
/// see ``transfer(projectedC:omega:)`` for its removable (zero-residue) and true poles.
public struct PTDDecomposition: Sendable {
    /// The eigenvalues λ of `A + E` (LAPACK order; conjugate pairs adjacent), after the optional
    /// mapping of unstable eigenvalues to the left half plane.
    public var eigenvalues: [Complex<Double>]
    /// The right eigenvectors V (columns, unit 2-norm), `[N, N]`.
    public var eigenvectors: Tensor<Complex<Double>>
    /// `B̃ = V⁻¹·B`, by an LU solve (no inverse formed).
    public var projectedB: [Complex<Double>]
    /// `cond₂(V) = σ_max(V)/σ_min(V)`.
    public var eigenvectorCondition: Double
    /// `‖E‖₂ / ‖A‖₂`.
    public var perturbationRatio: Double
    /// The largest real part of the eigenvalues of `A + E`, before any mapping (> 0: unstable).
    public var maxRealPart: Double
    /// Whether eigenvalues with positive real part were reflected to `−|Re λ| + i·Im λ`.
    public var stabilized: Bool

    /// Creates a decomposition from its parts (for a system diagonalised by other means, such
    /// as S4D-LegS's unitary diagonalisation of LegS's normal part).
    public init(
        eigenvalues: [Complex<Double>], eigenvectors: Tensor<Complex<Double>>, projectedB: [Complex<Double>],
        eigenvectorCondition: Double, perturbationRatio: Double, maxRealPart: Double, stabilized: Bool
    ) {
        self.eigenvalues = eigenvalues
        self.eigenvectors = eigenvectors
        self.projectedB = projectedB
        self.eigenvectorCondition = eigenvectorCondition
        self.perturbationRatio = perturbationRatio
        self.maxRealPart = maxRealPart
        self.stabilized = stabilized
    }

    /// The state size N.
    public var size: Int { eigenvalues.count }

    /// `C̃ = C·V` for a real output vector C.
    ///
    /// - Parameter c: the output vector, N entries.
    /// - Precondition: `c.count == N`.
    public func projectedC(_ c: [Double]) -> [Complex<Double>] {
        let n = size
        precondition(c.count == n, "PTDDecomposition.projectedC: C has \(c.count) entries, N = \(n)")
        var out = [Complex<Double>](repeating: .zero, count: n)
        for i in 0..<n where c[i] != 0 {
            for j in 0..<n { out[j] = out[j] + eigenvectors.scalars[i * n + j] * c[i] }
        }
        return out
    }

    /// The diagonal system's transfer function `G(iω) = Σ_n C̃_n·B̃_n / (iω − λ_n)`.
    ///
    /// Singular points: `iω = λ_n` (only for eigenvalues on the imaginary axis). A mode whose
    /// residue `C̃_n·B̃_n` is exactly 0 (uncontrollable or unobservable) contributes the zero
    /// function, so its singularity is removable: the term is skipped, and G is finite there
    /// (it would otherwise be 0/0). A nonzero residue makes `iω = λ_n` a true pole, and G is not
    /// finite there (complex infinity); next to it G grows like `C̃_n·B̃_n/(iω − λ_n)`.
    ///
    /// - Parameters:
    ///   - ct: `C̃` from `projectedC(_:)`.
    ///   - omega: the frequency ω.
    public func transfer(projectedC ct: [Complex<Double>], omega: Double) -> Complex<Double> {
        var g = Complex<Double>.zero
        let s = Complex(0, omega)
        for n in 0..<size {
            let residue = ct[n] * projectedB[n]
            if residue == .zero { continue }
            g = g + residue / (s - eigenvalues[n])
        }
        return g
    }
}
