import Foundation
import LRNNModels
import LRNNTool
import Testing

/// The `--json` outputs keep the keys docs/cli.md documents.
struct JSONOutputTests {
    private func object(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func generateJSONHasTheDocumentedKeys() throws {
        var builder = ModelBuilder(vocabSize: 32, hiddenSize: 16)
        builder.append(.gla(GLAConfiguration(numHeads: 2)))
        let model: CausalLM<Double> = try builder.build(seed: 3)
        let result = try model.generate(
            prompts: [[1, 2], [3]], options: GenerationOptions(maxNewTokens: 3, eosTokenIds: []))
        let request = GenerateRequest(
            modelDirectory: "models/tiny", prompts: [[1, 2], [3]], options: GenerationOptions(), precision: "f64")
        let json = try object(GenerateTool.json(request: request, result: result))
        #expect(Set(json.keys) == ["model", "precision", "tokens", "prefill", "decode"])
        #expect(json["model"] as? String == "models/tiny")
        #expect(json["precision"] as? String == "f64")
        #expect(json["tokens"] as? [[Int]] == result.tokens)
        let prefill = try #require(json["prefill"] as? [String: Any])
        #expect(Set(prefill.keys) == ["tokens", "seconds", "tokens_per_second"])
        #expect(prefill["tokens"] as? Int == 3)
        let decode = try #require(json["decode"] as? [String: Any])
        #expect(Set(decode.keys) == ["tokens", "seconds", "tokens_per_second"])
        #expect(decode["tokens"] as? Int == result.decodeTokenCount)
    }

    @Test func machineInfoJSONUsesSnakeCaseKeys() throws {
        let stored = """
            {"core": "SkylakeX", "replaced_core": "Prescott", "configuration": "OpenBLAS", \
            "parallelism": "pthreads", "threads": 2, "n": 64, "sgemm": {"1": 1.5, "all": 2.5}, \
            "dgemm": {"1": 0.5, "all": 1.0}}
            """
        let info = try JSONDecoder().decode(MachineInfo.self, from: Data(stored.utf8))
        #expect(info.replacedCore == "Prescott")
        let json = try object(info.json())
        #expect(
            Set(json.keys) == [
                "core", "replaced_core", "configuration", "parallelism", "threads", "n", "sgemm", "dgemm",
            ])
        #expect(json["replaced_core"] as? String == "Prescott")
    }
}
