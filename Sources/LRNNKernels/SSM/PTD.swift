import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// Perturb-then-diagonalise (Yu, Mahoney & Erichson, 2023): a non-normal state matrix A
/// (HiPPO-LegS has an eigenvector matrix with condition ≈ 1e20 at N = 64) is replaced by a
/// nearby diagonalisable `A + E` whose eigenvector matrix is well conditioned, and the
/// diagonal system `(Λ, V⁻¹B, C·V)` is used instead of A.
public enum PTD {
    /// Why a PTD computation failed.
    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// A LAPACK routine failed.
        case lapack(LAPACKError)
        /// Bad input, naming the argument.
        case invalidArgument(name: String, reason: String)

        /// One sentence.
        public var description: String {
            switch self {
            case let .lapack(e): "PTD: \(e)"
            case let .invalidArgument(n, r): "PTD: argument '\(n)': \(r)"
            }
        }
    }

    /// Diagonalises `A + E`: eigenvalues Λ and unit right eigenvectors V from LAPACK `dgeev`,
    /// `B̃ = V⁻¹·B` by an LU solve, `cond₂(V)`, `‖E‖₂/‖A‖₂` and `max Re λ`.
    ///
    /// - Parameters:
    ///   - a: the real square state matrix `[N, N]`.
    ///   - b: the input vector `[N]`.
    ///   - e: the perturbation E `[N, N]` (zeros for a plain diagonalisation).
    ///   - stabilize: when true, eigenvalues with `Re λ > 0` are reflected to `−Re λ + i·Im λ`
    ///     (V and B̃ are kept; this changes the system, it is an option, not a correction).
    /// - Throws: ``Failure`` on bad shapes, non-finite input or a LAPACK failure (for example an
    ///   exactly singular V).
    public static func decompose(
        a: Tensor<Double>, b: [Double], perturbation e: Tensor<Double>, stabilize: Bool = false
    ) throws(Failure) -> PTDDecomposition {
        let n = try requireSquare(a, "A")
        guard b.count == n else { throw .invalidArgument(name: "B", reason: "has \(b.count) entries, expected \(n)") }
        guard e.shape == [n, n] else {
            throw .invalidArgument(name: "E", reason: "has shape \(e.shape), expected [\(n), \(n)]")
        }
        guard a.allFinite, e.allFinite, b.allSatisfy(\.isFinite) else {
            throw .invalidArgument(name: "A, B, E", reason: "contain NaN or infinity")
        }
        do {
            var m = a
            for i in m.scalars.indices { m.scalars[i] += e.scalars[i] }
            let eig = try LAPACK.eigen(m, left: false, right: true)
            let v = eig.right!
            let bt = try LAPACK.solve(v, Tensor(shape: [n], scalars: b.map { Complex($0) }))
            let cond = try LAPACK.conditionNumber(v)
            let na = try LAPACK.spectralNorm(a)
            let ne = try LAPACK.spectralNorm(e)
            let maxRe = eig.values.map(\.real).max() ?? -.infinity
            var values = eig.values
            if stabilize {
                for i in values.indices where values[i].real > 0 {
                    values[i] = Complex(-values[i].real, values[i].imaginary)
                }
            }
            return PTDDecomposition(
                eigenvalues: values, eigenvectors: v, projectedB: bt.scalars, eigenvectorCondition: cond,
                perturbationRatio: na > 0 ? ne / na : .infinity, maxRealPart: maxRe, stabilized: stabilize)
        } catch {
            throw .lapack(error)
        }
    }

    /// S4D-LegS as a "perturbation" `E = P·Pᵀ` of HiPPO-LegS: the unitary diagonalisation of the
    /// normal part (``HiPPO/legsDiagonalization(n:)``), so `cond₂(V) = 1`, every `Re λ = −½`, and
    /// `‖P·Pᵀ‖₂/‖A‖₂` is reported as its perturbation ratio.
    /// - Throws: ``Failure`` when LAPACK fails.
    public static func s4dLegS(n: Int) throws(Failure) -> PTDDecomposition {
        guard n >= 1 else { throw .invalidArgument(name: "N", reason: "must be ≥ 1, got \(n)") }
        do {
            let (values, v, bt) = try HiPPO.legsDiagonalization(n: n)
            let a = try HiPPO.transition(.legs, n: n, as: Double.self).a
            let p = HiPPO.legsLowRank(n: n)
            let ppt = p.reduce(0) { $0 + $1 * $1 }  // ‖P·Pᵀ‖₂ = ‖P‖²
            let cond = try LAPACK.conditionNumber(v)
            let na = try LAPACK.spectralNorm(a)
            return PTDDecomposition(
                eigenvalues: values, eigenvectors: v, projectedB: bt, eigenvectorCondition: cond,
                perturbationRatio: ppt / na, maxRealPart: values.map(\.real).max() ?? -.infinity, stabilized: false)
        } catch let e as LAPACKError {
            throw .lapack(e)
        } catch {
            throw .invalidArgument(name: "N", reason: "\(error)")
        }
    }

    /// `G(iω) = C·(iωI − A)⁻¹·B` for every ω, by one complex LU solve per frequency; returns
    /// the resolvent vectors `x(ω) = (iωI − A)⁻¹·B` so several C can share them.
    ///
    /// Singular points: `iωI − A` is singular exactly when iω is an eigenvalue of A, a true pole of
    /// the resolvent (no `x(ω)` exists there), reported as a ``Failure``; next to it the solve is
    /// as accurate as the conditioning of `iωI − A` allows. (`C·x` may still be finite in the limit
    /// when that mode is uncontrollable or unobservable; the diagonal form
    /// ``PTDDecomposition/transfer(projectedC:omega:)`` resolves that case, a dense solve cannot.)
    /// - Throws: ``Failure`` when `iωI − A` is exactly singular.
    public static func resolventVectors(
        a: Tensor<Double>, b: [Double], omegas: [Double]
    ) throws(Failure) -> [[Complex<Double>]] {
        let n = try requireSquare(a, "A")
        guard b.count == n else { throw .invalidArgument(name: "B", reason: "has \(b.count) entries, expected \(n)") }
        let rhs = Tensor(shape: [n], scalars: b.map { Complex($0) })
        var out: [[Complex<Double>]] = []
        for w in omegas {
            var m = Tensor<Complex<Double>>(shape: [n, n], scalars: a.scalars.map { Complex(-$0) })
            for i in 0..<n { m.scalars[i * n + i] = m.scalars[i * n + i] + Complex(0, w) }
            do { out.append(try LAPACK.solve(m, rhs).scalars) } catch { throw .lapack(error) }
        }
        return out
    }

    /// The frequency grid of the transfer-error measure: `{0} ∪ logspace(−2, 5, count)`.
    public static func frequencyGrid(count: Int = 200) -> [Double] {
        precondition(count >= 2, "PTD.frequencyGrid: count \(count)")
        return [0] + (0..<count).map { Double.pow(10, -2 + 7 * Double($0) / Double(count - 1)) }
    }

    /// `count` seeded random unit vectors of length n (Gaussian, normalised).
    public static func randomUnitVectors(n: Int, count: Int, seed: UInt64) -> [[Double]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let v = (0..<n).map { _ in rng.normal() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
    }

    /// The relative transfer error `sup_ω |G_diag(iω) − G_A(iω)| / sup_ω |G_A(iω)|` for each C,
    /// with `G_A` from the resolvent vectors of ``resolventVectors(a:b:omegas:)``.
    public static func relativeTransferErrors(
        _ d: PTDDecomposition, resolvents: [[Complex<Double>]], omegas: [Double], outputs: [[Double]]
    ) -> [Double] {
        precondition(
            resolvents.count == omegas.count, "PTD.relativeTransferErrors: \(resolvents.count) vs \(omegas.count)")
        return outputs.map { c in
            let ct = d.projectedC(c)
            var num = 0.0
            var den = 0.0
            for (w, x) in zip(omegas, resolvents) {
                var ga = Complex<Double>.zero
                for i in 0..<c.count { ga = ga + x[i] * c[i] }
                let gd = d.transfer(projectedC: ct, omega: w)
                num = Swift.max(num, (gd - ga).length)
                den = Swift.max(den, ga.length)
            }
            return den > 0 ? num / den : num
        }
    }

    /// A Gaussian perturbation (seeded) scaled so that `‖E‖₂ = ratio·‖A‖₂`.
    /// - Throws: ``Failure`` for a non-positive or non-finite ratio, or an SVD failure.
    public static func randomPerturbation(a: Tensor<Double>, ratio: Double, seed: UInt64) throws(Failure) -> Tensor<
        Double
    > {
        let n = try requireSquare(a, "A")
        guard ratio > 0, ratio.isFinite else {
            throw .invalidArgument(name: "eps", reason: "must be finite and > 0, got \(ratio)")
        }
        var rng = SeededGenerator(seed: seed)
        var e = Tensor<Double>(shape: [n, n], scalars: (0..<(n * n)).map { _ in rng.normal() })
        do {
            let scale = ratio * (try LAPACK.spectralNorm(a)) / (try LAPACK.spectralNorm(e))
            for i in e.scalars.indices { e.scalars[i] *= scale }
        } catch { throw .lapack(error) }
        return e
    }

    static func requireSquare(_ a: Tensor<Double>, _ name: String) throws(Failure) -> Int {
        guard a.rank == 2, a.shape[0] == a.shape[1], a.shape[0] >= 1 else {
            throw .invalidArgument(name: name, reason: "has shape \(a.shape), expected a non-empty square matrix")
        }
        return a.shape[0]
    }
}
