import ComplexModule
import RealModule

/// How a continuous diagonal state-space mode `x' = a·x + b·u` becomes a discrete recurrence
/// `x_t = dA·x_{t−1} + dB·u_t` with step `Δ`.
public enum SSMDiscretization: String, Sendable, CaseIterable {
    /// Zero-order hold: `dA = exp(Δa)`, `dB = (dA − 1)/a · b`.
    case zoh
    /// Bilinear (Tustin): `dA = (1 + Δa/2)/(1 − Δa/2)`, `dB = Δ/(1 − Δa/2) · b`.
    case bilinear

    /// The discrete pole `dA`, its logarithm and the input scale `dB/b` for one mode, in Float64.
    ///
    /// - Parameters:
    ///   - a: the continuous eigenvalue (Re a < 0 for a stable mode).
    ///   - step: the step size Δ > 0.
    /// - Returns: `(dA, log dA, dB/b)`; `log dA = Δa` exactly for zoh.
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

    /// `(exp(z) − 1)/z`, by its series for |z| < 1e-3 and directly otherwise.
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
