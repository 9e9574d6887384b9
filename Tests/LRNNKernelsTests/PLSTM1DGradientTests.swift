import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Central finite differences of the reference forward's loss against both backward paths (Float64).
@Suite("pLSTM 1-D backward finite differences")
struct PLSTM1DGradientTests {
    nonisolated(unsafe) static let fields: [(String, WritableKeyPath<PLSTM1D.Inputs<Double>, Tensor<Double>>)] = [
        ("q", \.q), ("k", \.k), ("v", \.v), ("S", \.S), ("T", \.T), ("M", \.M), ("D", \.D),
    ]

    /// Every element of every input (and C0) against both backward paths, on a general case (J sizes
    /// above 1, an initial state, both cotangents) and on packed sequences.
    @Test(arguments: [false, true])
    func finiteDifferences(packed: Bool) throws {
        var rng = SeededRandom(seed: packed ? 7301 : 7300)
        let c = try PLSTM1DCase<Double>(
            &rng, b: packed ? 1 : 2, t: 5, h: 1,
            sizes: PLSTMSizes(dk: 2, dv: 2, jq: 2, jk: 2, jv: 2, jt: 2, jo: 2), lengths: packed ? [2, 0, 3] : nil)
        let fast = try PLSTM1D.backward(
            c.inputs, sequences: c.sequences, chunkSize: 2, outputGradient: c.outputGradient,
            finalStateGradient: c.finalStateGradient)
        let ref = try PLSTM1D.referenceBackward(
            c.inputs, sequences: c.sequences, outputGradient: c.outputGradient,
            finalStateGradient: c.finalStateGradient)
        let h = 1e-5
        func fd(_ perturb: (inout PLSTM1D.Inputs<Double>, Double) -> Void) throws -> Double {
            var plus = c.inputs
            perturb(&plus, h)
            var minus = c.inputs
            perturb(&minus, -h)
            return (try c.loss(plus) - c.loss(minus)) / (2 * h)
        }
        for (name, field) in Self.fields {
            var numeric = c.inputs[keyPath: field]
            for i in 0..<numeric.count {
                numeric.scalars[i] = try fd { $0[keyPath: field].scalars[i] += $1 }
            }
            #expect(plstmError(fast[keyPath: field], numeric) <= 1e-7, "d\(name) backward")
            #expect(plstmError(ref[keyPath: field], numeric) <= 1e-7, "d\(name) referenceBackward")
        }
        var numeric = c.inputs.C0!
        for i in 0..<numeric.count { numeric.scalars[i] = try fd { $0.C0!.scalars[i] += $1 } }
        #expect(plstmError(try #require(fast.C0), numeric) <= 1e-7, "dC0 backward")
        #expect(plstmError(try #require(ref.C0), numeric) <= 1e-7, "dC0 referenceBackward")
    }
}
