import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("S5 backward: central finite differences (Float64)")
struct S5BackwardGradientTests {
    /// Every input of a tiny call, both backward paths, against central differences of the
    /// library's forward (≤ 1e-7 relative per field).
    func check(
        _ x: S5.Inputs<Double>, _ disc: SSMDiscretization, sequences: SequenceBoundaries?, chunk: Int, seed: UInt64
    ) throws {
        let n = sequences?.count ?? x.u.shape[0]
        let (dy, df) = randomCotangents(like: x.u, stateShape: [n, x.parameters.states], seed: seed)
        let paths = [
            (
                "reference",
                try S5.referenceBackward(
                    x, discretization: disc, sequences: sequences, outputGradient: dy, finalStateGradient: df)
            ),
            (
                "chunk",
                try S5.backward(
                    x, discretization: disc, sequences: sequences, chunkSize: chunk, outputGradient: dy,
                    finalStateGradient: df)
            ),
        ]
        for (path, g) in paths {
            let errors = try finiteDifferenceError(
                fields: s5Fields(x), names: s5FieldNames, gradient: s5Fields(g)
            ) { f in
                try s5Loss(s5Inputs(f, like: x), disc, sequences: sequences, dy: dy, df: df)
            }
            for (name, e) in errors { #expect(e <= 1e-7, "\(path) \(disc) \(name): \(e)") }
        }
    }

    @Test("batch of two, conjugate-symmetric, initial and final state", arguments: SSMDiscretization.allCases)
    func batch(_ disc: SSMDiscretization) throws {
        let x = try randomS5Inputs(
            batch: 2, length: 9, channels: 3, states: 4, sequences: nil, initialState: true, conjugateSymmetric: true,
            seed: 17, logStep: -2...(-0.5))
        try check(x, disc, sequences: nil, chunk: 4, seed: 18)
    }

    @Test("packed sequences with an empty and a length-1 sequence, full states", arguments: SSMDiscretization.allCases)
    func packed(_ disc: SSMDiscretization) throws {
        let sequences = try SequenceBoundaries(lengths: [6, 0, 1, 5])
        let x = try randomS5Inputs(
            batch: 1, length: 12, channels: 2, states: 3, sequences: 4, initialState: true, conjugateSymmetric: false,
            seed: 19, logStep: -2...(-0.5))
        try check(x, disc, sequences: sequences, chunk: 3, seed: 20)
    }
}
