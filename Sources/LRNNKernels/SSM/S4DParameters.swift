import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// How S4D's diagonal state matrix is initialised.
public enum S4DInitialization: String, Sendable, CaseIterable, Codable {
    /// S4D-Lin: `a_n = −½ + iπn`.
    case lin
    /// S4D-Inv: `a_n = −½ + i·(N/π)·(N/(2n+1) − 1)`.
    case inv
    /// S4D-LegS: the eigenvalues `−½ + iμ` (μ > 0) of HiPPO-LegS's normal part, with `B = Vᴴ·B_LegS`.
    case legs
}

/// The parameters of an S4D layer: H independent channels, each a diagonal SSM with N2 = N/2
/// complex modes (one representative per conjugate pair), a step size and a skip term.
///
/// Channel h maps `u ↦ y` by `x_t = dA·x_{t−1} + dB·u_t`, `y_t = 2·Re(C·x_t) + D·u_t`
/// with `dA, dB` from ``SSMDiscretization`` at `Δ = exp(logDt[h])`.
public struct S4DParameters<T: LRNNScalar>: Sendable {
    /// `log Δ` per channel, `[H]`.
    public var logDt: Tensor<T>
    /// Real parts of the continuous eigenvalues, `[H, N2]`, all ≤ 0 (0: a marginally stable mode,
    /// `|dA| = 1` under both discretisations; zoh's `dB` then uses the limit `(e^{Δa} − 1)/a → Δ` at a = 0).
    public var aRe: Tensor<T>
    /// Imaginary parts of the continuous eigenvalues, `[H, N2]`.
    public var aIm: Tensor<T>
    /// Real part of B, `[H, N2]`.
    public var bRe: Tensor<T>
    /// Imaginary part of B, `[H, N2]`.
    public var bIm: Tensor<T>
    /// Real part of C, `[H, N2]`.
    public var cRe: Tensor<T>
    /// Imaginary part of C, `[H, N2]`.
    public var cIm: Tensor<T>
    /// The skip term D, `[H]`.
    public var d: Tensor<T>

    /// The number of channels H.
    public var channels: Int { logDt.count }
    /// The number of complex modes per channel N2.
    public var modes: Int { aRe.rank == 2 ? aRe.shape[1] : 0 }

    /// Creates parameters from their tensors, checking shapes, finiteness, `A_re ≤ 0` and `log_dt ≤ 20`.
    ///
    /// - Throws: ``KernelError`` naming the first offending tensor.
    public init(
        logDt: Tensor<T>, aRe: Tensor<T>, aIm: Tensor<T>, bRe: Tensor<T>, bIm: Tensor<T>,
        cRe: Tensor<T>, cIm: Tensor<T>, d: Tensor<T>
    ) throws(KernelError) {
        guard logDt.rank == 1 else {
            throw .shapeMismatch(tensor: "log_dt", shape: logDt.shape, expected: "[H]")
        }
        let h = logDt.count
        guard aRe.rank == 2, aRe.shape[0] == h else {
            throw .shapeMismatch(tensor: "A_re", shape: aRe.shape, expected: "[\(h), N2]")
        }
        let shape = [h, aRe.shape[1]]
        for (t, name) in [(aIm, "A_im"), (bRe, "B_re"), (bIm, "B_im"), (cRe, "C_re"), (cIm, "C_im")] {
            try KernelError.requireShape(t, shape, name)
        }
        try KernelError.requireShape(d, [h], "D")
        for (t, name) in [
            (logDt, "log_dt"), (aRe, "A_re"), (aIm, "A_im"), (bRe, "B_re"), (bIm, "B_im"),
            (cRe, "C_re"), (cIm, "C_im"), (d, "D"),
        ] {
            try KernelError.requireFinite(t, name)
        }
        for x in aRe.scalars where !(x <= 0) {
            throw .invalidArgument(
                name: "A_re", reason: "every real part must be ≤ 0 (stable or marginally stable modes), found \(x)")
        }
        for x in logDt.scalars where Double(x) > 20 {
            throw .invalidArgument(name: "log_dt", reason: "must be ≤ 20 (a step of at most e^20), found \(x)")
        }
        self.logDt = logDt
        self.aRe = aRe
        self.aIm = aIm
        self.bRe = bRe
        self.bIm = bIm
        self.cRe = cRe
        self.cIm = cIm
        self.d = d
    }

    /// Seeded S4D initialisation: `A` by `initialization`, `B = 1` (Lin, Inv) or `Vᴴ·B_LegS`
    /// (LegS), `C` complex standard normal (variance ½ per part), `D` standard normal, and
    /// `log Δ` uniform in `[log 1e-3, log 1e-1]`.
    ///
    /// - Parameters:
    ///   - channels: H ≥ 1.
    ///   - stateSize: N, even and ≥ 2 (N2 = N/2 modes per channel).
    ///   - initialization: the eigenvalue family.
    ///   - seed: the random seed.
    ///   - dtMin: the smallest step (default 1e-3).
    ///   - dtMax: the largest step (default 1e-1).
    /// - Throws: ``KernelError`` for bad sizes, ``/LRNNLinearAlgebra/LAPACKError`` (wrapped) never for valid sizes.
    public static func initialized(
        channels: Int, stateSize: Int, initialization: S4DInitialization, seed: UInt64,
        dtMin: Double = 1e-3, dtMax: Double = 1e-1
    ) throws(KernelError) -> S4DParameters {
        guard channels >= 1 else { throw .invalidArgument(name: "H", reason: "must be ≥ 1, got \(channels)") }
        guard stateSize >= 2, stateSize % 2 == 0 else {
            throw .invalidArgument(name: "N", reason: "must be even and ≥ 2, got \(stateSize)")
        }
        guard dtMin > 0, dtMax >= dtMin, dtMax.isFinite else {
            throw .invalidArgument(name: "dt", reason: "need 0 < dtMin ≤ dtMax < ∞, got \(dtMin), \(dtMax)")
        }
        let n2 = stateSize / 2
        let nn = Double(stateSize)
        var a = [Complex<Double>](repeating: .zero, count: n2)
        var b = [Complex<Double>](repeating: .one, count: n2)
        switch initialization {
        case .lin:
            for k in 0..<n2 { a[k] = Complex(-0.5, Double.pi * Double(k)) }
        case .inv:
            for k in 0..<n2 { a[k] = Complex(-0.5, nn / Double.pi * (nn / Double(2 * k + 1) - 1)) }
        case .legs:
            let diag: (values: [Complex<Double>], vectors: Tensor<Complex<Double>>, projectedB: [Complex<Double>])
            do { diag = try HiPPO.legsDiagonalization(n: stateSize) } catch {
                throw .invalidArgument(name: "N", reason: "LegS diagonalisation failed: \(error)")
            }
            // Ascending μ: the last N2 have μ > 0 (one of each conjugate pair).
            for k in 0..<n2 {
                a[k] = diag.values[stateSize - n2 + k]
                b[k] = diag.projectedB[stateSize - n2 + k]
            }
        }
        var rng = SeededGenerator(seed: seed)
        let h = channels
        var out = [[T]](repeating: [T](repeating: 0, count: h * n2), count: 6)
        var logDt = [T](repeating: 0, count: h)
        var d = [T](repeating: 0, count: h)
        let (lo, hi) = (Double.log(dtMin), Double.log(dtMax))
        let invSqrt2 = 1 / 2.0.squareRoot()
        for c in 0..<h {
            logDt[c] = T(rng.uniform(lo, hi))
            d[c] = T(rng.normal())
            for k in 0..<n2 {
                let i = c * n2 + k
                out[0][i] = T(a[k].real)
                out[1][i] = T(a[k].imaginary)
                out[2][i] = T(b[k].real)
                out[3][i] = T(b[k].imaginary)
                out[4][i] = T(rng.normal() * invSqrt2)
                out[5][i] = T(rng.normal() * invSqrt2)
            }
        }
        let s = [h, n2]
        return try S4DParameters(
            logDt: Tensor(shape: [h], scalars: logDt), aRe: Tensor(shape: s, scalars: out[0]),
            aIm: Tensor(shape: s, scalars: out[1]), bRe: Tensor(shape: s, scalars: out[2]),
            bIm: Tensor(shape: s, scalars: out[3]), cRe: Tensor(shape: s, scalars: out[4]),
            cIm: Tensor(shape: s, scalars: out[5]), d: Tensor(shape: [h], scalars: d))
    }

    /// The continuous eigenvalue, B, C of channel h, mode k, in Float64.
    func mode(_ h: Int, _ k: Int) -> (a: Complex<Double>, b: Complex<Double>, c: Complex<Double>) {
        let i = h * modes + k
        return (
            Complex(Double(aRe.scalars[i]), Double(aIm.scalars[i])),
            Complex(Double(bRe.scalars[i]), Double(bIm.scalars[i])),
            Complex(Double(cRe.scalars[i]), Double(cIm.scalars[i]))
        )
    }

    /// The discretised modes of channel h in Float64: `dA`, its powers (see ``DiscreteMode/power(_:)``)
    /// and the output weight `W = C·dB` (so that `K[l] = 2·Re Σ_n W_n·dA_n^l`), plus `dB` itself.
    ///
    /// zoh keeps `log dA = Δa` (exact, finite) for its powers; bilinear keeps `|dA|` and `arg dA`,
    /// so a pole that is exactly 0 (`a·Δ/2 = −1`, an S4D-Real value) needs no logarithm.
    func discreteModes(channel h: Int, _ discretization: SSMDiscretization) -> [DiscreteMode] {
        (0..<modes).map { k in discreteMode(channel: h, mode: k, discretization) }
    }

    /// Mode k of ``discreteModes(channel:_:)`` alone (no allocation).
    func discreteMode(channel h: Int, mode k: Int, _ discretization: SSMDiscretization) -> DiscreteMode {
        let dt = Double.exp(Double(logDt.scalars[h]))
        let (a, b, c) = mode(h, k)
        let (pole, logPole, scale) = discretization.discretize(a, step: dt)
        let db = scale * b
        return DiscreteMode(
            pole: pole, exactLogPole: discretization == .zoh ? logPole : nil, inputWeight: db, outputWeight: c,
            kernelWeight: c * db)
    }
}

/// One discretised complex mode (Float64): `x_t = pole·x_{t−1} + inputWeight·u_t`,
/// contribution `2·Re(outputWeight·x_t)`; `kernelWeight = outputWeight·inputWeight`.
///
/// Powers are taken in polar form, `pole^l = ρ^l·(cos lθ + i·sin lθ)`, never as `exp(l·log pole)`
/// (which is 0·∞ = NaN at l = 0 and undefined for every l when the pole is 0). The modulus power
/// `ρ^l` is `exp(l·Re Δa)` when the logarithm is known exactly (zoh) and the C `pow(ρ, l)`
/// otherwise (bilinear), which is exact at ρ = 0 (`0^l = 0` for l ≥ 1) and accurate to an ulp
/// for tiny ρ; `pole^0 = 1` always (0⁰ = 1).
struct DiscreteMode: Sendable {
    var pole: Complex<Double>
    var inputWeight: Complex<Double>
    var outputWeight: Complex<Double>
    var kernelWeight: Complex<Double>
    /// `log |pole|` when it is known exactly (zoh: `Re Δa`), else nil (then `pow(modulus, l)`).
    var logModulus: Double?
    /// `|pole|` (0 for a zero pole).
    var modulus: Double
    /// `arg pole` (any finite value for a zero pole; it is multiplied by a zero modulus).
    var argument: Double

    /// A mode from its pole and weights; `exactLogPole` is a logarithm of the pole known without
    /// rounding (zoh's `Δa`), or nil to take the modulus and argument from the pole itself.
    init(
        pole: Complex<Double>, exactLogPole: Complex<Double>?, inputWeight: Complex<Double>,
        outputWeight: Complex<Double>, kernelWeight: Complex<Double>
    ) {
        self.pole = pole
        self.inputWeight = inputWeight
        self.outputWeight = outputWeight
        self.kernelWeight = kernelWeight
        if let z = exactLogPole, z.isFinite {
            logModulus = z.real
            modulus = Double.exp(z.real)
            argument = z.imaginary
        } else {
            logModulus = nil
            modulus = pole.length
            // atan2 is finite at the origin (0 or ±π), unlike Complex.phase (NaN there).
            argument = Double.atan2(y: pole.imaginary, x: pole.real)
        }
    }

    /// `pole^(stride·i)` for `i in 0..<count`, written through `body(i, power)`: every 16th power
    /// is ``power(_:)`` exactly, the ones between are one multiplication by `pole^stride` from it
    /// (at most 15 roundings, so the relative error stays ≲ 16 ulp for any i). A zero pole gives
    /// 1 at i = 0 and exact zeros after it.
    func powers(stride: Int, count: Int, _ body: (Int, Complex<Double>) -> Void) {
        let step = power(stride)
        var z = Complex<Double>.one
        for i in 0..<count {
            z = i % 16 == 0 ? power(stride * i) : z * step
            body(i, z)
        }
    }

    /// `pole^l` (l ≥ 0) in polar form: 1 for l = 0, `exp(l·log ρ)` or `pow(ρ, l)` times `cis(lθ)`
    /// otherwise; exactly 0 for a zero pole and l ≥ 1, and 0 (not NaN) once `ρ^l` underflows.
    func power(_ l: Int) -> Complex<Double> {
        if l == 0 { return .one }
        let x = Double(l)
        let m = logModulus.map { Double.exp(x * $0) } ?? Double.pow(modulus, l)
        if m == 0 { return .zero }
        let phi = x * argument
        return Complex(m * Double.cos(phi), m * Double.sin(phi))
    }
}
