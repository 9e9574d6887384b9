import ComplexModule
import RealModule

/// How a continuous diagonal state-space mode `x' = a·x + b·u` becomes a discrete recurrence
/// `x_t = dA·x_{t−1} + dB·u_t` with step `Δ`.
///
/// Singular points. zoh's `dB = (e^{Δa} − 1)/a·b` has a removable singularity at a = 0 (limit
/// `Δ·b`): it is evaluated as `Δ·φ(Δa)`, `φ(z) = (e^z − 1)/z`, with φ(0) = 1 exactly (see
/// ``discretize(_:step:)``). Bilinear's `1/(1 − Δa/2)` has a true pole at `a = 2/Δ`, which no
/// stable mode reaches (`Re a ≤ 0` gives `|1 − Δa/2| ≥ 1`); its pole `dA` is exactly 0 at
/// `Δa = −2`, which is a regular point of `dA` and `dB` but the branch point of `log dA`, so the
/// kernels never raise `dA` to a power through its logarithm (0⁰ = 1, 0^l = 0 for l ≥ 1).
public enum SSMDiscretization: String, Sendable, CaseIterable, Codable {
    /// Zero-order hold: `dA = exp(Δa)`, `dB = (dA − 1)/a · b`.
    case zoh
    /// Bilinear (Tustin): `dA = (1 + Δa/2)/(1 − Δa/2)`, `dB = Δ/(1 − Δa/2) · b`.
    case bilinear

    /// The discrete pole `dA`, its logarithm and the input scale `dB/b` for one mode, in Float64.
    ///
    /// - Parameters:
    ///   - a: the continuous eigenvalue (Re a < 0 for a stable mode).
    ///   - step: the step size Δ > 0.
    /// - Returns: `(dA, log dA, dB/b)`; `log dA = Δa` exactly for zoh, the principal logarithm
    ///   for bilinear (`Complex.infinity` when `dA = 0`: use `dA` itself, not `log dA`, for powers).
    ///   At a = 0 zoh gives `dA = 1`, `dB/b = Δ` exactly; bilinear gives `dB/b = Δ/2` at its zero pole.
    public func discretize(_ a: Complex<Double>, step: Double) -> (
        pole: Complex<Double>, logPole: Complex<Double>, inputScale: Complex<Double>
    ) {
        switch self {
        case .zoh:
            let z = a * step
            let pole = Complex.exp(z)
            // (exp(z) − 1)/a = Δ·expm1(z)/z, accurate for small |z|.
            let scale = Complex(step) * SSMDiscretization.expm1OverZ(z)
            return (pole, z, scale)
        case .bilinear:
            let half = a * (step / 2)
            let den = Complex<Double>.one - half
            let pole = (Complex<Double>.one + half) / den
            return (pole, Complex.log(pole), Complex(step) / den)
        }
    }

    /// `φ(z) = (exp(z) − 1)/z`, removable at z = 0 (φ(0) = 1 exactly).
    ///
    /// For |z| < 1e-3 the Taylor series `1 + z/2 + z²/6 + … + z⁵/720` (truncation below 2e-22
    /// relative); otherwise `expm1(z)/z` with ComplexModule's `Complex.expMinusOne`, which evaluates
    /// `Re = expm1(x)·cos y + cosm1(y)`, `Im = e^x·sin y`: for `x = Re z ≤ 0` both real terms are
    /// ≤ 0, so a tiny real part beside a large imaginary part (e^z ≈ 1 near z = 2πik) loses nothing
    /// to cancellation, and there is no subtraction `e^z − 1` of nearly equal numbers.
    static func expm1OverZ(_ z: Complex<Double>) -> Complex<Double> {
        if z.length < 1e-3 {
            // 1 + z/2 + z²/6 + z³/24 + z⁴/120
            var term = Complex<Double>.one
            var sum = Complex<Double>.one
            for k in 2...6 {
                term = term * z / Complex(Double(k))
                sum = sum + term
            }
            return sum
        }
        return Complex.expMinusOne(z) / z
    }
}
