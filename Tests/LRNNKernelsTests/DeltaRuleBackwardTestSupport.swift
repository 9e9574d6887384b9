import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport

/// One delta-rule backward problem: inputs, constants and cotangents.
struct DeltaRuleBackwardCase {
    var inputs: DeltaRule.Inputs<Double>
    var n: Int
    var sequences: SequenceBoundaries?
    var scale: Double?
    var outputGradient: Tensor<Double>?
    var finalStateGradient: Tensor<Double>?

    /// Random inputs (L2-normalised q, k; β in (0, `maxBeta`]; log decays in `gates`, each ≤ 0) and
    /// cotangents (either may be left out).
    init(
        batch b: Int, tokens t: Int, heads h: Int, keyDim dk: Int, valueDim dv: Int, n: Int, gated: Bool,
        initialState: Bool, maxBeta: Double = 2, gates: ClosedRange<Double> = -0.5...(-0.05),
        lengths: [Int]? = nil, outputGradient: Bool = true, finalStateGradient: Bool = true,
        scale: Double? = nil, seed: UInt64
    ) throws {
        var rng = SeededRandom(seed: seed)
        let cu = try lengths.map { try SequenceBoundaries(lengths: $0) }
        let tokens = cu?.total ?? t
        let x = DeltaRuleInputs<Double>(
            batch: b, tokens: tokens, heads: h, keyDim: dk, valueDim: dv, householder: n, gated: false,
            initialState: initialState, maxBeta: maxBeta, cuSeqlens: cu?.offsets, rng: &rng)
        let g: Tensor<Double>? = gated ? rng.tensor([b, tokens, h], gates) : nil
        inputs = DeltaRule.Inputs(q: x.q, k: x.k, v: x.v, beta: x.beta, g: g, initialState: x.h0)
        self.n = n
        sequences = cu
        self.scale = scale
        let states = cu?.count ?? b
        self.outputGradient = outputGradient ? rng.tensor([b, tokens, h, dv]) : nil
        self.finalStateGradient = finalStateGradient ? rng.tensor([states, h, dk, dv]) : nil
    }

    /// L = Σ o ⊙ dO + Σ ht ⊙ dht at `x`, from the naive forward.
    func loss(_ x: DeltaRule.Inputs<Double>) throws -> Double {
        let r = try DeltaRule.reference(
            q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, scale: scale, initialState: x.initialState,
            cuSeqlens: sequences?.offsets, numHouseholder: n)
        var l = 0.0
        if let d = outputGradient { for (a, b) in zip(r.output.scalars, d.scalars) { l += a * b } }
        if let d = finalStateGradient { for (a, b) in zip(r.finalState.scalars, d.scalars) { l += a * b } }
        return l
    }

    func backward(chunkSize: Int = DeltaRule.defaultChunkSize) throws -> DeltaRule.Inputs<Double> {
        try DeltaRule.backward(
            inputs, scale: scale, numHouseholder: n, sequences: sequences, chunkSize: chunkSize,
            outputGradient: outputGradient, finalStateGradient: finalStateGradient)
    }

    func referenceBackward() throws -> DeltaRule.Inputs<Double> {
        try DeltaRule.referenceBackward(
            inputs, scale: scale, numHouseholder: n, sequences: sequences, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient)
    }
}

/// The gradient fields by name, in a fixed order: q, k, v, beta, g, initialState (when present).
func gradientFields<T>(_ x: DeltaRule.Inputs<T>) -> [(String, Tensor<T>)] {
    var fields = [("q", x.q), ("k", x.k), ("v", x.v), ("beta", x.beta)]
    if let g = x.g { fields.append(("g", g)) }
    if let h0 = x.initialState { fields.append(("initialState", h0)) }
    return fields
}

/// `x` with field `name` replaced by `value`.
func replacing<T>(_ x: DeltaRule.Inputs<T>, _ name: String, with value: Tensor<T>) -> DeltaRule.Inputs<T> {
    var y = x
    switch name {
    case "q": y.q = value
    case "k": y.k = value
    case "v": y.v = value
    case "beta": y.beta = value
    case "g": y.g = value
    default: y.initialState = value
    }
    return y
}

/// The largest relative error over the gradient fields of `x` against `reference`, with the worst field.
func gradientError<T: LRNNScalar>(_ x: DeltaRule.Inputs<T>, _ reference: DeltaRule.Inputs<Double>) -> (
    error: Double, field: String
) {
    var worst = (error: 0.0, field: "-")
    let xs = gradientFields(x)
    let rs = gradientFields(reference)
    precondition(xs.map(\.0) == rs.map(\.0), "gradient fields \(xs.map(\.0)) vs \(rs.map(\.0))")
    for ((name, a), (_, r)) in zip(xs, rs) {
        let e = a.converted(to: Double.self).relativeError(to: r)
        if e.isNaN || e > worst.error { worst = (e, name) }
    }
    return worst
}
