import LRNNKernels
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// The three places that used to validate `cu_seqlens` separately (the kernels' validator, GLA's
/// problem, the model's packed logits) now give the same error for the same bad list.
@Suite("cu_seqlens validation: one error for one input everywhere")
struct SequenceBoundaryValidatorTests {
    static let badLists: [(cu: [Int], reason: String)] = [
        ([0], "needs at least 2 entries, got 1"),
        ([2, 4], "must start at 0, starts at 2"),
        ([0, 3, 1, 4], "decreases at index 2: 3 then 1"),
        ([0, 2, 3], "must end at the packed length 4, ends at 3"),
        ([0, 5], "must end at the packed length 4, ends at 5"),
    ]

    @Test("KernelError.validateSequenceBoundaries, DeltaRule, GLA, S4D and CausalLM agree")
    func sameErrorEverywhere() throws {
        var rng = SeededRandom(seed: 1308)
        let t = 4
        let (q, k): (Tensor<Double>, Tensor<Double>) = (rng.tensor([1, t, 2, 3]), rng.tensor([1, t, 2, 3]))
        let v: Tensor<Double> = rng.tensor([1, t, 2, 2])
        let gk: Tensor<Double> = rng.tensor([1, t, 2, 3], -1...0)
        let beta: Tensor<Double> = rng.tensor([1, t, 2], 0.1...1)
        let model: CausalLM<Double> = try TinyModels.model([TinyModels.gla, TinyModels.s4d])
        let s4d = try S4DParameters<Double>.initialized(channels: 2, stateSize: 4, initialization: .lin, seed: 1)
        for (cu, reason) in Self.badLists {
            let expected = KernelError.invalidSequenceBoundaries(reason: reason)
            #expect(throws: expected) { _ = try KernelError.validateSequenceBoundaries(cu, total: t) }
            #expect(throws: expected) {
                _ = try DeltaRule.chunked(q: q, k: k, v: v, beta: beta, cuSeqlens: cu)
            }
            #expect(throws: expected) { _ = try GLA.chunked(q: q, k: k, v: v, gk: gk, cuSeqlens: cu) }
            #expect(throws: expected) { _ = try GLA.reference(q: q, k: k, v: v, gk: gk, cuSeqlens: cu) }
            #expect(throws: expected) {
                let boundaries = try KernelError.sequenceBoundaries(cu)
                _ = try S4D.chunked(
                    S4D.Inputs(u: rng.tensor([1, t, 2]), parameters: s4d), discretization: .zoh, sequences: boundaries)
            }
            #expect(throws: ModelError.invalidSequenceBoundaries(expected)) {
                _ = try model.logits(packed: [1, 2, 3, 4], cuSeqlens: cu)
            }
            // The value type gives the same reason.
            #expect(throws: SequenceBoundariesError(reason: reason)) { _ = try SequenceBoundaries(cu, total: t) }
        }
    }
}
