import Foundation
import LRNNLinearAlgebra
import LRNNModels
import Testing

/// `parameters()`, `update(parameters:verify:)`, `updating(parameters:)` and
/// `modifyParameters(_:)`: one parameter tree, verified as a checkpoint is, written in place.
@Suite struct ParameterTreeTests {
    let ids = [[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9]]

    @Test(arguments: TinyModels.all.map(\.0))
    func parametersAreTheWrittenCheckpointKeys(_ name: String) throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name)])
        let p = m.parameters()
        #expect(Set(p.keys) == Set(try SafeTensorsFile(bytes: m.checkpointWriter().serialized()).names))
        #expect(p.count == m.namedParameterList().count)
        for (k, v) in m.namedParameterList() { #expect(p[k] == v) }
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
        #expect(u.namedParameterList().map(\.key) == m.namedParameterList().map(\.key))
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

    @Test func layersNameTheirKeysRelativeToThemselves() throws {
        let linear = Linear<Double>(weight: Tensor(zeros: [3, 2]), bias: Tensor(zeros: [3]))
        #expect(linear.namedParameterList().map(\.key) == ["weight", "bias"])
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.gatedDeltaNet])
        let block = m.layers[0].namedParameterList().map(\.key)
        #expect(block.first == "attn_norm.weight")
        #expect(block.contains("attn.A_log"))
        #expect(block.contains("mlp.down_proj.weight"))
        #expect(Set(block.map { "model.layers.0." + $0 }).isSubset(of: Set(m.parameters().keys)))
    }

    @Test(arguments: TinyModels.all.map(\.0))
    func updateInPlaceLeavesCopiesUnchanged(_ name: String) throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name)])
        let other: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name)], seed: 9)
        let before = try m.logits(ids)
        var u = m
        try u.update(parameters: other.parameters())
        #expect(try u.logits(ids) == (try other.logits(ids)))
        #expect(try m.logits(ids) == before)
        #expect(u.parameters() == other.parameters())
    }

    @Test func updateWithoutTheMissingCheckKeepsTheOtherValues() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.deltaNet])
        var u = m
        let norm = Tensor<Double>(shape: [32], scalars: (0..<32).map { 1 + Double($0) / 64 })
        try u.update(parameters: ["model.norm.weight": norm], verify: [.noUnexpectedKeys, .finiteValues])
        var expected = m.parameters()
        expected["model.norm.weight"] = norm
        #expect(u.parameters() == expected)
        #expect(
            throws: ModelLoadError.missingKeys(
                file: "parameters",
                keys: m.namedParameterList().filter { $0.key != "model.norm.weight" }.map {
                    KeyShape($0.key, $0.value.shape)
                })
        ) {
            try u.update(parameters: ["model.norm.weight": norm])
        }
    }

    @Test func failedUpdateChangesNothing() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.gla])
        var p: CausalLM<Double> = try TinyModels.model([TinyModels.gla], seed: 9)
        var given = m.parameters()
        given["model.layers.0.attn.q_proj.weight"]!.scalars[0] = .infinity
        let before = p.parameters()
        #expect(
            throws: ModelLoadError.nonFiniteWeights(file: "parameters", keys: ["model.layers.0.attn.q_proj.weight"])
        ) {
            try p.update(parameters: given)
        }
        #expect(p.parameters() == before)
        // Without the finiteness check the value is written.
        try p.update(parameters: given, verify: [.noMissingKeys, .noUnexpectedKeys])
        #expect(p.parameters()["model.layers.0.attn.q_proj.weight"]!.scalars[0] == .infinity)
    }

    @Test func tiedHeadAcceptsAStoredCopyOfTheRightShapeOnly() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.deltaNet], tie: true)
        var p = m.parameters()
        p["lm_head.weight"] = Tensor(zeros: [TinyModels.vocab, TinyModels.hidden])
        #expect(try m.updating(parameters: p).logits(ids) == (try m.logits(ids)))
        p["lm_head.weight"] = Tensor(zeros: [TinyModels.vocab, 31])
        #expect(
            throws: ModelLoadError.shapeMismatch(
                file: "parameters",
                mismatches: [
                    KeyShapeMismatch(
                        key: "lm_head.weight", shape: [TinyModels.vocab, 31],
                        expected: [TinyModels.vocab, TinyModels.hidden])
                ])
        ) {
            try m.updating(parameters: p)
        }
    }

    /// Modifying in place visits every key once and refreshes derived state (convolution taps,
    /// S4D's discretisation): the result equals a model updated with the same values.
    @Test(arguments: TinyModels.all.map(\.0))
    func modifyParametersEqualsUpdating(_ name: String) throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name)])
        var scaled = m.parameters()
        for k in scaled.keys where !k.hasSuffix("A_re") {
            scaled[k] = Tensor(shape: scaled[k]!.shape, scalars: scaled[k]!.scalars.map { $0 * 1.25 })
        }
        var u = m
        var visited: [String] = []
        u.modifyParameters { key, value in
            visited.append(key)
            if !key.hasSuffix("A_re") {
                value.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] *= 1.25 } }
            }
        }
        #expect(visited == m.namedParameterList().map(\.key))
        #expect(u.parameters() == scaled)
        #expect(try u.logits(ids) == (try m.updating(parameters: scaled).logits(ids)))
        #expect(try u.logits(ids) != (try m.logits(ids)))
        var cache = u.makeCache(batchSize: 1)
        let step = try u.prefill([Array(ids[0].prefix(3))], cache: &cache)
        let reference = try m.updating(parameters: scaled)
        var referenceCache = reference.makeCache(batchSize: 1)
        #expect(step == (try reference.prefill([Array(ids[0].prefix(3))], cache: &referenceCache)))
        #expect(
            try u.decode([ids[0][3]], cache: &cache) == (try reference.decode([ids[0][3]], cache: &referenceCache)))
    }
}
