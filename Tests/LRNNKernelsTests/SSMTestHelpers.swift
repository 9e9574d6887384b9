import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport

/// Seeded S4D parameters with modes of moderate decay (A_re in [−1, −0.05]).
func randomS4D<T: LRNNScalar>(
    channels h: Int, modes n2: Int, seed: UInt64, as: T.Type = T.self, logDt: ClosedRange<Double> = -4...(-1)
) throws -> S4DParameters<T> {
    var r = SeededRandom(seed: seed)
    let s = [h, n2]
    return try S4DParameters(
        logDt: r.tensor([h], logDt), aRe: r.tensor(s, -1...(-0.05)), aIm: r.tensor(s, -20...20),
        bRe: r.tensor(s), bIm: r.tensor(s), cRe: r.tensor(s), cIm: r.tensor(s), d: r.tensor([h]))
}

/// Relative error `max|x − y| / max|y|` in Float64.
func relErr<T: LRNNScalar>(_ x: Tensor<T>, _ y: Tensor<T>) -> Double {
    x.converted(to: Double.self).relativeError(to: y.converted(to: Double.self))
}

/// Tokens `range` of a `[B, T, H]` tensor.
func slice<T>(_ u: Tensor<T>, tokens range: Range<Int>) -> Tensor<T> {
    u.slice(batches: 0..<u.shape[0], tokens: range)
}

/// Token s of a `[B, T, H]` tensor as `[B, H]`.
func token<T>(_ u: Tensor<T>, _ s: Int) -> Tensor<T> {
    u.slice(batches: 0..<u.shape[0], tokens: s..<(s + 1)).reshaped([u.shape[0], u.shape[2]])
}
