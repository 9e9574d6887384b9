import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// The public fla model cases: logits in both precisions and exact greedy generation.
@Suite(.enabled(if: Golden.isAvailable, Golden.skipMessage))
struct GoldenModelTests {
    static let cases = [
        "model_delta_net", "model_gated_deltanet", "model_gated_deltaproduct", "model_gla",
        // Hybrids: softmax-attention layers (fla's `attn`) between the recurrent ones.
        "model_delta_net_hybrid", "model_gated_deltanet_hybrid", "model_gla_hybrid_swa",
    ]

    func golden(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: Golden.path(name) + "/golden.safetensors")
    }

    func inputRows(_ g: SafeTensorsFile) throws -> [[Int]] {
        let ids = try g.integerTensor("input_ids")
        let t = ids.shape[1]
        return (0..<ids.shape[0]).map { Array(ids.scalars[($0 * t)..<(($0 + 1) * t)]) }
    }

    func logitsError<T: LRNNScalar>(_ name: String, _: T.Type) throws -> Double {
        let g = try golden(name)
        let model = try CausalLM<T>.load(directory: Golden.path(name))
        let logits = try model.logits(try inputRows(g))
        let ref = try g.tensor("logits", as: Double.self)
        #expect(logits.shape == ref.shape)
        return logits.converted(to: Double.self).relativeError(to: ref)
    }

    @Test(arguments: cases)
    func logitsFloat64(_ name: String) throws {
        let err = try logitsError(name, Double.self)
        #expect(err <= 1e-5, "\(name) Float64 logits error \(err)")
    }

    @Test(arguments: cases)
    func logitsFloat32(_ name: String) throws {
        let err = try logitsError(name, Float.self)
        #expect(err <= 1e-4, "\(name) Float32 logits error \(err)")
    }

    @Test(arguments: cases)
    func greedyGenerationIsExact(_ name: String) throws {
        let g = try golden(name)
        let prompt = try g.integerTensor("prompt_ids").scalars
        let expected = try g.integerTensor("generated_ids").scalars
        for precision in ["f32", "f64"] {
            let tokens: [Int]
            if precision == "f32" {
                tokens = try CausalLM<Float>.load(directory: Golden.path(name))
                    .generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: 12)).tokens[0]
            } else {
                tokens = try CausalLM<Double>.load(directory: Golden.path(name))
                    .generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: 12)).tokens[0]
            }
            #expect(prompt + tokens == expected, "\(name) \(precision): generated \(tokens)")
        }
    }

    @Test func goldenConfigurationsDecodeWithTheirFields() throws {
        let c = try ModelConfiguration.load(path: Golden.path("model_gated_deltaproduct") + "/config.json")
        #expect(c.model.hiddenSize == 64 && c.model.vocabSize == 97 && c.model.resolvedIntermediateSize == 128)
        #expect(c.model.eosTokenIds == [2])
        guard case let .gatedDeltaProduct(m) = c.mixer else {
            Issue.record("expected gated_deltaproduct, got \(c.mixer)")
            return
        }
        #expect(m.numHouseholder == 2 && m.useForgetGate && m.allowNegEigval && m.headDim == 32)
    }

    @Test func hybridConfigurationsPlaceTheirAttentionLayers() throws {
        let swa = try ModelConfiguration.load(path: Golden.path("model_gla_hybrid_swa") + "/config.json")
        #expect(
            swa.model.attention == [
                AttentionConfiguration(
                    layers: [0, 2], numHeads: 4, numKVHeads: 1, qkvBias: true, windowSize: 8, ropeTheta: 500)
            ])
        let model = try CausalLM<Float>.load(directory: Golden.path("model_gla_hybrid_swa"))
        #expect(model.mixers.map(\.modelType) == ["attn", "gla", "attn"])
        let gdn = try ModelConfiguration.load(path: Golden.path("model_gated_deltanet_hybrid") + "/config.json")
        #expect(gdn.model.attention.map(\.layers) == [[1]] && gdn.model.attention[0].kvHeads == 2)
    }
}
