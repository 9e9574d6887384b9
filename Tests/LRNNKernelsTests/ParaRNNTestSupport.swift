import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport

/// The sizes and parameter scale of one random ParaRNN problem.
struct ParaRNNShape {
    var batch = 2
    var tokens = 9
    var inputSize = 6
    var stateSize = 4
    var heads = 2
    /// Packed sequence lengths (batch must be 1 and their sum `tokens`), or nil.
    var lengths: [Int]? = nil
    /// The bound of the uniform recurrent weights A (and peepholes C); 0.5 is the papers' initial scale,
    /// 2 the golden cases' `strong` parameters.
    var weightScale = 0.5
    var withInitialState = true
    var withOutputGradient = true
    var withFinalStateGradient = true

    var stateCount: Int { lengths?.count ?? batch }

    func sequences() throws -> SequenceBoundaries? { try lengths.map { try SequenceBoundaries(lengths: $0) } }
}

/// Random ParaGRU inputs and cotangents.
func randomGRUCase(_ s: ParaRNNShape, seed: UInt64) -> (ParaGRU.Inputs<Double>, Tensor<Double>?, Tensor<Double>?) {
    var rng = SeededRandom(seed: seed)
    let w = s.weightScale
    let x = ParaGRU.Inputs<Double>(
        x: rng.tensor([s.batch, s.tokens, s.inputSize], -2...2), A: rng.tensor([3, s.stateSize], -w...w),
        B: rng.tensor([s.heads, s.inputSize / s.heads, 3, s.stateSize / s.heads], -w...w),
        b: rng.tensor([3, s.stateSize], -1...1),
        initialState: s.withInitialState ? rng.tensor([s.stateCount, s.stateSize], -0.9...0.9) : nil)
    let dh: Tensor<Double>? = s.withOutputGradient ? rng.tensor([s.batch, s.tokens, s.stateSize]) : nil
    let dht: Tensor<Double>? = s.withFinalStateGradient ? rng.tensor([s.stateCount, s.stateSize]) : nil
    return (x, dh, dht)
}

/// Random ParaLSTM inputs and cotangents.
func randomLSTMCase(_ s: ParaRNNShape, seed: UInt64) -> (
    ParaLSTM.Inputs<Double>, Tensor<Double>?, ParaLSTM.State<Double>?
) {
    var rng = SeededRandom(seed: seed)
    let w = s.weightScale
    let n = s.stateCount
    let x = ParaLSTM.Inputs<Double>(
        x: rng.tensor([s.batch, s.tokens, s.inputSize], -2...2), A: rng.tensor([3, s.stateSize], -w...w),
        B: rng.tensor([s.heads, s.inputSize / s.heads, 3, s.stateSize / s.heads], -w...w),
        C: rng.tensor([2, s.stateSize], -w...w), b: rng.tensor([3, s.stateSize], -1...1),
        initialState: s.withInitialState
            ? ParaLSTM.State(c: rng.tensor([n, s.stateSize], -1.2...1.2), h: rng.tensor([n, s.stateSize], -0.9...0.9))
            : nil)
    let dh: Tensor<Double>? = s.withOutputGradient ? rng.tensor([s.batch, s.tokens, s.stateSize]) : nil
    let dht: ParaLSTM.State<Double>? =
        s.withFinalStateGradient
        ? ParaLSTM.State(c: rng.tensor([n, s.stateSize]), h: rng.tensor([n, s.stateSize])) : nil
    return (x, dh, dht)
}

/// `Σ a ⊙ b` in Float64 (0 when `b` is nil).
func paraRNNDot<T: LRNNScalar>(_ a: Tensor<T>, _ b: Tensor<T>?) -> Double {
    guard let b else { return 0 }
    var s = 0.0
    for (x, y) in zip(a.scalars, b.scalars) { s += Double(x) * Double(y) }
    return s
}

/// Central differences of `loss` along every element of `tensor` (step 1e-5).
func paraRNNFiniteDifference<I>(
    _ inputs: I, _ field: WritableKeyPath<I, Tensor<Double>>, _ loss: (I) throws -> Double
) rethrows -> Tensor<Double> {
    let step = 1e-5
    var result = inputs[keyPath: field]
    for i in 0..<result.count {
        var plus = inputs
        plus[keyPath: field].scalars[i] += step
        var minus = inputs
        minus[keyPath: field].scalars[i] -= step
        result.scalars[i] = (try loss(plus) - loss(minus)) / (2 * step)
    }
    return result
}

/// The golden relative error `max|x − ref| / max|ref|` of a computed tensor against a Float64 one.
func paraRNNError<T: LRNNScalar>(_ x: Tensor<T>, _ reference: Tensor<Double>) -> Double {
    x.converted(to: Double.self).relativeError(to: reference)
}
