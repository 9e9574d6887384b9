import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@testable import LRNNKernels

/// The training forward (`chunked(…, saving:)`) and the backward from its saved values: the
/// forward's output within rounding of the inference forward's, the gradients equal to the
/// reference backward (≤ 1e-10 in Float64) whether every chunk, part of them or only the
/// checkpoints of several segments were saved, and typed errors for saved values that do not fit.
@Suite struct DeltaRuleSavedTests {
    /// Runs the training forward and the backward from its values with the given budgets.
    static func savedBackward(
        _ c: DeltaRuleBackwardCase, chunkSize: Int, budget: Int = DeltaRuleSavePlan.defaultBudget,
        stateBudget: Int = DeltaRule.backwardStateBudget, stateInterval: Int? = nil,
        saved: DeltaRule.Saved<Double> = .init()
    ) throws -> (output: Tensor<Double>, finalState: Tensor<Double>, gradients: DeltaRule.Inputs<Double>) {
        let inference = try DeltaRule.chunked(
            c.inputs, scale: c.scale, numHouseholder: c.n, sequences: c.sequences, chunkSize: chunkSize)
        var output = Tensor<Double>(zeros: inference.output.shape)
        var finalState = Tensor<Double>(zeros: inference.finalState.shape)
        try DeltaRule.chunked(
            c.inputs, scale: c.scale, numHouseholder: c.n, sequences: c.sequences, chunkSize: chunkSize,
            output: &output, finalState: &finalState, saving: saved, budget: budget, stateBudget: stateBudget,
            stateInterval: stateInterval)
        var gradients = DeltaRule.Inputs<Double>(
            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), beta: Tensor(zeros: [0]))
        try DeltaRule.backward(
            c.inputs, scale: c.scale, numHouseholder: c.n, sequences: c.sequences, chunkSize: chunkSize,
            outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient, workspace: nil,
            gradients: &gradients, saved: saved, stateBudget: stateBudget)
        return (output, finalState, gradients)
    }

    /// The largest |a − b| / max(1, |b|) over two tensors.
    static func relativeError(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
        zip(a.scalars, b.scalars).map { abs($0 - $1) / Swift.max(1, abs($1)) }.max() ?? 0
    }

    @Test("every chunk saved: the gradients equal referenceBackward over random shapes", arguments: 0..<40)
    func matchesReference(_ seed: Int) throws {
        let (c, chunkSize) = try DeltaRuleBackwardPropertyTests.randomCase(seed: UInt64(seed))
        let reference = try c.referenceBackward()
        let inference = try DeltaRule.chunked(
            c.inputs, scale: c.scale, numHouseholder: c.n, sequences: c.sequences, chunkSize: chunkSize)
        let r = try Self.savedBackward(c, chunkSize: chunkSize)
        let e = gradientError(r.gradients, reference)
        #expect(e.error <= 1e-10, "seed \(seed), chunk \(chunkSize): \(e.error) in \(e.field)")
        #expect(Self.relativeError(r.output, inference.output) <= 1e-12, "seed \(seed): output")
        #expect(Self.relativeError(r.finalState, inference.finalState) <= 1e-12, "seed \(seed): final state")
    }

    @Test("part of the chunks saved, several segments: the same gradients")
    func partialAndSegments() throws {
        for (seed, n) in [(1, 1), (2, 2)] {
            let c = try DeltaRuleBackwardCase(
                batch: 1, tokens: 0, heads: 2, keyDim: 3, valueDim: 4, n: n, gated: true, initialState: true,
                gates: -7...0, lengths: [23, 0, 1, 17], seed: UInt64(seed))
            let reference = try c.referenceBackward()
            let p = try DeltaRule.validateBackward(
                c.inputs, chunkSize: 1, numHouseholder: n, sequences: c.sequences, outputGradient: c.outputGradient,
                finalStateGradient: c.finalStateGradient)
            // 12 scalars per state: a state budget of 2 or 3 states cuts a sequence into segments of 2
            // or 3 chunks; the save budget keeps all, some or none of the last segments' chunks.
            // Blocks of 1 (the gated default) and 3 saved chunks (one state kept per block).
            for (stateBudget, interval) in [(12, 1), (36, 1), (1 << 22, 1), (12, 3), (36, 3), (1 << 22, 3)] {
                for budget in [0, 150, 600, 1 << 26] {
                    let plan = DeltaRule.savePlan(
                        p, c.inputs, sequences: c.sequences, chunkSize: 2 * n, budget: budget,
                        stateBudget: stateBudget, stateInterval: interval)
                    let r = try Self.savedBackward(
                        c, chunkSize: 2 * n, budget: budget, stateBudget: stateBudget, stateInterval: interval)
                    let e = gradientError(r.gradients, reference)
                    #expect(
                        e.error <= 1e-10,
                        "n \(n), state budget \(stateBudget), interval \(interval), budget \(budget) (first saved \(plan.firstSaved)): \(e.error) in \(e.field)"
                    )
                }
            }
        }
    }

    @Test("blocks of saved chunks: one state kept per block, the others recomputed, resets inside")
    func blocks() throws {
        // The ungated default, for the gated path too (whose default keeps every state).
        let interval = DeltaRuleSavePlan.ungatedStateInterval
        for (seed, n, gated) in [(11, 1, false), (12, 1, true), (13, 2, true)] {
            // 3 full blocks and a partial one of chunks of 2 tokens, and a sequence shorter than a block.
            let lengths = [2 * (3 * interval + 3), 5]
            var c = try DeltaRuleBackwardCase(
                batch: 1, tokens: 0, heads: 2, keyDim: 3, valueDim: 4, n: n, gated: gated, initialState: true,
                gates: -2...0, lengths: lengths, seed: UInt64(seed))
            if gated, var g = c.inputs.g {
                // Resets in the first block and at the start of a later one.
                g.scalars[2 * 3 + 1] = -.infinity
                g.scalars[2 * (2 * interval) * 2] = -1e30
                c.inputs.g = g
            }
            let reference = try c.referenceBackward()
            let p = try DeltaRule.validateBackward(
                c.inputs, chunkSize: 2 * n, numHouseholder: n, sequences: c.sequences, outputGradient: c.outputGradient,
                finalStateGradient: c.finalStateGradient)
            let plan = DeltaRule.savePlan(
                p, c.inputs, sequences: c.sequences, chunkSize: 2 * n, budget: DeltaRuleSavePlan.defaultBudget,
                stateBudget: DeltaRule.backwardStateBudget, stateInterval: interval)
            #expect(plan.savedChunks == [3 * interval + 3, 3])
            #expect(plan.blockStates == [4, 1])
            let byDefault = DeltaRule.savePlan(
                p, c.inputs, sequences: c.sequences, chunkSize: 2 * n, budget: DeltaRuleSavePlan.defaultBudget,
                stateBudget: DeltaRule.backwardStateBudget)
            #expect(byDefault.blockStates == (gated ? [3 * interval + 3, 3] : [4, 1]))
            let r = try Self.savedBackward(c, chunkSize: 2 * n, stateInterval: interval)
            let e = gradientError(r.gradients, reference)
            #expect(e.error <= 1e-10, "seed \(seed), n \(n): \(e.error) in \(e.field)")
        }
    }

    @Test("one saved value reused for calls of different shapes, and backward called twice")
    func reuse() throws {
        let saved = DeltaRule.Saved<Double>()
        #expect(!saved.isFilled)
        for seed in [3, 4, 5] {
            let (c, chunkSize) = try DeltaRuleBackwardPropertyTests.randomCase(seed: UInt64(seed))
            let reference = try c.referenceBackward()
            let first = try Self.savedBackward(c, chunkSize: chunkSize, saved: saved)
            #expect(saved.isFilled)
            var again = DeltaRule.Inputs<Double>(
                q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), beta: Tensor(zeros: [0]))
            try DeltaRule.backward(
                c.inputs, scale: c.scale, numHouseholder: c.n, sequences: c.sequences, chunkSize: chunkSize,
                outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient,
                workspace: BackwardWorkspace(), gradients: &again, saved: saved)
            BackwardWorkspaceTests.expectIdentical(again, first.gradients, "seed \(seed): second backward")
            let e = gradientError(first.gradients, reference)
            #expect(e.error <= 1e-10, "seed \(seed): \(e.error) in \(e.field)")
        }
    }

    @Test("saved values that do not fit the call are refused by name")
    func errors() throws {
        let c = try DeltaRuleBackwardCase(
            batch: 1, tokens: 9, heads: 2, keyDim: 3, valueDim: 4, n: 1, gated: true, initialState: false, seed: 7)
        var gradients = DeltaRule.Inputs<Double>(
            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), beta: Tensor(zeros: [0]))
        let empty = DeltaRule.Saved<Double>()
        #expect(
            throws: KernelError.invalidArgument(
                name: "saved", reason: "holds no values: fill it with a training forward first")
        ) {
            try DeltaRule.backward(
                c.inputs, chunkSize: 4, outputGradient: c.outputGradient, finalStateGradient: nil,
                workspace: BackwardWorkspace(), gradients: &gradients, saved: empty)
        }
        let saved = DeltaRule.Saved<Double>()
        _ = try Self.savedBackward(c, chunkSize: 4, saved: saved)
        let mismatch = KernelError.invalidArgument(
            name: "saved",
            reason: "holds the values of a forward with other shapes, constants, boundaries or chunk size")
        // Another chunk size.
        #expect(throws: mismatch) {
            try DeltaRule.backward(
                c.inputs, chunkSize: 2, outputGradient: c.outputGradient, finalStateGradient: nil,
                workspace: BackwardWorkspace(), gradients: &gradients, saved: saved)
        }
        // An initial state the forward did not have.
        var withState = c.inputs
        withState.initialState = Tensor(zeros: [1, 2, 3, 4])
        #expect(throws: mismatch) {
            try DeltaRule.backward(
                withState, chunkSize: 4, outputGradient: c.outputGradient, finalStateGradient: nil,
                workspace: BackwardWorkspace(), gradients: &gradients, saved: saved)
        }
        // Another value width V (the same q and k): its saved U' rows would be read out of bounds.
        let wider = try DeltaRuleBackwardCase(
            batch: 1, tokens: 9, heads: 2, keyDim: 3, valueDim: 64, n: 1, gated: true, initialState: false, seed: 7)
        #expect(throws: mismatch) {
            try DeltaRule.backward(
                wider.inputs, chunkSize: 4, outputGradient: wider.outputGradient, finalStateGradient: nil,
                workspace: BackwardWorkspace(), gradients: &gradients, saved: saved)
        }
        #expect(gradients.q.shape == [0], "gradients unchanged after a refused call")
        // Other boundaries over the same tokens.
        let split = try SequenceBoundaries([0, 4, 9])
        #expect(throws: mismatch) {
            try DeltaRule.backward(
                c.inputs, sequences: split, chunkSize: 4, outputGradient: c.outputGradient, finalStateGradient: nil,
                workspace: BackwardWorkspace(), gradients: &gradients, saved: saved)
        }
    }

    @Test("boundaries [0, T] and no boundaries are the same call for the saved values")
    func wholeSequenceBoundaries() throws {
        let c = try DeltaRuleBackwardCase(
            batch: 1, tokens: 9, heads: 2, keyDim: 3, valueDim: 4, n: 1, gated: true, initialState: false, seed: 7)
        let saved = DeltaRule.Saved<Double>()
        let plain = try Self.savedBackward(c, chunkSize: 4, saved: saved)
        var gradients = DeltaRule.Inputs<Double>(
            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), beta: Tensor(zeros: [0]))
        try DeltaRule.backward(
            c.inputs, sequences: try SequenceBoundaries([0, 9]), chunkSize: 4, outputGradient: c.outputGradient,
            finalStateGradient: c.finalStateGradient, workspace: BackwardWorkspace(), gradients: &gradients,
            saved: saved)
        BackwardWorkspaceTests.expectIdentical(gradients, plain.gradients, "boundaries [0, 9]")
    }
}
