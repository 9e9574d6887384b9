import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Arguments a caller may pass that are legal but extreme (no sequences, a chunk size beyond the
/// sequence, a Householder count whose T·n overflows): a result or a typed error, never a trap.
@Suite("Kernel extreme arguments")
struct KernelExtremeArgumentTests {
    @Test func deltaRuleHouseholderCountOverflowingTokensIsAnArgumentError() {
        var rng = SeededRandom(seed: 4100)
        let x = DeltaRuleInputs<Double>(
            batch: 1, tokens: 5, heads: 2, keyDim: 4, valueDim: 3, householder: 1, gated: false,
            initialState: false, rng: &rng)
        let inputs = DeltaRule.Inputs(q: x.q, k: x.k, v: x.v, beta: x.beta)
        let expected = KernelError.invalidArgument(
            name: "numHouseholder", reason: "T·n overflows Int: T = 5, n = \(Int.max)")
        #expect(throws: expected) { try DeltaRule.chunked(inputs, numHouseholder: Int.max) }
        #expect(throws: expected) {
            try DeltaRule.backward(inputs, numHouseholder: Int.max, outputGradient: nil, finalStateGradient: nil)
        }
    }

    @Test func glaWithNoSequencesReturnsEmptyResults() throws {
        var rng = SeededRandom(seed: 4101)
        let x = GLAInputs<Double>(&rng, b: 0, t: 3, h: 2, dk: 4, dv: 3, decay: -0.5...0.0)
        let r = try GLA.chunked(GLA.Inputs(q: x.q, k: x.k, v: x.v, gk: x.gk))
        #expect(r.output.shape == [0, 3, 2, 3])
        #expect(r.finalState.shape == [0, 2, 4, 3])
    }

    @Test(arguments: [nil, [0, 30, 30, 70]] as [[Int]?])
    func glaChunkLongerThanEverySequenceMatchesTheReference(offsets: [Int]?) throws {
        var rng = SeededRandom(seed: 4102)
        let x = GLAInputs<Double>(&rng, b: 1, t: 70, h: 2, dk: 4, dv: 3, decay: -0.5...0.0)
        let n = offsets.map { $0.count - 1 } ?? 1
        let inputs = GLA.Inputs(q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: rng.tensor([n, 2, 4, 3]))
        let sequences = try offsets.map { try SequenceBoundaries($0) }
        let dO: Tensor<Double> = rng.tensor([1, 70, 2, 3])
        let dS: Tensor<Double> = rng.tensor([n, 2, 4, 3])
        let fast = try GLA.chunked(inputs, sequences: sequences, chunkSize: Int.max)
        let naive = try GLA.reference(inputs, sequences: sequences)
        #expect(maxAbsDifference(fast.output, naive.output) <= 1e-10)
        #expect(maxAbsDifference(fast.finalState, naive.finalState) <= 1e-10)
        let g = try GLA.backward(
            inputs, sequences: sequences, chunkSize: Int.max, outputGradient: dO, finalStateGradient: dS)
        let gNaive = try GLA.referenceBackward(
            inputs, sequences: sequences, outputGradient: dO, finalStateGradient: dS)
        for (a, b) in [(g.q, gNaive.q), (g.k, gNaive.k), (g.v, gNaive.v), (g.gk, gNaive.gk)] {
            #expect(maxAbsDifference(a, b) <= 1e-10)
        }
        #expect(maxAbsDifference(g.initialState!, gNaive.initialState!) <= 1e-10)
    }
}
