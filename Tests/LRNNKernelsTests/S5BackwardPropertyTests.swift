import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("S5 backward: chunked equals the reference backward")
struct S5BackwardPropertyTests {
    @Test("random shapes, chunk sizes, both discretisations (Float64, ≤ 1e-10)", arguments: 0..<12)
    func chunkedMatchesReference(_ seed: Int) throws {
        var r = SeededRandom(seed: UInt64(200 + seed))
        let disc = SSMDiscretization.allCases[seed % 2]
        let packed = seed % 3 == 2
        let h = 1 + Int(r.next() % 6)
        let p = 1 + Int(r.next() % 8)
        let lengths = (0..<(1 + Int(r.next() % 4))).map { _ in Int(r.next() % 60) }
        let b = packed ? 1 : 1 + Int(r.next() % 3)
        let t = packed ? lengths.reduce(0, +) : 1 + Int(r.next() % 90)
        let sequences = packed ? try SequenceBoundaries(lengths: lengths) : nil
        let n = sequences?.count ?? b
        let x = try randomS5Inputs(
            batch: b, length: t, channels: h, states: p, sequences: sequences?.count, initialState: seed % 4 != 1,
            conjugateSymmetric: seed % 3 != 0, seed: UInt64(seed))
        let (dy, df) = randomCotangents(like: x.u, stateShape: [n, p], seed: UInt64(seed + 50))
        let withDy = seed % 5 != 3
        let withDf = seed % 2 == 0
        // Chunk size 1 and 2 put more than one group of 16 chunks into a call.
        let chunk = [1, 2, 7, 16, 256][seed % 5]
        let ref = try S5.referenceBackward(
            x, discretization: disc, sequences: sequences, outputGradient: withDy ? dy : nil,
            finalStateGradient: withDf ? df : nil)
        let got = try S5.backward(
            x, discretization: disc, sequences: sequences, chunkSize: chunk, outputGradient: withDy ? dy : nil,
            finalStateGradient: withDf ? df : nil)
        #expect((got.initialState == nil) == (x.initialState == nil))
        #expect(got.parameters.conjugateSymmetric == x.parameters.conjugateSymmetric)
        for (name, e) in fieldErrors(s5Fields(got), s5Fields(ref), names: s5FieldNames) {
            #expect(e <= 1e-10, "\(name): \(e) (B=\(b) T=\(t) H=\(h) P=\(p) C=\(chunk) \(disc) \(lengths))")
        }
    }
}
