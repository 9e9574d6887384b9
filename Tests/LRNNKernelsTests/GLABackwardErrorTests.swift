import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("GLA backward validation")
struct GLABackwardErrorTests {
    static func makeCase() throws -> GLABackwardCase<Double> {
        var rng = SeededRandom(seed: 4500)
        return try GLABackwardCase(
            &rng, b: 1, t: 5, h: 2, dk: 3, dv: 4, lengths: [2, 3], decay: { $0.uniform(-1...0) })
    }

    /// Both paths refuse a cotangent of the wrong shape, naming it and the expected shape.
    @Test(arguments: [false, true])
    func wrongCotangentShapes(reference: Bool) throws {
        var c = try Self.makeCase()
        c.outputGradient = Tensor(zeros: [1, 5, 2, 3])
        #expect(
            throws: KernelError.shapeMismatch(tensor: "outputGradient", shape: [1, 5, 2, 3], expected: "[1, 5, 2, 4]")
        ) {
            try reference ? c.referenceBackward() : c.backward()
        }
        c = try Self.makeCase()
        c.finalStateGradient = Tensor(zeros: [1, 2, 3, 4])
        #expect(
            throws: KernelError.shapeMismatch(
                tensor: "finalStateGradient", shape: [1, 2, 3, 4], expected: "[2, 2, 3, 4]")
        ) {
            try reference ? c.referenceBackward() : c.backward()
        }
    }

    /// Both paths refuse NaN and ±∞ in the cotangents, naming them; inputs are checked first.
    @Test(arguments: [false, true])
    func nonFiniteCotangents(reference: Bool) throws {
        for bad in [Double.nan, .infinity, -.infinity] {
            var c = try Self.makeCase()
            c.outputGradient!.scalars[17] = bad
            #expect(throws: KernelError.nonFinite(tensor: "outputGradient")) {
                try reference ? c.referenceBackward() : c.backward()
            }
            c = try Self.makeCase()
            c.finalStateGradient!.scalars[30] = bad
            #expect(throws: KernelError.nonFinite(tensor: "finalStateGradient")) {
                try reference ? c.referenceBackward() : c.backward()
            }
            c.inputs.v.scalars[3] = bad
            #expect(throws: KernelError.nonFinite(tensor: "v")) {
                try reference ? c.referenceBackward() : c.backward()
            }
        }
    }

    /// The inputs' own errors: a positive log decay, boundaries that do not end at T, and chunk sizes.
    @Test func inputErrors() throws {
        var c = try Self.makeCase()
        c.inputs.gk.scalars[7] = 0.5
        #expect(throws: KernelError.invalidArgument(name: "gk", reason: "log-decays must be ≤ 0, found 0.5")) {
            try c.backward()
        }
        c = try Self.makeCase()
        c.sequences = try SequenceBoundaries([0, 2, 4])
        #expect(throws: KernelError.invalidSequenceBoundaries(reason: "must end at the packed length 5, ends at 4")) {
            try c.referenceBackward()
        }
        c = try Self.makeCase()
        #expect(throws: KernelError.invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got 0")) {
            try c.backward(chunkSize: 0)
        }
        #expect(throws: KernelError.invalidArgument(name: "subChunkSize", reason: "must be ≥ 1, got -1")) {
            try c.backward(subChunkSize: -1)
        }
    }
}
