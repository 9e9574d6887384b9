import Foundation
import LRNNLinearAlgebra
import LRNNModels
import Testing

/// Loading fla model directories: the key mapping round trip, dtypes, shards, and every error kind.
@Suite struct CheckpointTests {
    /// A tiny delta_net checkpoint written to a fresh directory; returns the directory and model.
    func tinyCheckpoint(tie: Bool = false) throws -> (String, CausalLM<Float>) {
        let m: CausalLM<Float> = try TinyModels.model([TinyModels.deltaNet, TinyModels.deltaNet], tie: tie)
        let dir = try TinyModels.temporaryDirectory()
        try m.write(to: dir)
        return (dir, m)
    }

    func loadError(_ dir: String) -> ModelLoadError? {
        do {
            _ = try CausalLM<Float>.load(directory: dir)
            return nil
        } catch {
            return error
        }
    }

    /// Rewrites `model.safetensors` from the model's parameters, edited by `edit`.
    func rewrite(
        _ dir: String, _ m: CausalLM<Float>, edit: (inout [(key: String, value: Tensor<Float>)]) -> Void,
        extra: (inout SafeTensorsWriter) -> Void = { _ in }
    ) throws {
        var params = m.namedParameterList()
        edit(&params)
        var w = SafeTensorsWriter()
        for (k, v) in params { w.add(k, v) }
        extra(&w)
        try w.write(to: dir + "/model.safetensors")
    }

    /// Rewrites `config.json` with one field changed.
    func editConfig(_ dir: String, _ edit: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: dir + "/config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    let ids = [[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9]]

    @Test(arguments: TinyModels.fla.map(\.0))
    func writtenCheckpointLoadsWithEqualLogits(_ name: String) throws {
        let m: CausalLM<Float> = try TinyModels.model([TinyModels.mixer(name), TinyModels.mixer(name)])
        let dir = try TinyModels.temporaryDirectory()
        try m.write(to: dir)
        let loaded = try CausalLM<Float>.load(directory: dir)
        #expect(try loaded.logits(ids) == (try m.logits(ids)))
        #expect(loaded.namedParameterList().map(\.key) == m.namedParameterList().map(\.key))
    }

    @Test func keyTableOfDeltaNetLayer() throws {
        let (_, m) = try tinyCheckpoint()
        let keys = Set(m.namedParameterList().map(\.key))
        let layer = [
            "attn_norm.weight", "attn.q_proj.weight", "attn.k_proj.weight", "attn.v_proj.weight", "attn.b_proj.weight",
            "attn.g_proj.weight", "attn.o_proj.weight", "attn.q_conv1d.weight", "attn.k_conv1d.weight",
            "attn.v_conv1d.weight", "attn.o_norm.weight", "mlp_norm.weight", "mlp.gate_proj.weight",
            "mlp.up_proj.weight", "mlp.down_proj.weight",
        ]
        let expected = Set(
            ["model.embeddings.weight", "model.norm.weight", "lm_head.weight"]
                + (0..<2).flatMap { i in layer.map { "model.layers.\(i).\($0)" } })
        #expect(keys == expected)
    }

    @Test func missingKeyIsListedWithItsShape() throws {
        let (dir, m) = try tinyCheckpoint()
        try rewrite(dir, m) { $0.removeAll { $0.key == "model.layers.1.attn.q_proj.weight" } }
        #expect(
            loadError(dir)
                == .missingKeys(
                    file: dir + "/model.safetensors", keys: [KeyShape("model.layers.1.attn.q_proj.weight", [32, 32])]))
    }

    @Test func wrongShapeIsListedWithBothShapes() throws {
        let (dir, m) = try tinyCheckpoint()
        try rewrite(dir, m) { p in
            let i = p.firstIndex { $0.key == "model.layers.0.attn.b_proj.weight" }!
            p[i].value = Tensor(zeros: [3, 32])
        }
        #expect(
            loadError(dir)
                == .shapeMismatch(
                    file: dir + "/model.safetensors",
                    mismatches: [
                        KeyShapeMismatch(key: "model.layers.0.attn.b_proj.weight", shape: [3, 32], expected: [2, 32])
                    ]
                ))
    }

    @Test func unexpectedKeyIsListedWithItsShape() throws {
        let (dir, m) = try tinyCheckpoint()
        try rewrite(dir, m, edit: { _ in }) {
            $0.add("model.layers.0.attn.extra.weight", Tensor<Float>(zeros: [4, 2]))
        }
        #expect(
            loadError(dir)
                == .unexpectedKeys(
                    file: dir + "/model.safetensors", keys: [KeyShape("model.layers.0.attn.extra.weight", [4, 2])]))
    }

    @Test func integerWeightIsABadDType() throws {
        let (dir, m) = try tinyCheckpoint()
        try rewrite(dir, m, edit: { $0.removeAll { $0.key == "model.norm.weight" } }) {
            $0.add("model.norm.weight", integers: Tensor(shape: [32], repeating: 1), as: .int32)
        }
        #expect(
            loadError(dir)
                == .badDType(file: dir + "/model.safetensors", keys: [KeyDType(key: "model.norm.weight", dtype: "I32")])
        )
    }

    @Test func nonFiniteWeightsAreRefused() throws {
        let (dir, m) = try tinyCheckpoint()
        try rewrite(dir, m) { p in
            let i = p.firstIndex { $0.key == "model.layers.0.mlp.up_proj.weight" }!
            p[i].value.scalars[5] = .nan
        }
        #expect(
            loadError(dir)
                == .nonFiniteWeights(file: dir + "/model.safetensors", keys: ["model.layers.0.mlp.up_proj.weight"]))
    }

    @Test(arguments: [SafeTensorsDType.float16, .bfloat16, .float64])
    func halfAndDoubleWeightsAreConverted(_ dtype: SafeTensorsDType) throws {
        let (dir, m) = try tinyCheckpoint()
        try m.checkpointWriter(dtype: dtype).write(to: dir + "/model.safetensors")
        let loaded = try CausalLM<Double>.load(directory: dir)
        let err = try loaded.logits(ids).relativeError(to: try m.logits(ids).converted(to: Double.self))
        let tol = dtype == .float64 ? 1e-5 : (dtype == .float16 ? 1e-2 : 5e-2)
        #expect(err < tol, "\(dtype): logits error \(err)")
        #expect(err > 0 || dtype == .float64)
    }

    @Test func shardedCheckpointLoads() throws {
        let (dir, m) = try tinyCheckpoint()
        try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
        var a = SafeTensorsWriter()
        var b = SafeTensorsWriter()
        var map: [String: String] = [:]
        for (i, (k, v)) in m.namedParameterList().enumerated() {
            if i % 2 == 0 { a.add(k, v) } else { b.add(k, v) }
            map[k] = i % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors"
        }
        try a.write(to: dir + "/model-00001-of-00002.safetensors")
        try b.write(to: dir + "/model-00002-of-00002.safetensors")
        let index = dir + "/model.safetensors.index.json"
        try JSONSerialization.data(withJSONObject: ["metadata": [:] as [String: Any], "weight_map": map])
            .write(to: URL(fileURLWithPath: index))
        #expect(try CausalLM<Float>.load(directory: dir).logits(ids) == (try m.logits(ids)))

        // A key the index places in the wrong shard.
        var wrong = map
        let key = m.namedParameterList()[0].key
        wrong[key] = "model-00002-of-00002.safetensors"
        try JSONSerialization.data(withJSONObject: ["weight_map": wrong]).write(to: URL(fileURLWithPath: index))
        #expect(
            loadError(dir)
                == .shardIndexMismatch(
                    file: index, key: key, reason: "listed in 'model-00002-of-00002.safetensors' but not stored there"))

        // A shard the index names but the directory lacks.
        try FileManager.default.removeItem(atPath: dir + "/model-00001-of-00002.safetensors")
        try JSONSerialization.data(withJSONObject: ["weight_map": map]).write(to: URL(fileURLWithPath: index))
        #expect(loadError(dir) == .fileNotFound(path: dir + "/model-00001-of-00002.safetensors"))
    }

    @Test func tiedEmbeddingsUseTheEmbeddingMatrix() throws {
        let (dir, m) = try tinyCheckpoint(tie: true)
        #expect(!m.namedParameterList().contains { $0.key == "lm_head.weight" })
        let loaded = try CausalLM<Float>.load(directory: dir)
        #expect(loaded.lmHead.weight == loaded.embeddings.weight)
        #expect(try loaded.logits(ids) == (try m.logits(ids)))
        // A stored copy of the tied head is accepted (and shape-checked).
        try rewrite(dir, m, edit: { _ in }) { $0.add("lm_head.weight", Tensor<Float>(zeros: [TinyModels.vocab, 32])) }
        #expect(try CausalLM<Float>.load(directory: dir).logits(ids) == (try m.logits(ids)))
    }

    @Test func glaWithoutNormFusionReadsGNormAndGivesTheSameLogits() throws {
        let m: CausalLM<Float> = try TinyModels.model([TinyModels.glaPlain])
        let dir = try TinyModels.temporaryDirectory()
        try m.write(to: dir)
        try editConfig(dir) { $0["fuse_norm"] = false }
        #expect(
            loadError(dir)
                == .missingKeys(
                    file: dir + "/model.safetensors", keys: [KeyShape("model.layers.0.attn.g_norm.weight", [16])]))
        var w = SafeTensorsWriter()
        for (k, v) in m.namedParameterList() {
            w.add(k.replacingOccurrences(of: "g_norm_swish_gate", with: "g_norm"), v)
        }
        try w.write(to: dir + "/model.safetensors")
        let err = try CausalLM<Float>.load(directory: dir).logits(ids).relativeError(to: try m.logits(ids))
        #expect(err < 1e-6, "g_norm then o·silu(g) vs fused gated norm: \(err)")
    }

    @Test func missingFilesAreNamed() throws {
        #expect(loadError("/nonexistent/model") == .directoryNotFound(path: "/nonexistent/model"))
        let (dir, _) = try tinyCheckpoint()
        try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
        #expect(loadError(dir) == .fileNotFound(path: dir + "/model.safetensors"))
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        #expect(loadError(dir) == .fileNotFound(path: dir + "/config.json"))
    }

    @Test func malformedSafetensorsIsACheckpointError() throws {
        let (dir, _) = try tinyCheckpoint()
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        #expect(loadError(dir) == .checkpoint(.truncated(file: dir + "/model.safetensors", size: 3)))
    }

    @Test func malformedJSONNamesTheFile() throws {
        let (dir, _) = try tinyCheckpoint()
        try Data("{ \"model_type\": ".utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        guard case let .malformedJSON(file, _) = loadError(dir) else {
            Issue.record("expected malformedJSON, got \(String(describing: loadError(dir)))")
            return
        }
        #expect(file == dir + "/config.json")
    }

    @Test func wrongFieldTypeIsMalformedJSONNamingTheField() throws {
        let (dir, _) = try tinyCheckpoint()
        try editConfig(dir) { $0["hidden_size"] = "big" }
        #expect(
            loadError(dir) == .malformedJSON(file: dir + "/config.json", reason: "field 'hidden_size': expected Int"))
    }

    @Test(arguments: [
        ("use_l2warp", "true"),
        ("attnres_block_size", "2"),
        ("qk_activation", #""gelu""#),
        ("qk_norm", #""max""#),
        ("hidden_act", #""relu""#),
        ("attn_mode", #""parallel""#),
    ])
    func unsupportedFieldIsRefused(_ field: String, _ json: String) throws {
        let (dir, _) = try tinyCheckpoint()
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        try editConfig(dir) { $0[field] = value }
        guard case let .unsupportedConfiguration(file, f, _, _) = loadError(dir) else {
            Issue.record("\(field): expected unsupportedConfiguration, got \(String(describing: loadError(dir)))")
            return
        }
        #expect(file == dir + "/config.json" && f == field)
    }

    @Test func choiceFieldOfWrongTypeIsMalformedJSONNamingTheField() throws {
        let (dir, _) = try tinyCheckpoint()
        try editConfig(dir) { $0["qk_norm"] = 2 }
        #expect(
            loadError(dir) == .malformedJSON(file: dir + "/config.json", reason: "field 'qk_norm': expected String"))
    }

    @Test func unknownChoiceNamesTheAcceptedSpellings() throws {
        let (dir, _) = try tinyCheckpoint()
        try editConfig(dir) { $0["qk_activation"] = "gelu" }
        #expect(
            loadError(dir)
                == .unsupportedConfiguration(
                    file: dir + "/config.json", field: "qk_activation", value: "gelu",
                    reason: "expected silu, relu, elu or identity"))
    }

    @Test func typedConfigurationsRoundTripThroughJSON() throws {
        let configurations: [MixerConfiguration] = [
            .deltaNet(DeltaNetConfiguration(numHeads: 2, qkNorm: .sum, qkActivation: .elu, attnMode: .fusedRecurrent)),
            .gatedDeltaNet(GatedDeltaNetConfiguration(numHeads: 2, headDim: 8, outputGateActivation: .sigmoid)),
            .gla(GLAConfiguration(numHeads: 2, featureMap: .gelu, attnMode: .fusedChunk)),
            .s4d(S4DConfiguration(stateSize: 8, initialization: .legs, discretization: .bilinear)),
        ]
        for c in configurations {
            switch c {
            case let .deltaNet(x):
                #expect(try JSONDecoder().decode(DeltaNetConfiguration.self, from: JSONEncoder().encode(x)) == x)
            case let .gatedDeltaNet(x):
                #expect(try JSONDecoder().decode(GatedDeltaNetConfiguration.self, from: JSONEncoder().encode(x)) == x)
            case let .gla(x):
                #expect(try JSONDecoder().decode(GLAConfiguration.self, from: JSONEncoder().encode(x)) == x)
            case let .s4d(x):
                #expect(try JSONDecoder().decode(S4DConfiguration.self, from: JSONEncoder().encode(x)) == x)
            default: Issue.record("unexpected \(c)")
            }
        }
        let json = try JSONEncoder().encode(DeltaNetConfiguration(qkActivation: .relu, attnMode: .fusedRecurrent))
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect(object?["qk_activation"] as? String == "relu")
        #expect(object?["attn_mode"] as? String == "fused_recurrent")
    }

    @Test func unknownModelTypeIsRefused() throws {
        let (dir, _) = try tinyCheckpoint()
        try editConfig(dir) { $0["model_type"] = "mamba2" }
        #expect(loadError(dir) == .unsupportedModelType(file: dir + "/config.json", modelType: "mamba2"))
    }

    @Test func impossibleHeadCountIsInvalid() throws {
        let (dir, _) = try tinyCheckpoint()
        try editConfig(dir) { $0["num_heads"] = 3 }
        guard case let .invalidConfiguration(_, field, _) = loadError(dir) else {
            Issue.record("expected invalidConfiguration, got \(String(describing: loadError(dir)))")
            return
        }
        #expect(field.hasPrefix("key dim"))
    }

    @Test func unknownFieldsAreIgnored() throws {
        let (dir, m) = try tinyCheckpoint()
        try editConfig(dir) { $0["some_future_field"] = [1, 2] }
        #expect(try CausalLM<Float>.load(directory: dir).logits(ids) == (try m.logits(ids)))
    }

    @Test func defaultsFollowFla() throws {
        let data = Data(#"{"model_type": "gated_deltanet"}"#.utf8)
        let c = try ModelConfiguration.parse(data, file: "config.json")
        #expect(c.model.numHiddenLayers == 21 && c.model.vocabSize == 32000 && c.model.hiddenSize == 2048)
        #expect(c.model.resolvedIntermediateSize == 5632)
        #expect(c.mixer == .gatedDeltaNet(GatedDeltaNetConfiguration()))
    }
}
