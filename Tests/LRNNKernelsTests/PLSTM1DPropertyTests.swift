import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("pLSTM 1-D paths against the reference")
struct PLSTM1DPropertyTests {
    /// Random shapes: J sizes 1 and above 1, T = 0 and 1, chunk sizes below, at and above T, packed
    /// sequences with empty ones.
    static let shapes: [(String, Int, Int, Int, PLSTMSizes, [Int]?, Int)] = [
        ("scalar", 2, 9, 2, PLSTMSizes(dk: 4, dv: 3), nil, 4),
        ("matrix", 1, 11, 2, PLSTMSizes(dk: 3, dv: 2, jq: 1, jk: 1, jv: 4, jt: 4, jo: 4), nil, 3),
        ("general", 2, 7, 1, PLSTMSizes(dk: 2, dv: 3, jq: 2, jk: 2, jv: 2, jt: 2, jo: 3), nil, 5),
        ("long chunk", 1, 6, 1, PLSTMSizes(dk: 2, dv: 2, jq: 2, jk: 1, jv: 3, jt: 3, jo: 2), nil, 64),
        ("T = 0", 2, 0, 2, PLSTMSizes(dk: 2, dv: 2, jt: 2), nil, 4),
        ("T = 1", 3, 1, 1, PLSTMSizes(dk: 2, dv: 2, jq: 2, jk: 2, jv: 2, jt: 2, jo: 2), nil, 4),
        ("packed", 1, 10, 2, PLSTMSizes(dk: 3, dv: 2, jv: 2, jt: 2, jo: 2), [0, 4, 1, 0, 5], 3),
    ]

    /// chunked and recurrent match reference within 1e-10 (Float64), outputs and final states.
    @Test(arguments: 0..<7)
    func forwardPaths(index: Int) throws {
        let (name, b, t, h, sizes, lengths, chunk) = Self.shapes[index]
        var rng = SeededRandom(seed: 7100 + UInt64(index))
        let c = try PLSTM1DCase<Double>(&rng, b: b, t: t, h: h, sizes: sizes, lengths: lengths)
        let ref = try PLSTM1D.reference(c.inputs, sequences: c.sequences)
        let fast = try PLSTM1D.chunked(c.inputs, sequences: c.sequences, chunkSize: chunk)
        let rec = try PLSTM1D.recurrent(c.inputs, sequences: c.sequences)
        #expect(plstmError(fast.output, ref.output) <= 1e-10, "\(name) chunked output")
        #expect(plstmError(fast.finalState, ref.finalState) <= 1e-10, "\(name) chunked state")
        #expect(plstmError(rec.output, ref.output) <= 1e-10, "\(name) recurrent output")
        #expect(plstmError(rec.finalState, ref.finalState) <= 1e-10, "\(name) recurrent state")
        if t == 0 { #expect(ref.finalState.scalars == c.inputs.C0!.scalars, "\(name): C_last = C0 when T = 0") }
    }

    /// backward matches referenceBackward within 1e-10 (Float64), with and without each cotangent
    /// and the initial state.
    @Test(arguments: 0..<7, [0, 1, 2])
    func backwardPaths(index: Int, variant: Int) throws {
        let (name, b, t, h, sizes, lengths, chunk) = Self.shapes[index]
        var rng = SeededRandom(seed: 7200 + UInt64(index * 3 + variant))
        let c = try PLSTM1DCase<Double>(
            &rng, b: b, t: t, h: h, sizes: sizes, lengths: lengths, withInitialState: variant != 1,
            withOutputGradient: variant != 2, withFinalStateGradient: variant != 1)
        let ref = try PLSTM1D.referenceBackward(
            c.inputs, sequences: c.sequences, outputGradient: c.outputGradient,
            finalStateGradient: c.finalStateGradient)
        let fast = try PLSTM1D.backward(
            c.inputs, sequences: c.sequences, chunkSize: chunk, outputGradient: c.outputGradient,
            finalStateGradient: c.finalStateGradient)
        #expect((fast.C0 == nil) == (c.inputs.C0 == nil))
        #expect(plstm1DGradientError(fast, ref) <= 1e-10, "\(name) variant \(variant)")
    }
}
