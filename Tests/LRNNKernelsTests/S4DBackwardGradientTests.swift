import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("S4D backward: central finite differences (Float64)")
struct S4DBackwardGradientTests {
    /// Every input of a tiny call, both backward paths, against central differences of the
    /// library's forward (≤ 1e-7 relative per field).
    func check(
        _ x: S4D.Inputs<Double>, _ disc: SSMDiscretization, sequences: SequenceBoundaries?, chunk: Int, seed: UInt64
    ) throws {
        let n = sequences?.count ?? x.u.shape[0]
        let (dy, df) = randomCotangents(
            like: x.u, stateShape: [n, x.parameters.channels, x.parameters.modes], seed: seed)
        let paths = [
            (
                "reference",
                try S4D.referenceBackward(
                    x, discretization: disc, sequences: sequences, outputGradient: dy, finalStateGradient: df)
            ),
            (
                "chunk",
                try S4D.backward(
                    x, discretization: disc, sequences: sequences, chunkSize: chunk, outputGradient: dy,
                    finalStateGradient: df)
            ),
        ]
        for (path, g) in paths {
            let errors = try finiteDifferenceError(
                fields: s4dFields(x), names: s4dFieldNames, gradient: s4dFields(g)
            ) { f in
                try s4dLoss(s4dInputs(f, like: x), disc, sequences: sequences, dy: dy, df: df)
            }
            for (name, e) in errors { #expect(e <= 1e-7, "\(path) \(disc) \(name): \(e)") }
        }
    }

    @Test("batch of two, initial and final state", arguments: SSMDiscretization.allCases)
    func batch(_ disc: SSMDiscretization) throws {
        let x = try randomS4DInputs(
            batch: 2, length: 9, channels: 2, modes: 3, sequences: nil, initialState: true, seed: 7, logDt: -2...(-0.5))
        try check(x, disc, sequences: nil, chunk: 4, seed: 8)
    }

    @Test("packed sequences with an empty and a length-1 sequence", arguments: SSMDiscretization.allCases)
    func packed(_ disc: SSMDiscretization) throws {
        let sequences = try SequenceBoundaries(lengths: [5, 0, 1, 7])
        let x = try randomS4DInputs(
            batch: 1, length: 13, channels: 2, modes: 2, sequences: 4, initialState: true, seed: 9, logDt: -2...(-0.5))
        try check(x, disc, sequences: sequences, chunk: 3, seed: 10)
    }
}
