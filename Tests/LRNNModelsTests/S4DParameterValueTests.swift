import LRNNLinearAlgebra
import LRNNModels
import Testing

/// S4D parameter values outside the layer's domain (reachable by an optimiser step or a
/// checkpoint) are typed errors naming the key, not traps.
@Suite struct S4DParameterValueTests {
    let model: CausalLM<Double> = try! TinyModels.model([TinyModels.deltaNet, TinyModels.s4d])

    @Test func positiveRealPartIsNamed() throws {
        var p = model.parameters()
        p["model.layers.1.attn.A_re"]![0, 3] = 0.25
        #expect(
            throws: ModelLoadError.invalidParameterValue(
                file: "parameters", key: "model.layers.1.attn.A_re",
                reason: "every real part must be ≤ 0 (stable or marginally stable modes), found 0.25")
        ) {
            try model.updating(parameters: p)
        }
    }

    @Test func overflowingStepIsNamed() throws {
        var p = model.parameters()
        p["model.layers.1.attn.log_dt"]![5] = 30
        #expect(
            throws: ModelLoadError.invalidParameterValue(
                file: "parameters", key: "model.layers.1.attn.log_dt",
                reason: "must be ≤ 20 (a step of at most e^20), found 30.0")
        ) {
            try model.updating(parameters: p)
        }
    }

    @Test func nonFiniteValueIsNamed() throws {
        var p = model.parameters()
        p["model.layers.1.attn.C_im"]![1, 1] = .infinity
        #expect(throws: ModelLoadError.nonFiniteWeights(file: "parameters", keys: ["model.layers.1.attn.C_im"])) {
            try model.updating(parameters: p)
        }
    }

    @Test func aRefusedUpdateLeavesTheModelUnchanged() throws {
        var updated = model
        var p = model.parameters()
        p["model.layers.0.attn.q_proj.weight"]![0, 0] += 1  // walked before the S4D layer
        p["model.layers.1.attn.A_re"]![0, 0] = 0.5
        #expect(
            throws: ModelLoadError.invalidParameterValue(
                file: "parameters", key: "model.layers.1.attn.A_re",
                reason: "every real part must be ≤ 0 (stable or marginally stable modes), found 0.5")
        ) { try updated.update(parameters: p) }
        for (key, value) in model.parameters() {
            #expect(updated.parameters()[key]!.scalars == value.scalars, "\(key)")
        }
    }
}
