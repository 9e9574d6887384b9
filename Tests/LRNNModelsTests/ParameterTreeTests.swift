import Foundation
import LRNNLinearAlgebra
import LRNNModels
import Testing

/// `parameters()` and `updating(parameters:)`: one parameter tree, verified as a checkpoint is.
@Suite struct ParameterTreeTests {
    let ids = [[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9]]

    @Test(arguments: TinyModels.all.map(\.0))
    func parametersAreTheWrittenCheckpointKeys(_ name: String) throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name)])
        let p = m.parameters()
        #expect(Set(p.keys) == Set(try SafeTensorsFile(bytes: m.checkpointWriter().serialized()).names))
        #expect(p.count == m.namedParameters.count)
        for (k, v) in m.namedParameters { #expect(p[k] == v) }
    }

    @Test func tiedEmbeddingsAppearOnce() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.deltaNet], tie: true)
        let p = m.parameters()
        #expect(p["lm_head.weight"] == nil)
        #expect(p["model.embeddings.weight"] != nil)
    }

    @Test(arguments: TinyModels.all.map(\.0))
    func updatingWithOwnParametersKeepsLogits(_ name: String) throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name), TinyModels.deltaNet])
        let u = try m.updating(parameters: m.parameters())
        #expect(try u.logits(ids) == (try m.logits(ids)))
        #expect(u.namedParameters.map(\.key) == m.namedParameters.map(\.key))
    }

    @Test func updatingUsesTheNewValues() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.gla])
        let other: CausalLM<Double> = try TinyModels.model([TinyModels.gla], seed: 9)
        let u = try m.updating(parameters: other.parameters())
        #expect(try u.logits(ids) == (try other.logits(ids)))
        #expect(try u.logits(ids) != (try m.logits(ids)))
    }

    @Test func missingKeyIsNamedWithItsShape() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.deltaNet])
        var p = m.parameters()
        p["model.layers.0.attn.q_proj.weight"] = nil
        #expect(
            throws: ModelLoadError.missingKeys(
                file: "parameters", keys: [KeyShape("model.layers.0.attn.q_proj.weight", [32, 32])])
        ) {
            try m.updating(parameters: p)
        }
    }

    @Test func unexpectedKeyIsNamed() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.deltaNet])
        var p = m.parameters()
        p["model.layers.0.attn.extra"] = Tensor(zeros: [3])
        #expect(
            throws: ModelLoadError.unexpectedKeys(
                file: "parameters", keys: [KeyShape("model.layers.0.attn.extra", [3])])
        ) {
            try m.updating(parameters: p)
        }
    }

    @Test func wrongShapeIsNamed() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.deltaNet])
        var p = m.parameters()
        p["model.norm.weight"] = Tensor(zeros: [31])
        #expect(
            throws: ModelLoadError.shapeMismatch(
                file: "parameters",
                mismatches: [KeyShapeMismatch(key: "model.norm.weight", shape: [31], expected: [32])])
        ) {
            try m.updating(parameters: p)
        }
    }

    @Test func nonFiniteValueIsNamed() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.deltaNet])
        var p = m.parameters()
        p["model.norm.weight"]!.scalars[4] = .nan
        #expect(throws: ModelLoadError.nonFiniteWeights(file: "parameters", keys: ["model.norm.weight"])) {
            try m.updating(parameters: p)
        }
    }
}
