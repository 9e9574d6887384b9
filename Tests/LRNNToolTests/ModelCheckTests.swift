import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import LRNNTool
import Testing

/// `lrnn check` on model directories and the library half of `lrnn generate`.
@Suite struct ModelCheckTests {
    @Test(.enabled(if: Golden.isAvailable, Golden.skipMessage))
    func goldenModelDirectoriesPass() throws {
        let cases = try GoldenDiscovery.cases(in: [Golden.directory.path]).filter {
            if case .modelDirectory = $0 { return true }
            return false
        }
        // Hybrid models (fla's `attn` softmax-attention layers) are checked like the others.
        let hybrid = cases.filter { $0.name.contains("_hybrid") }
        #expect(cases.count >= 4 && hybrid.count >= 3)
        let report = GoldenCheck.run(cases)
        let modelLines = report.lines.filter { $0.op == "model" }
        #expect(modelLines.count == cases.count * 6)
        for l in modelLines { #expect(l.status == .pass, "\(l.name) \(l.precision) \(l.path): \(l.note ?? "")") }
        #expect(Set(modelLines.map(\.path)) == ["chunk", "cache", "generate"])
        #expect(Set(modelLines.map(\.name)).isSuperset(of: hybrid.map(\.name)))
        // The training cases inside `model_*_train` directories: loss and gradients, and the
        // AdamW trajectories, pass in both precisions.
        let trainLines = report.lines.filter { $0.op == "model_train" }
        let trainCases = cases.filter { $0.name.hasSuffix("_train") }.count
        #expect(trainCases == 4)
        #expect(trainLines.count == trainCases * 4)
        #expect(trainLines.allSatisfy { $0.name.hasSuffix("/train_golden") })
        for path in ["gradients", "trajectory"] {
            let lines = trainLines.filter { $0.path == path }
            #expect(lines.count == trainCases * 2)
            for l in lines { #expect(l.status == .pass, "\(l.name) \(path) \(l.precision): \(l.note ?? "")") }
        }
    }

    /// A training case whose gradients do not cover the checkpoint: FAIL lines naming the key.
    @Test(.enabled(if: Golden.isAvailable, Golden.skipMessage))
    func trainingCaseWithAMissingGradientFails() throws {
        let d = try ScratchDirectory()
        let (source, dir) = try copyGoldenModel(
            "model_gla_train", files: ["config.json", "model.safetensors"], into: d, as: "train")
        let golden = try SafeTensorsFile(path: source + "/train_golden.safetensors")
        var w = SafeTensorsWriter(metadata: golden.metadata)
        for n in golden.names where n != "grad.model.norm.weight" {
            if n == "input_ids" || n == "labels" {
                w.add(n, integers: try golden.integerTensor(n))
            } else {
                w.add(n, try golden.tensor(n, as: Double.self), as: .float64)
            }
        }
        try w.write(to: dir + "/train_golden.safetensors")
        let lines = GoldenCheck.run(.file(path: dir + "/train_golden.safetensors")).filter { $0.path == "gradients" }
        #expect(lines.count == 2)
        for l in lines {
            #expect(l.status == .fail)
            #expect(l.note?.hasSuffix("no grad.model.norm.weight for the parameter model.norm.weight") == true)
        }
    }

    @Test(.enabled(if: Golden.isAvailable, Golden.skipMessage))
    func unknownAttnFieldIsASkipLineNamingTheField() throws {
        let d = try ScratchDirectory()
        let (source, dir) = try copyGoldenModel(
            "model_gla_hybrid_swa", files: ["model.safetensors", "golden.safetensors"], into: d, as: "hybrid")
        var json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source + "/config.json")))
            as! [String: Any]
        var attn = json["attn"] as! [String: Any]
        attn["qk_norm"] = true
        json["attn"] = attn
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let lines = GoldenCheck.run(.modelDirectory(path: dir))
        #expect(lines.count == 1 && lines[0].status == .skip)
        #expect(lines[0].note?.hasPrefix("not implemented: attn.qk_norm = present") == true, "\(lines[0].note ?? "")")
    }

    @Test func brokenModelDirectoryFailsWithTheLoadError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lrnn-check-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let lines = GoldenCheck.run(.modelDirectory(path: dir))
        #expect(lines.count == 1 && lines[0].status == .fail)
        #expect(lines[0].note?.contains("golden.safetensors") == true || lines[0].note?.contains("model_type") == true)
    }

    @Test func promptIdsParse() throws {
        #expect(try GenerateTool.parseIds("1, 2,3") == [1, 2, 3])
        #expect(
            (#expect(throws: GenerateToolError.self) { try GenerateTool.parseIds("1,,2") })?.description
                == "--prompt-ids: '' is not an integer token id (in '1,,2')")
        #expect(
            (#expect(throws: GenerateToolError.self) { try GenerateTool.parseIds("a") })?.description
                == "--prompt-ids: 'a' is not an integer token id (in 'a')")
    }

    @Test func generateReportsLoadAndVocabularyErrorsAsOneLine() throws {
        let missing = GenerateRequest(
            modelDirectory: "/nonexistent", prompts: [[1]], options: GenerationOptions(), precision: "f32")
        do {
            _ = try GenerateTool.run(missing)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "/nonexistent: no such model directory")
        }
        let m: CausalLM<Float> = try {
            var b = ModelBuilder(vocabSize: 9, hiddenSize: 16)
            b.append(.gla(GLAConfiguration(numHeads: 2)))
            return try b.build(seed: 1)
        }()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lrnn-gen-\(UUID().uuidString)").path
        try m.write(to: dir)
        let bad = GenerateRequest(
            modelDirectory: dir, prompts: [[1, 9]], options: GenerationOptions(), precision: "f64")
        do {
            _ = try GenerateTool.run(bad)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "token id 9 is outside the vocabulary 0..<9")
        }
        let ok = GenerateRequest(
            modelDirectory: dir, prompts: [[1, 2], [3]], options: GenerationOptions(maxNewTokens: 3, eosTokenIds: []),
            precision: "f32")
        let r = try GenerateTool.run(ok)
        #expect(r.tokens.map(\.count) == [3, 3])
        let text = GenerateTool.report(r)
        #expect(text.split(separator: "\n").count == 4 && text.contains("prefill: 3 tokens"))
    }
}

@Suite struct GenerationOverridesTests {
    @Test("command-line overrides over a model's generation_config defaults")
    func overrides() {
        let file = GenerationOptions(maxNewTokens: .max, temperature: 0.7, topK: 20, topP: 0.9, maxLength: 30)
        // Unset fields keep the file's defaults.
        #expect(GenerationOverrides().applied(to: file) == file)
        // --max-new-tokens replaces max_length as well, as in transformers.
        #expect(GenerationOverrides(maxNewTokens: 5).applied(to: file).maxNewTokens == 5)
        #expect(GenerationOverrides(maxNewTokens: 5).applied(to: file).maxLength == nil)
        // --top-k 0 switches the file's top-k off; --temperature 0 is greedy.
        #expect(GenerationOverrides(topK: 0).applied(to: file).topK == nil)
        #expect(GenerationOverrides(temperature: 0).applied(to: file).temperature == 0)
        // Fully specified options replace everything.
        let explicit = GenerationOptions(maxNewTokens: 3, seed: 9)
        #expect(GenerationOverrides(explicit).applied(to: file) == explicit)
    }
}
