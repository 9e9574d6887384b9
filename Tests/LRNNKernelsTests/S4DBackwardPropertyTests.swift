import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("S4D backward: chunked equals the reference backward")
struct S4DBackwardPropertyTests {
    @Test("random shapes, chunk sizes, both discretisations (Float64, ≤ 1e-10)", arguments: 0..<12)
    func chunkedMatchesReference(_ seed: Int) throws {
        var r = SeededRandom(seed: UInt64(100 + seed))
        let disc = SSMDiscretization.allCases[seed % 2]
        let packed = seed % 3 == 2
        let h = 1 + Int(r.next() % 5)
        let n2 = 1 + Int(r.next() % 6)
        let lengths = (0..<(1 + Int(r.next() % 4))).map { _ in Int(r.next() % 40) }
        let b = packed ? 1 : 1 + Int(r.next() % 3)
        let t = packed ? lengths.reduce(0, +) : 1 + Int(r.next() % 70)
        let sequences = packed ? try SequenceBoundaries(lengths: lengths) : nil
        let n = sequences?.count ?? b
        let x = try randomS4DInputs(
            batch: b, length: t, channels: h, modes: n2, sequences: sequences?.count, initialState: seed % 4 != 1,
            seed: UInt64(seed))
        let (dy, df) = randomCotangents(like: x.u, stateShape: [n, h, n2], seed: UInt64(seed + 50))
        let withDy = seed % 5 != 3
        let withDf = seed % 2 == 0
        let chunk = [1, 3, 8, 16, 64][seed % 5]
        let ref = try S4D.referenceBackward(
            x, discretization: disc, sequences: sequences, outputGradient: withDy ? dy : nil,
            finalStateGradient: withDf ? df : nil)
        let got = try S4D.backward(
            x, discretization: disc, sequences: sequences, chunkSize: chunk, outputGradient: withDy ? dy : nil,
            finalStateGradient: withDf ? df : nil)
        #expect((got.initialState == nil) == (x.initialState == nil))
        for (name, e) in fieldErrors(s4dFields(got), s4dFields(ref), names: s4dFieldNames) {
            #expect(e <= 1e-10, "\(name): \(e) (B=\(b) T=\(t) H=\(h) N2=\(n2) C=\(chunk) \(disc) \(lengths))")
        }
    }
}
