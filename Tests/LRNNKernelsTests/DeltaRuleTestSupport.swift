import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport

/// Random delta-rule inputs of one shape, as the property tests draw them.
struct DeltaRuleInputs<T: LRNNScalar> {
    var q: Tensor<T>
    var k: Tensor<T>
    var v: Tensor<T>
    var beta: Tensor<T>
    var g: Tensor<T>?
    var h0: Tensor<T>?
    var cuSeqlens: [Int]?
    var n: Int

    /// Draws inputs: L2-normalised q and k, β in (0, `maxBeta`], log decays in [−0.5, 0].
    init(
        batch b: Int, tokens t: Int, heads h: Int, keyDim dk: Int, valueDim dv: Int, householder n: Int,
        gated: Bool, initialState: Bool, maxBeta: Double = 2, cuSeqlens: [Int]? = nil,
        rng: inout SeededRandom
    ) {
        self.n = n
        q = Self.normalisedRows(rng.normalTensor([b, t, h, dk]))
        k = Self.normalisedRows(rng.normalTensor([b, t * n, h, dk]))
        v = rng.tensor([b, t * n, h, dv])
        beta = rng.tensor([b, t * n, h], 0.01...maxBeta)
        g = gated ? rng.tensor([b, t, h], -0.5...0) : nil
        let sequences = cuSeqlens.map { $0.count - 1 } ?? b
        h0 = initialState ? rng.tensor([sequences, h, dk, dv], -0.5...0.5) : nil
        self.cuSeqlens = cuSeqlens
    }

    /// Each row (last dimension) scaled to unit Euclidean norm.
    static func normalisedRows(_ x: Tensor<T>) -> Tensor<T> {
        var y = x
        let d = x.shape.last!
        if d == 0 { return y }
        for r in 0..<(x.count / d) {
            var s: T = 0
            for c in 0..<d { s += x.scalars[r * d + c] * x.scalars[r * d + c] }
            let inv = 1 / s.squareRoot()
            for c in 0..<d { y.scalars[r * d + c] *= inv }
        }
        return y
    }

    /// The kernel's inputs.
    var inputs: DeltaRule.Inputs<T> { DeltaRule.Inputs(q: q, k: k, v: v, beta: beta, g: g, initialState: h0) }

    /// The packed-sequence boundaries, if any.
    var sequences: SequenceBoundaries? { get throws { try cuSeqlens.map { try SequenceBoundaries($0) } } }

    func chunked(chunkSize: Int = DeltaRule.defaultChunkSize) throws -> (output: Tensor<T>, finalState: Tensor<T>) {
        try DeltaRule.chunked(inputs, numHouseholder: n, sequences: sequences, chunkSize: chunkSize)
    }

    func recurrent() throws -> (output: Tensor<T>, finalState: Tensor<T>) {
        try DeltaRule.recurrent(inputs, numHouseholder: n, sequences: sequences)
    }

    func reference() throws -> (output: Tensor<T>, finalState: Tensor<T>) {
        try DeltaRule.reference(inputs, numHouseholder: n, sequences: sequences)
    }
}

/// `max|x − y|` over all elements (shapes must agree).
func maxAbsDifference<T: LRNNScalar>(_ x: Tensor<T>, _ y: Tensor<T>) -> Double {
    precondition(x.shape == y.shape, "maxAbsDifference: \(x.shape) vs \(y.shape)")
    var m = 0.0
    for (a, b) in zip(x.scalars, y.scalars) {
        let d = abs(Double(a) - Double(b))
        if d.isNaN { return .nan }
        m = max(m, d)
    }
    return m
}
