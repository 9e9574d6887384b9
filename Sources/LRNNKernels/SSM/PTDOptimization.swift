import ComplexModule
import Foundation
import LRNNLinearAlgebra
import RealModule

/// Settings of the optimised PTD perturbation: minimise `f(E) = cond₂(V(A+E))² + penalty·‖E‖_F`
/// subject to `‖E‖₂ ≤ maxRatio·‖A‖₂`.
public struct PTDOptimizationOptions: Sendable {
    /// The hard bound on `‖E‖₂/‖A‖₂` (iterates are scaled back onto it).
    public var maxRatio: Double = 0.05
    /// The weight λ of `‖E‖_F` in the objective.
    public var penalty: Double = 3
    /// The weight ρ of the stability term `ρ·Σ_i max(0, Re λ_i + margin)²` (0 disables it).
    /// Without it, an iterate may trade a lower condition number for eigenvalues in the right
    /// half plane (an unstable diagonal system).
    public var stabilityWeight: Double = 100
    /// The margin m of the stability term: eigenvalues are pushed to `Re λ ≤ −m`.
    public var stabilityMargin: Double = 0.5
    /// The starting point: a seeded Gaussian E with `‖E‖₂ = initialRatio·‖A‖₂`.
    public var initialRatio: Double = 0.01
    /// The seed of the starting point.
    public var seed: UInt64 = 0
    /// The largest number of gradient evaluations.
    public var maxIterations: Int = 600
    /// Stop when the objective improved by less than this fraction over the last 20 accepted steps.
    public var relativeTolerance: Double = 1e-6
    /// Stop after this many seconds (wall clock) whatever the progress.
    public var timeLimit: Double = 50
    /// Frequencies ω_k at which the transfer function is kept exactly: E is confined to
    /// `{E : E·x_k = 0}` with `x_k = (iω_kI − A)⁻¹B` (real and imaginary parts), so
    /// `C(iω_k − A − E)⁻¹B = C(iω_k − A)⁻¹B` for every C. `nil`: ``defaultInterpolationFrequencies(n:)``;
    /// empty: unconstrained.
    public var interpolationFrequencies: [Double]? = nil

    /// The defaults above.
    public init() {}

    /// The default interpolation frequencies for state size N: 0 and `m = max(2, ⌊N/5⌋)`
    /// points log-spaced on `[1, 8N]` (HiPPO-LegS's eigenvalues reach −N), at most N/2 − 1 in all
    /// so that E keeps enough freedom (each ω > 0 removes two directions).
    public static func defaultInterpolationFrequencies(n: Int) -> [Double] {
        let m = Swift.min(Swift.max(2, n / 5), Swift.max(0, n / 4 - 1))
        if m <= 0 { return [0] }
        let top = Double.log10(8 * Double(n))
        return [0] + (0..<m).map { Double.pow(10, m == 1 ? 0 : top * Double($0) / Double(m - 1)) }
    }
}

/// The outcome of ``PTD/optimizedPerturbation(a:b:options:)``.
public struct PTDOptimizationResult: Sendable {
    /// The perturbation E.
    public var perturbation: Tensor<Double>
    /// `cond₂(V)` of `A + E`.
    public var eigenvectorCondition: Double
    /// The final objective value.
    public var objective: Double
    /// Gradient evaluations done.
    public var iterations: Int
    /// Objective after each accepted step (first entry: the starting point).
    public var history: [Double]
}

extension PTD {
    /// The objective `cond₂(V)² + penalty·‖E‖_F` and its gradient with respect to E.
    ///
    /// With `A + E = V·Λ·V⁻¹` (unit right eigenvectors, left eigenvectors W from `dgeev`,
    /// `V⁻¹ = diag(1/wᵢᴴvᵢ)·Wᴴ`), a perturbation dE moves the (unnormalised) eigenvectors by
    /// `dV = V·Ω`, `Ω_ji = (V⁻¹·dE·V)_ji / (λ_i − λ_j)` (j ≠ i); renormalising each column
    /// projects `dv_i` onto `v_i`'s real orthogonal complement. The singular values of V move by
    /// `dσ = Re(uᴴ·dV·y)` (singular vectors from the real 2N×2N embedding of V), so for
    /// `df = Re tr(Gᴴ·dV)`, `G = 2κ/σ_min·(u₁y₁ᴴ − κ·u_N y_Nᴴ)` (κ = σ₁/σ_N), and
    /// `∂f/∂E = Re(V⁻ᴴ·R·Vᴴ)` with `R = (Vᴴ·G̃) ∘ conj(H)`, `H_ji = 1/(λ_i − λ_j)`,
    /// `G̃ = G − V·diag(Re(vᵢᴴgᵢ))`. Plus `penalty·E/‖E‖_F`, and for the stability term
    /// `ρ·Σ_i max(0, Re λ_i + m)²` the eigenvalue derivative `∂λ_i/∂E_kl = (V⁻¹)_ik·V_li`.
    /// - Parameters:
    ///   - a: the state matrix.
    ///   - e: the perturbation.
    ///   - penalty: λ.
    ///   - stabilityWeight: ρ (0: no stability term).
    ///   - stabilityMargin: m.
    ///   - wantGradient: whether to compute the gradient (needs left eigenvectors and an SVD with vectors).
    /// - Throws: ``PTD/Failure`` when LAPACK fails.
    public static func conditionObjective(
        a: Tensor<Double>, perturbation e: Tensor<Double>, penalty: Double, stabilityWeight: Double = 0,
        stabilityMargin: Double = 0, gradient wantGradient: Bool = true
    ) throws(Failure) -> (objective: Double, condition: Double, gradient: Tensor<Double>?) {
        let n = try requireSquare(a, "A")
        var m = a
        for i in m.scalars.indices { m.scalars[i] += e.scalars[i] }
        let normE = e.scalars.reduce(0) { $0 + $1 * $1 }.squareRoot()
        do {
            let eig = try LAPACK.eigen(m, left: wantGradient, right: true)
            let v = eig.right!
            let excess = eig.values.map { Swift.max(0, $0.real + stabilityMargin) }
            let stability = stabilityWeight * excess.reduce(0) { $0 + $1 * $1 }
            if !wantGradient {
                let cond = try LAPACK.conditionNumber(v)
                return (cond * cond + penalty * normE + stability, cond, nil)
            }
            let w = eig.left!
            let lam = eig.values
            // Singular triplets of V from the real embedding [[Vr, −Vi], [Vi, Vr]].
            let n2 = 2 * n
            var emb = [Double](repeating: 0, count: n2 * n2)
            for i in 0..<n {
                for j in 0..<n {
                    let z = v.scalars[i * n + j]
                    emb[i * n2 + j] = z.real
                    emb[i * n2 + n + j] = -z.imaginary
                    emb[(n + i) * n2 + j] = z.imaginary
                    emb[(n + i) * n2 + n + j] = z.real
                }
            }
            let svd = try LAPACK.svd(Tensor(shape: [n2, n2], scalars: emb), vectors: true)
            let s = svd.s
            let (smax, smin) = (s[0], s[n2 - 1])
            let cond = smax / smin
            let u = svd.u!.scalars
            let vt = svd.vt!.scalars
            func leftVector(_ k: Int) -> [Complex<Double>] {
                (0..<n).map { Complex(u[$0 * n2 + k], u[(n + $0) * n2 + k]) }
            }
            func rightVector(_ k: Int) -> [Complex<Double>] {
                (0..<n).map { Complex(vt[k * n2 + $0], vt[k * n2 + n + $0]) }
            }
            let (u1, y1, un, yn) = (leftVector(0), rightVector(0), leftVector(n2 - 1), rightVector(n2 - 1))
            // G = 2κ/σ_min (u1 y1ᴴ − κ un ynᴴ), then the column projection.
            let scale = 2 * cond / smin
            var g = Tensor<Complex<Double>>(shape: [n, n], repeating: .zero)
            for i in 0..<n {
                for j in 0..<n {
                    g.scalars[i * n + j] = (u1[i] * y1[j].conjugate - un[i] * yn[j].conjugate * cond) * scale
                }
            }
            for j in 0..<n {
                var re = 0.0
                for i in 0..<n { re += (v.scalars[i * n + j].conjugate * g.scalars[i * n + j]).real }
                for i in 0..<n { g.scalars[i * n + j] = g.scalars[i * n + j] - v.scalars[i * n + j] * re }
            }
            // R = (Vᴴ G̃) ∘ conj(H).
            var r = complexProduct(v, .conjugateTranspose, g, .none)
            for jr in 0..<n {
                for ic in 0..<n {
                    if jr == ic {
                        r.scalars[jr * n + ic] = .zero
                    } else {
                        let h = Complex<Double>.one / (lam[ic] - lam[jr])
                        r.scalars[jr * n + ic] = r.scalars[jr * n + ic] * h.conjugate
                    }
                }
            }
            // V⁻ᴴ = W·diag(1/conj(wᵢᴴvᵢ)).
            var winv = w
            for j in 0..<n {
                var d = Complex<Double>.zero
                for i in 0..<n { d = d + w.scalars[i * n + j].conjugate * v.scalars[i * n + j] }
                let f = Complex<Double>.one / d.conjugate
                for i in 0..<n { winv.scalars[i * n + j] = winv.scalars[i * n + j] * f }
            }
            let x = complexProduct(complexProduct(winv, .none, r, .none), .none, v, .conjugateTranspose)
            var grad = Tensor<Double>(shape: [n, n], scalars: x.scalars.map(\.real))
            if normE > 0 && penalty != 0 {
                for i in grad.scalars.indices { grad.scalars[i] += penalty * e.scalars[i] / normE }
            }
            // (V⁻¹)_ik = conj(winv_ki): ∂Re λ_i/∂E_kl = Re(conj(winv_ki)·V_li).
            for i in 0..<n where excess[i] > 0 {
                let f = 2 * stabilityWeight * excess[i]
                for k in 0..<n {
                    let left = winv.scalars[k * n + i].conjugate
                    for l in 0..<n { grad.scalars[k * n + l] += f * (left * v.scalars[l * n + i]).real }
                }
            }
            return (cond * cond + penalty * normE + stability, cond, grad)
        } catch {
            throw .lapack(error)
        }
    }

    /// An optimised perturbation: projected, normalised gradient descent on
    /// `cond₂(V)² + penalty·‖E‖_F` (plus the stability term of the options) from a seeded Gaussian start, with backtracking (a step is
    /// accepted only if the objective decreases; the step length grows ×1.5 after a success
    /// and halves after a failure) and the bound `‖E‖₂ ≤ maxRatio·‖A‖₂` enforced by scaling.
    /// E and every gradient are projected onto `{E : E·x_k = 0}` for the interpolation
    /// frequencies (`E ← E·(I − Q·Qᵀ)`, Q an orthonormal basis of the `x_k`), which keeps the
    /// transfer function exact there; the gradient is the projected one, so the iteration is a
    /// projected-gradient method on that subspace.
    /// - Parameters:
    ///   - a: the real square state matrix.
    ///   - b: the input vector (for the interpolation constraints).
    ///   - options: the settings.
    /// - Throws: ``PTD/Failure`` on bad options or a LAPACK failure.
    public static func optimizedPerturbation(
        a: Tensor<Double>, b: [Double], options: PTDOptimizationOptions = PTDOptimizationOptions()
    ) throws(Failure) -> PTDOptimizationResult {
        let n = try requireSquare(a, "A")
        guard b.count == n else { throw .invalidArgument(name: "B", reason: "has \(b.count) entries, expected \(n)") }
        guard options.maxRatio > 0, options.maxRatio.isFinite else {
            throw .invalidArgument(name: "maxRatio", reason: "must be finite and > 0, got \(options.maxRatio)")
        }
        guard options.initialRatio > 0, options.initialRatio <= options.maxRatio else {
            throw .invalidArgument(
                name: "initialRatio",
                reason: "must lie in (0, maxRatio = \(options.maxRatio)], got \(options.initialRatio)")
        }
        guard options.penalty >= 0, options.penalty.isFinite else {
            throw .invalidArgument(name: "penalty", reason: "must be finite and ≥ 0, got \(options.penalty)")
        }
        guard options.stabilityWeight >= 0, options.stabilityWeight.isFinite, options.stabilityMargin.isFinite else {
            throw .invalidArgument(name: "stabilityWeight", reason: "weight must be finite and ≥ 0, margin finite")
        }
        func objective(_ e: Tensor<Double>, gradient: Bool) throws(Failure) -> (
            objective: Double, condition: Double, gradient: Tensor<Double>?
        ) {
            try conditionObjective(
                a: a, perturbation: e, penalty: options.penalty, stabilityWeight: options.stabilityWeight,
                stabilityMargin: options.stabilityMargin, gradient: gradient)
        }
        let normA: Double
        do { normA = try LAPACK.spectralNorm(a) } catch { throw .lapack(error) }
        let start = Date()
        let projector = try interpolationProjector(
            a: a, b: b,
            omegas: options.interpolationFrequencies ?? PTDOptimizationOptions.defaultInterpolationFrequencies(n: n))
        var e = try randomPerturbation(a: a, ratio: options.initialRatio, seed: options.seed)
        if let p = projector {
            e = realProduct(e, p)
            do {
                let s = options.initialRatio * normA / (try LAPACK.spectralNorm(e))
                for i in e.scalars.indices { e.scalars[i] *= s }
            } catch { throw .lapack(error) }
        }
        var (f, cond, g) = try objective(e, gradient: true)
        var history = [f]
        var alpha = 0.01 * normA
        var iterations = 1
        while iterations < options.maxIterations && Date().timeIntervalSince(start) < options.timeLimit {
            guard var grad = g else { break }
            if let p = projector { grad = realProduct(grad, p) }
            let gnorm = grad.scalars.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if !(gnorm > 0) || !gnorm.isFinite { break }
            var trial = e
            for i in trial.scalars.indices { trial.scalars[i] -= alpha * grad.scalars[i] / gnorm }
            let ratio: Double
            do { ratio = try LAPACK.spectralNorm(trial) / normA } catch { throw .lapack(error) }
            if ratio > options.maxRatio {
                let s = options.maxRatio / ratio
                for i in trial.scalars.indices { trial.scalars[i] *= s }
            }
            let ft: Double
            do {
                ft = try objective(trial, gradient: false).objective
            } catch {
                ft = .infinity  // e.g. a failed QR iteration: treat as a rejected step
            }
            if ft < f {
                e = trial
                (f, cond, g) = try objective(e, gradient: true)
                iterations += 1
                history.append(f)
                alpha *= 1.5
                if history.count > 20 {
                    let old = history[history.count - 21]
                    if (old - f) <= options.relativeTolerance * Swift.abs(f) { break }
                }
            } else {
                alpha *= 0.5
                if alpha < 1e-12 * normA { break }
            }
        }
        return PTDOptimizationResult(
            perturbation: e, eigenvectorCondition: cond, objective: f, iterations: iterations, history: history)
    }

    /// `I − Q·Qᵀ` for an orthonormal basis Q of `{Re x_k, Im x_k}`, `x_k = (iω_kI − A)⁻¹B`
    /// (nil when there are no frequencies). Directions below 1e-10 of the largest are dropped.
    static func interpolationProjector(a: Tensor<Double>, b: [Double], omegas: [Double]) throws(Failure) -> Tensor<
        Double
    >? {
        let n = a.shape[0]
        if omegas.isEmpty { return nil }
        guard omegas.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw .invalidArgument(name: "interpolationFrequencies", reason: "must be finite and ≥ 0")
        }
        var columns: [[Double]] = []
        for x in try resolventVectors(a: a, b: b, omegas: omegas) {
            columns.append(x.map(\.real))
            if x.contains(where: { $0.imaginary != 0 }) { columns.append(x.map(\.imaginary)) }
        }
        guard columns.count < n else {
            throw .invalidArgument(
                name: "interpolationFrequencies", reason: "\(columns.count) constraints leave no freedom for N = \(n)")
        }
        // Orthonormal basis by an SVD of the n×m constraint matrix (robust to near-dependence).
        let m = columns.count
        var mat = [Double](repeating: 0, count: n * m)
        for (j, c) in columns.enumerated() {
            let norm = c.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in 0..<n { mat[i * m + j] = norm > 0 ? c[i] / norm : 0 }
        }
        let svd: (u: Tensor<Double>?, s: [Double], vt: Tensor<Double>?)
        do { svd = try LAPACK.svd(Tensor(shape: [n, m], scalars: mat), vectors: true) } catch { throw .lapack(error) }
        let k = svd.s.count
        let keep = svd.s.filter { $0 > 1e-10 * (svd.s.first ?? 0) }.count
        var p = Tensor<Double>(shape: [n, n], repeating: 0)
        for i in 0..<n { p.scalars[i * n + i] = 1 }
        let u = svd.u!.scalars
        for i in 0..<n {
            for j in 0..<n {
                var acc = 0.0
                for r in 0..<keep { acc += u[i * k + r] * u[j * k + r] }
                p.scalars[i * n + j] -= acc
            }
        }
        return p
    }

    /// `X·Y` for real square matrices through BLAS `dgemm`.
    static func realProduct(_ x: Tensor<Double>, _ y: Tensor<Double>) -> Tensor<Double> {
        let n = x.shape[0]
        var xx = x
        var yy = y
        var out = Tensor<Double>(shape: [n, n], repeating: 0)
        xx.scalars.withUnsafeMutableBufferPointer { xb in
            yy.scalars.withUnsafeMutableBufferPointer { yb in
                out.scalars.withUnsafeMutableBufferPointer { ob in
                    BLAS.gemm(
                        MatrixView(xb.baseAddress!, rows: n, columns: n), .none,
                        MatrixView(yb.baseAddress!, rows: n, columns: n), .none,
                        into: MatrixView(ob.baseAddress!, rows: n, columns: n))
                }
            }
        }
        return out
    }

    /// `op(X)·op(Y)` for complex square matrices, through BLAS `zgemm`.
    static func complexProduct(
        _ x: Tensor<Complex<Double>>, _ tx: BLAS.Transpose, _ y: Tensor<Complex<Double>>, _ ty: BLAS.Transpose
    ) -> Tensor<Complex<Double>> {
        let n = x.shape[0]
        var xx = x
        var yy = y
        var out = Tensor<Complex<Double>>(shape: [n, n], repeating: .zero)
        xx.scalars.withUnsafeMutableBufferPointer { xb in
            yy.scalars.withUnsafeMutableBufferPointer { yb in
                out.scalars.withUnsafeMutableBufferPointer { ob in
                    BLAS.gemm(
                        MatrixView(xb.baseAddress!, rows: n, columns: n), tx,
                        MatrixView(yb.baseAddress!, rows: n, columns: n), ty,
                        into: MatrixView(ob.baseAddress!, rows: n, columns: n))
                }
            }
        }
        return out
    }
}
