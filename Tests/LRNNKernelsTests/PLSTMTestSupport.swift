import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport

/// The sizes of a random pLSTM case.
struct PLSTMSizes {
    var dk = 3
    var dv = 2
    var jq = 1
    var jk = 1
    var jv = 1
    var jt = 1
    var jo = 1
}

/// A random pLSTM 1-D call with its cotangents.
struct PLSTM1DCase<T: LRNNScalar> {
    var inputs: PLSTM1D.Inputs<T>
    var outputGradient: Tensor<T>?
    var finalStateGradient: Tensor<T>?
    var sequences: SequenceBoundaries?

    init(
        _ rng: inout SeededRandom, b: Int, t: Int, h: Int, sizes z: PLSTMSizes, lengths: [Int]? = nil,
        withInitialState: Bool = true, withOutputGradient: Bool = true, withFinalStateGradient: Bool = true
    ) throws {
        let n: Int
        if let lengths {
            var offsets = [0]
            for l in lengths { offsets.append(offsets.last! + l) }
            sequences = try SequenceBoundaries(offsets)
            n = lengths.count
        } else {
            sequences = nil
            n = b
        }
        // Transitions scaled so that products of many of them stay bounded.
        let tr = 0.95 / Double(z.jt)
        inputs = PLSTM1D.Inputs(
            q: rng.tensor([b, t, h, z.dk, z.jq]), k: rng.tensor([b, t, h, z.dk, z.jk]),
            v: rng.tensor([b, t, h, z.dv, z.jv]), S: rng.tensor([b, t, h, z.jt, z.jk, z.jv], 0...1),
            T: rng.tensor([b, t, h, z.jt, z.jt], -tr...tr), M: rng.tensor([b, t, h, z.jo, z.jq, z.jt], 0...1),
            D: rng.tensor([b, t, h, z.jo, z.jq, z.jk, z.jv], 0...1),
            C0: withInitialState ? rng.tensor([n, h, z.dk, z.dv, z.jt]) : nil)
        outputGradient = withOutputGradient ? rng.tensor([b, t, h, z.dv, z.jo]) : nil
        finalStateGradient = withFinalStateGradient ? rng.tensor([n, h, z.dk, z.dv, z.jt]) : nil
    }

    /// The loss `Σ y ⊙ dy + Σ C_last ⊙ dC_last` of the reference forward.
    func loss(_ x: PLSTM1D.Inputs<T>) throws -> Double {
        let r = try PLSTM1D.reference(x, sequences: sequences)
        return dotProduct(r.output, outputGradient) + dotProduct(r.finalState, finalStateGradient)
    }
}

/// `Σ a ⊙ b` in Float64 (zero for a nil cotangent).
func dotProduct<T: LRNNScalar>(_ a: Tensor<T>, _ b: Tensor<T>?) -> Double {
    guard let b else { return 0 }
    return zip(a.scalars, b.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

/// `max|x − ref| / max|ref|` (the absolute error when ref is zero), shapes first.
func plstmError<T: LRNNScalar, U: LRNNScalar>(_ x: Tensor<T>, _ ref: Tensor<U>) -> Double {
    guard x.shape == ref.shape else { return .infinity }
    var num = 0.0
    var den = 0.0
    for (a, r) in zip(x.scalars, ref.scalars) {
        let d = abs(Double(a) - Double(r))
        if d.isNaN { return .nan }
        num = max(num, d)
        den = max(den, abs(Double(r)))
    }
    return den > 0 ? num / den : num
}

/// The named tensors of a 1-D gradient, in the golden files' names.
func plstm1DFields<T: LRNNScalar>(_ g: PLSTM1D.Inputs<T>) -> [(String, Tensor<T>)] {
    var out = [("dq", g.q), ("dk", g.k), ("dv", g.v), ("dS", g.S), ("dT", g.T), ("dM", g.M), ("dD", g.D)]
    if let c0 = g.C0 { out.append(("dC0", c0)) }
    return out
}

/// The largest error over the matching fields of two 1-D gradients (infinity when presence differs).
func plstm1DGradientError<T: LRNNScalar, U: LRNNScalar>(_ a: PLSTM1D.Inputs<T>, _ b: PLSTM1D.Inputs<U>) -> Double {
    let fa = plstm1DFields(a)
    let fb = plstm1DFields(b)
    guard fa.count == fb.count else { return .infinity }
    return zip(fa, fb).map { plstmError($0.1, $1.1) }.max() ?? 0
}
