import LRNNLinearAlgebra
import LRNNModels
import Testing

/// The composable-stack example of docs/models.md (at a smaller size).
@Suite struct ComposedStackTests {
    func exampleModel() throws -> CausalLM<Float> {
        var builder = ModelBuilder(vocabSize: 100, hiddenSize: 32, eosTokenIds: [2])
        for i in 0..<4 {
            if i % 2 == 0 {
                builder.append(.gatedDeltaNet(GatedDeltaNetConfiguration(numHeads: 2, headDim: 16, expandV: 1)))
            } else {
                builder.append(.gla(GLAConfiguration(numHeads: 2)))
            }
        }
        builder.append(.s4d(S4DConfiguration(stateSize: 16)), mlp: false)
        return try builder.build(seed: 42)
    }

    @Test func docExampleBuildsAndGenerates() throws {
        let model = try exampleModel()
        #expect(model.layers.count == 5 && model.layers[4].mlp == nil)
        #expect(model.mixers.map(\.modelType) == ["gated_deltanet", "gla", "gated_deltanet", "gla", "s4d"])
        var cache = model.makeCache(batchSize: 1)
        let next = try model.prefill([[1, 17, 56]], cache: &cache)
        #expect(next.shape == [1, 100] && next.allFinite)
        let out = try model.generate(
            prompts: [[1, 17, 56]], options: GenerationOptions(maxNewTokens: 20, temperature: 0.8, seed: 1))
        #expect(!out.tokens[0].isEmpty && out.tokens[0].count <= 20)
        #expect(out.tokens[0].dropLast().allSatisfy { $0 != 2 })
        #expect(out.tokens[0].count == 20 || out.tokens[0].last == 2)
    }

    @Test func mixedStackHasNoFlaConfigAndRefusesToWrite() throws {
        let model = try exampleModel()
        #expect(model.flaConfigurationJSON() == nil)
        #expect(
            throws: ModelError.invalidArgument(
                name: "model", reason: "only a stack of one mixer type with MLPs has an fla config.json")
        ) { try model.write(to: try TinyModels.temporaryDirectory()) }
    }

    @Test func parameterKeysFollowTheBlockIndex() throws {
        let keys = try exampleModel().namedParameterList().map(\.key)
        #expect(keys.contains("model.layers.0.attn.A_log") && keys.contains("model.layers.1.attn.gk_proj.1.bias"))
        #expect(keys.contains("model.layers.4.attn.C_re") && keys.contains("model.layers.4.attn.output_linear.weight"))
        #expect(!keys.contains("model.layers.4.mlp_norm.weight"))
        #expect(Set(keys).count == keys.count)
    }
}
