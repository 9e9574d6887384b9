import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@testable import LRNNKernels

/// The training forward (`chunked(…, saving:)`) and the backward from its saved states: the
/// forward's output and final state bit-identical to the caller-owned forward's, the gradients
/// bit-identical to the recomputing backward's and equal to the reference backward (≤ 1e-10 in
/// Float64) whether every sequence, some or none were saved, and typed errors for saved values that
/// do not fit.
@Suite struct GLASavedTests {
    /// Runs the training forward with `budget` and the backward from its states.
    static func savedBackward(
        _ c: GLABackwardCase<Double>, chunkSize: Int, subChunkSize: Int, budget: Int = GLASavePlan.defaultBudget,
        saved: GLA.Saved<Double> = .init()
    ) throws -> (output: Tensor<Double>, finalState: Tensor<Double>, gradients: GLA.Inputs<Double>) {
        let inference = try GLA.chunked(
            c.inputs, scale: c.scale, sequences: c.sequences, chunkSize: chunkSize, subChunkSize: subChunkSize)
        var output = Tensor<Double>(zeros: inference.output.shape)
        var finalState = Tensor<Double>(zeros: inference.finalState.shape)
        try GLA.chunked(
            c.inputs, scale: c.scale, sequences: c.sequences, chunkSize: chunkSize, subChunkSize: subChunkSize,
            output: &output, finalState: &finalState, saving: saved, budget: budget)
        var gradients = GLA.Inputs<Double>(
            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), gk: Tensor(zeros: [0]))
        try GLA.backward(
            c.inputs, scale: c.scale, sequences: c.sequences, chunkSize: chunkSize, subChunkSize: subChunkSize,
            outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient, workspace: nil,
            gradients: &gradients, saved: saved)
        return (output, finalState, gradients)
    }

    /// Expects two gradient values to be bit-identical field by field.
    static func expectIdentical(_ a: GLA.Inputs<Double>, _ b: GLA.Inputs<Double>, _ what: String) {
        #expect(a.q.scalars == b.q.scalars, "\(what): q")
        #expect(a.k.scalars == b.k.scalars, "\(what): k")
        #expect(a.v.scalars == b.v.scalars, "\(what): v")
        #expect(a.gk.scalars == b.gk.scalars, "\(what): gk")
        #expect(a.initialState?.scalars == b.initialState?.scalars, "\(what): initialState")
    }

    /// A random case: packed or not, empty and length-1 sequences, T not a multiple of the chunk,
    /// strong decay (down to −7 per step) or mixed stretches with −∞ resets.
    static func randomCase(seed: Int) throws -> (GLABackwardCase<Double>, chunk: Int, sub: Int) {
        var rng = SeededRandom(seed: 9100 + UInt64(seed))
        let packed = seed % 2 == 0
        let h = Int.random(in: 1...3, using: &rng)
        let dk = Int.random(in: 1...9, using: &rng)
        let dv = Int.random(in: 1...7, using: &rng)
        var lengths: [Int]? = nil
        var (b, t) = (Int.random(in: 1...2, using: &rng), Int.random(in: 1...70, using: &rng))
        if packed {
            lengths = (0..<Int.random(in: 1...4, using: &rng)).map { _ in
                Int.random(in: 0...2, using: &rng) == 0
                    ? Int.random(in: 0...1, using: &rng) : Int.random(in: 2...45, using: &rng)
            }
            (b, t) = (1, lengths!.reduce(0, +))
        }
        let sizes = [(1, 1), (2, 1), (5, 2), (8, 8), (16, 4), (32, 16), (13, 5)]
        let (chunk, sub) = sizes[seed % sizes.count]
        let c = try GLABackwardCase<Double>(
            &rng, b: b, t: t, h: h, dk: dk, dv: dv, lengths: lengths,
            decay: seed % 3 == 0 ? GLABackwardPropertyTests.mixed : GLABackwardPropertyTests.strong,
            withInitialState: seed % 4 != 1, withOutputGradient: seed % 5 != 2, withFinalStateGradient: seed % 6 != 3)
        return (c, chunk, sub)
    }

    @Test(
        "every sequence saved: forward and gradients bit-identical, gradients equal referenceBackward",
        arguments: 0..<30)
    func matchesReference(_ seed: Int) throws {
        let (c, chunk, sub) = try Self.randomCase(seed: seed)
        let reference = try c.referenceBackward()
        let inference = try GLA.chunked(
            c.inputs, scale: c.scale, sequences: c.sequences, chunkSize: chunk, subChunkSize: sub)
        let recomputed = try c.backward(chunkSize: chunk, subChunkSize: sub)
        let r = try Self.savedBackward(c, chunkSize: chunk, subChunkSize: sub)
        let error = glaGradientError(r.gradients, reference)
        #expect(error <= 1e-10, "seed \(seed), chunk \(chunk)/\(sub): \(error)")
        #expect(r.output.scalars == inference.output.scalars, "seed \(seed): output")
        #expect(r.finalState.scalars == inference.finalState.scalars, "seed \(seed): final state")
        Self.expectIdentical(r.gradients, recomputed, "seed \(seed)")
    }

    @Test("some or no sequences saved under a smaller budget: the same gradients")
    func partial() throws {
        var rng = SeededRandom(seed: 9200)
        let c = try GLABackwardCase<Double>(
            &rng, b: 1, t: 41, h: 2, dk: 3, dv: 4, lengths: [23, 0, 1, 17],
            decay: GLABackwardPropertyTests.strong)
        let recomputed = try c.backward(chunkSize: 4, subChunkSize: 2)
        let reference = try c.referenceBackward()
        let p = try GLA.backwardProblem(
            c.inputs, scale: c.scale, sequences: c.sequences, outputGradient: c.outputGradient,
            finalStateGradient: c.finalStateGradient, chunking: (4, 2))
        // 12 scalars per state and per chunk's decay factors (C·K = 4·3): the first sequence (6 chunks)
        // takes 2·(7 + 6)·12 = 312, the third (1 chunk) 2·(2 + 1)·12 = 72 and the fourth (5 chunks)
        // 2·(6 + 5)·12 = 264.
        var seen: Set<[Bool]> = []
        for budget in [0, 100, 312, 400, 700, 1 << 26] {
            let plan = GLA.savePlan(p, c.inputs, chunkSize: 4, subChunkSize: 2, budget: budget)
            seen.insert(plan.saved)
            let r = try Self.savedBackward(c, chunkSize: 4, subChunkSize: 2, budget: budget)
            Self.expectIdentical(r.gradients, recomputed, "budget \(budget) (saved \(plan.saved))")
            let error = glaGradientError(r.gradients, reference)
            #expect(error <= 1e-10, "budget \(budget): \(error)")
        }
        #expect(
            seen == [
                [false, false, false, false], [false, false, true, false], [true, false, false, false],
                [true, false, true, false], [true, false, true, true],
            ])
    }

    @Test("one saved value reused for calls of different shapes, and backward called twice")
    func reuse() throws {
        let saved = GLA.Saved<Double>()
        #expect(!saved.isFilled)
        for seed in [3, 4, 5] {
            let (c, chunk, sub) = try Self.randomCase(seed: seed)
            let first = try Self.savedBackward(c, chunkSize: chunk, subChunkSize: sub, saved: saved)
            #expect(saved.isFilled)
            var again = GLA.Inputs<Double>(
                q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), gk: Tensor(zeros: [0]))
            try GLA.backward(
                c.inputs, scale: c.scale, sequences: c.sequences, chunkSize: chunk, subChunkSize: sub,
                outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient,
                workspace: BackwardWorkspace(), gradients: &again, saved: saved)
            Self.expectIdentical(again, first.gradients, "seed \(seed): second backward")
        }
    }

    @Test("a forward that finds a non-finite input leaves the saved value empty")
    func failedForward() throws {
        var rng = SeededRandom(seed: 9300)
        let c = try GLABackwardCase<Double>(
            &rng, b: 1, t: 9, h: 2, dk: 3, dv: 4, decay: GLABackwardPropertyTests.strong)
        let saved = GLA.Saved<Double>()
        _ = try Self.savedBackward(c, chunkSize: 4, subChunkSize: 2, saved: saved)
        #expect(saved.isFilled)
        var bad = c.inputs
        var values = bad.v.scalars
        values[5] = .nan
        bad.v = Tensor(shape: bad.v.shape, scalars: values)
        var output = Tensor<Double>(zeros: [1, 9, 2, 4])
        var finalState = Tensor<Double>(zeros: [1, 2, 3, 4])
        #expect(throws: KernelError.nonFinite(tensor: "v")) {
            try GLA.chunked(
                bad, scale: c.scale, chunkSize: 4, subChunkSize: 2, output: &output, finalState: &finalState,
                saving: saved)
        }
        #expect(!saved.isFilled)
    }

    @Test("saved values that do not fit the call are refused by name")
    func errors() throws {
        var rng = SeededRandom(seed: 9400)
        let c = try GLABackwardCase<Double>(
            &rng, b: 1, t: 9, h: 2, dk: 3, dv: 4, decay: GLABackwardPropertyTests.strong, withInitialState: false)
        var gradients = GLA.Inputs<Double>(
            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), gk: Tensor(zeros: [0]))
        let empty = GLA.Saved<Double>()
        #expect(
            throws: KernelError.invalidArgument(
                name: "saved", reason: "holds no values: fill it with a training forward first")
        ) {
            try GLA.backward(
                c.inputs, chunkSize: 4, subChunkSize: 2, outputGradient: c.outputGradient, finalStateGradient: nil,
                workspace: BackwardWorkspace(), gradients: &gradients, saved: empty)
        }
        let saved = GLA.Saved<Double>()
        _ = try Self.savedBackward(c, chunkSize: 4, subChunkSize: 2, saved: saved)
        let mismatch = KernelError.invalidArgument(
            name: "saved", reason: "holds the values of a forward with other shapes, boundaries or chunking")
        // Another chunk size, another sub-chunk size.
        for (chunk, sub) in [(2, 2), (4, 1)] {
            #expect(throws: mismatch) {
                try GLA.backward(
                    c.inputs, chunkSize: chunk, subChunkSize: sub, outputGradient: c.outputGradient,
                    finalStateGradient: nil, workspace: BackwardWorkspace(), gradients: &gradients, saved: saved)
            }
        }
        // An initial state the forward did not have.
        var withState = c.inputs
        withState.initialState = Tensor(zeros: [1, 2, 3, 4])
        #expect(throws: mismatch) {
            try GLA.backward(
                withState, chunkSize: 4, subChunkSize: 2, outputGradient: c.outputGradient, finalStateGradient: nil,
                workspace: BackwardWorkspace(), gradients: &gradients, saved: saved)
        }
        // Boundaries the forward did not have (the same tokens, packed as two sequences).
        #expect(throws: mismatch) {
            try GLA.backward(
                c.inputs, sequences: try SequenceBoundaries(lengths: [4, 5]), chunkSize: 4, subChunkSize: 2,
                outputGradient: c.outputGradient, finalStateGradient: nil, workspace: BackwardWorkspace(),
                gradients: &gradients, saved: saved)
        }
        // Another value width V (the same q, k and gk): its saved states would be read out of bounds.
        var rngWide = SeededRandom(seed: 9400)
        let wider = try GLABackwardCase<Double>(
            &rngWide, b: 1, t: 9, h: 2, dk: 3, dv: 64, decay: GLABackwardPropertyTests.strong,
            withInitialState: false)
        #expect(throws: mismatch) {
            try GLA.backward(
                wider.inputs, chunkSize: 4, subChunkSize: 2, outputGradient: wider.outputGradient,
                finalStateGradient: nil, workspace: BackwardWorkspace(), gradients: &gradients, saved: saved)
        }
        #expect(gradients.q.shape == [0], "gradients unchanged after a refused call")
    }
}
