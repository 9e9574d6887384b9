import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Central finite differences in Float64 along random directions.
enum FiniteDifference {
    /// The step of the central differences along a unit direction.
    static let step = 1e-3

    /// The directional derivative of `f` at 0 by central differences with one Richardson step,
    /// `(4·D(h/2) − D(h))/3` with `D(h) = (f(h) − f(−h))/2h`: the h² term cancels, so the error is
    /// O(h⁴) plus rounding.
    static func derivative(_ f: (Double) throws -> Double) rethrows -> Double {
        let h = step
        let d1 = (try f(h) - (try f(-h))) / (2 * h)
        let d2 = (try f(h / 2) - (try f(-h / 2))) / h
        return (4 * d2 - d1) / 3
    }

    /// A standard normal tensor scaled to unit norm (with `norm`, the norm shared by several).
    static func direction(_ shape: [Int], _ rng: inout SeededRandom) -> Tensor<Double> {
        let d: Tensor<Double> = rng.normalTensor(shape)
        let n = dot(d, d).squareRoot()
        return d.map { $0 / n }
    }

    /// `Σ a ⊙ b`.
    static func dot(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
        precondition(a.count == b.count, "dot: \(a.shape) vs \(b.shape)")
        var s = 0.0
        for i in 0..<a.count { s += a.scalars[i] * b.scalars[i] }
        return s
    }

    /// `x + s·d`.
    static func shifted(_ x: Tensor<Double>, _ d: Tensor<Double>, _ s: Double) -> Tensor<Double> {
        Tensor(shape: x.shape, scalars: zip(x.scalars, d.scalars).map { $0 + s * $1 })
    }

    /// The relative error of the analytic directional derivative `⟨gradient, d⟩` of `f` at `x`
    /// against central differences with a Richardson step (``derivative(_:)``), for `directions` random unit
    /// directions d.
    static func error(
        at x: Tensor<Double>, gradient: Tensor<Double>, directions: Int = 2, seed: UInt64,
        _ f: (Tensor<Double>) throws -> Double
    ) rethrows -> Double {
        precondition(x.shape == gradient.shape, "FiniteDifference: x \(x.shape) vs gradient \(gradient.shape)")
        var rng = SeededRandom(seed: seed)
        var worst = 0.0
        for _ in 0..<directions {
            let d = direction(x.shape, &rng)
            let fd = try derivative { try f(shifted(x, d, $0)) }
            let an = dot(gradient, d)
            worst = max(worst, abs(fd - an) / max(abs(an), 1e-12))
        }
        return worst
    }
}
