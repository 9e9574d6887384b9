import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import LRNNTool
import Testing

/// `lrnn check` on cases whose inputs disagree with each other, whose extents are absurd, or
/// whose metadata is garbage: a FAIL line naming what is wrong, never a trap or an allocation
/// the process cannot survive, and never a silent default.
@Suite(
    "lrnn check: inconsistent inputs, absurd sizes, bad metadata", .enabled(if: Golden.isAvailable, Golden.skipMessage))
struct CheckRobustnessTests {
    /// Runs one rewritten case and expects every line to FAIL with a note containing `text`.
    func expectFail(_ path: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = GoldenCheck.run(.file(path: path))
        #expect(!lines.isEmpty, sourceLocation: sourceLocation)
        for l in lines {
            #expect(l.status == .fail, "\(l.path) \(l.precision)", sourceLocation: sourceLocation)
            #expect(l.note?.contains(text) == true, "\(l.note ?? "")", sourceLocation: sourceLocation)
        }
    }

    @Test("inputs whose extents disagree (the recurrent paths slice them): FAIL lines naming the tensor")
    func inconsistentInputs() throws {
        let d = try ScratchDirectory()
        let cases: [(String, String, (Tensor<Double>) -> Tensor<Double>, String)] = [
            ("delta_rule_basic", "q", { t in resized(t, axis: 0, by: 2) }, "tensor 'k'"),
            ("gated_delta_rule_basic", "g", { t in t.reshaped([t.count]) }, "tensor 'g'"),
            ("gated_delta_rule_basic", "g", { t in t.reshaped([1] + t.shape) }, "tensor 'g'"),
            ("gla_basic", "k", { t in t.reshaped([t.count]) }, "tensor 'k'"),
            ("gla_basic", "gk", { t in resized(t, axis: 1, by: -t.shape[1]) }, "tensor 'gk'"),
            ("gla_h0_varlen", "v", { t in resized(t, axis: 1, by: -t.shape[1]) }, "tensor 'v'"),
            ("delta_product_nh2", "q", { t in resized(t, axis: 0, by: 1) }, "tensor 'k'"),
        ]
        for (i, (name, tensor, edit, text)) in cases.enumerated() {
            let source = Golden.path(name + ".safetensors")
            let original = try SafeTensorsFile(path: source).tensor(tensor, as: Double.self)
            let target = d.path("\(i)_\(name).safetensors")
            try rewritten(source, to: target, replacing: tensor, with: edit(original))
            let lines = GoldenCheck.run(.file(path: target))
            #expect(lines.count == 4 && lines.allSatisfy { $0.status == .fail }, "\(name) \(tensor)")
            // The recurrent lines name the tensor; the chunk lines carry the kernel's own error.
            for l in lines where l.path == "recurrent" {
                #expect(l.note?.contains(text) == true, "\(name): \(l.note ?? "")")
            }
        }
        // A run over all of them and a good case still reports the good case.
        let report = GoldenCheck.run(
            try GoldenDiscovery.cases(in: [d.url.path, Golden.path("hippo_legs_16.safetensors")]))
        #expect(report.passed == 2 && report.failed == cases.count * 4)
    }

    @Test("extents that would need more than 2^28 elements of state or kernel: FAIL, no allocation")
    func absurdSizes() throws {
        let d = try ScratchDirectory()
        // delta_rule with K = V = 131072: a 4 MB file whose state would need 2^34 elements.
        var w = SafeTensorsWriter(metadata: ["op": "delta_rule", "scale": "1", "num_householder": "1"])
        let big = Tensor<Double>(zeros: [1, 1, 1, 131_072])
        for n in ["q", "k", "v", "o"] { w.add(n, big, as: .float64) }
        w.add("beta", Tensor<Double>(shape: [1, 1, 1], scalars: [0.5]), as: .float64)
        w.add("ht", Tensor<Double>(zeros: [1, 1, 1, 1]), as: .float64)
        try w.write(to: d.path("huge_state.safetensors"))
        let lines = GoldenCheck.run(.file(path: d.path("huge_state.safetensors")))
        #expect(lines.count == 1 && lines[0].status == .fail)
        #expect(lines[0].note?.contains("exceed 268435456 elements") == true, "\(lines[0].note ?? "")")
        // s4d_kernel with L = 2^24 and 4,096 channels.
        var k = SafeTensorsWriter(metadata: ["op": "s4d_kernel", "L": "16777216", "discretization": "zoh"])
        k.add("log_dt", Tensor<Double>(zeros: [4096]), as: .float64)
        for n in ["A_re", "A_im", "B_re", "B_im", "C_re", "C_im"] {
            k.add(n, Tensor<Double>(shape: [4096, 1], repeating: n == "A_re" ? -0.5 : 0), as: .float64)
        }
        k.add("K", Tensor<Double>(zeros: [1, 1]), as: .float64)
        try k.write(to: d.path("huge_kernel.safetensors"))
        expectFail(d.path("huge_kernel.safetensors"), "exceeds 268435456 elements")
    }

    @Test("metadata that is present but not what FORMAT.md says: FAIL, not a default")
    func garbageMetadata() throws {
        let d = try ScratchDirectory()
        for (name, key, value, text) in [
            ("delta_rule_basic", "scale", "abc", "metadata 'scale' is 'abc', expected a finite number"),
            ("gla_basic", "scale", "", "metadata 'scale' is '', expected a finite number"),
            ("gla_basic", "scale", "inf", "metadata 'scale' is 'inf', expected a finite number"),
            ("s5_bilinear_full", "conj_sym", "abc", "metadata 'conj_sym' is 'abc', expected true or false"),
            ("hippo_legs_16", "N", "3", "metadata 'N' is 3, but A has shape [16, 16]"),
            ("s4d_conv_zoh", "discretization", nil, "metadata 'discretization' missing"),
        ] as [(String, String, String?, String)] {
            let target = d.path("\(name)_\(key).safetensors")
            try rewritten(Golden.path(name + ".safetensors"), to: target) { $0[key] = value }
            expectFail(target, text)
        }
    }

    @Test("a model whose num_hidden_layers exceeds its checkpoint's layers: refused before anything is built")
    func hugeLayerCount() throws {
        let d = try ScratchDirectory()
        let (source, dir) = try copyGoldenModel(
            "model_delta_net", files: ["model.safetensors", "golden.safetensors"], into: d, as: "layers")
        try writeConfig(from: source, to: dir, setting: "num_hidden_layers", to: 1_000_000_000)
        #expect(
            throws: ModelLoadError.invalidConfiguration(
                file: dir + "/config.json", field: "num_hidden_layers",
                reason: "1000000000, but \(dir)/model.safetensors holds the keys of 2 layer(s) (0, 1)")
        ) { try CausalLM<Float>.load(directory: dir) }
        let lines = GoldenCheck.run(.modelDirectory(path: dir))
        #expect(lines.count == 2 && lines.allSatisfy { $0.status == .fail && $0.path == "load" })
    }

    @Test("a weight finite in Float64 but not in Float32: the Float64 lines pass, Float32 fails to load")
    func precisionSpecificLoadFailure() throws {
        let d = try ScratchDirectory()
        let (source, dir) = try copyGoldenModel(
            "model_delta_net", files: ["config.json", "golden.safetensors"], into: d, as: "wide")
        let checkpoint = try SafeTensorsFile(path: source + "/model.safetensors")
        var w = SafeTensorsWriter()
        for n in checkpoint.names {
            var t = try checkpoint.tensor(n, as: Double.self)
            if n == "model.norm.weight" {
                // 1e300 times a tiny factor elsewhere: only the stored value matters for the load.
                t.scalars[0] = 1e300
                w.add(n, t, as: .float64)
            } else {
                w.add(n, t, as: try checkpoint.info(n).dtype)
            }
        }
        try w.write(to: dir + "/model.safetensors")
        let lines = GoldenCheck.run(.modelDirectory(path: dir))
        let f32 = lines.filter { $0.precision == "Float32" }
        #expect(f32.count == 1 && f32[0].status == .fail && f32[0].path == "load")
        #expect(f32[0].note?.contains("model.norm.weight") == true)
        #expect(lines.filter { $0.precision == "Float64" }.count == 3)
    }
}

/// Copies `files` of the golden model directory `name` into `d/target`; returns both paths.
func copyGoldenModel(
    _ name: String, files: [String], into d: ScratchDirectory, as target: String
) throws -> (source: String, directory: String) {
    let source = Golden.path(name)
    let dir = d.path(target)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for f in files { try FileManager.default.copyItem(atPath: source + "/" + f, toPath: dir + "/" + f) }
    return (source, dir)
}

/// Inputs found by a second review: tiny files with huge extents, config values that overflow,
/// FIFOs, duplicate index keys, decoding settings that would be ignored.
@Suite("lrnn check and loading: second-review inputs", .enabled(if: Golden.isAvailable, Golden.skipMessage))
struct SecondReviewTests {
    @Test("zero-sized tensors with huge other extents: a FAIL before any loop or allocation")
    func zeroSizedHugeExtents() throws {
        let d = try ScratchDirectory()
        for (name, shape) in [("batch", [1 << 30, 1, 0, 32]), ("tokens", [1, 1 << 30, 0, 32])] {
            var w = SafeTensorsWriter(metadata: ["op": "delta_rule", "scale": "0.1", "num_householder": "1"])
            for n in ["q", "k", "v", "o"] { w.add(n, Tensor<Double>(zeros: shape), as: .float64) }
            w.add("beta", Tensor<Double>(zeros: Array(shape.prefix(3))), as: .float64)
            w.add("ht", Tensor<Double>(zeros: [shape[0], 0, 32, 32]), as: .float64)
            try w.write(to: d.path(name + ".safetensors"))
            let lines = GoldenCheck.run(.file(path: d.path(name + ".safetensors")))
            #expect(lines.count == 1 && lines[0].status == .fail)
            #expect(lines[0].note?.contains("exceeds the 268435456 elements") == true, "\(lines[0].note ?? "")")
        }
    }

    @Test("cu_seqlens of rank 2 and a gated case without its gate: FAIL")
    func caseStructure() throws {
        let d = try ScratchDirectory()
        for (name, path) in [("delta_rule_varlen", "cu"), ("gla_h0_varlen", "cu2")] {
            let source = Golden.path(name + ".safetensors")
            let file = try SafeTensorsFile(path: source)
            var w = SafeTensorsWriter(metadata: file.metadata)
            for n in file.names {
                if n == "cu_seqlens" {
                    let cu = try file.integerTensor(n)
                    w.add(n, integers: cu.reshaped([1, cu.count]))
                } else {
                    w.add(n, try file.tensor(n, as: Double.self), as: .float64)
                }
            }
            try w.write(to: d.path(path + ".safetensors"))
            let lines = GoldenCheck.run(.file(path: d.path(path + ".safetensors")))
            #expect(lines.count == 1 && lines[0].status == .fail)
            #expect(lines[0].note?.contains("cu_seqlens has shape [1,") == true, "\(lines[0].note ?? "")")
        }
        try rewritten(Golden.path("gated_delta_rule_basic.safetensors"), to: d.path("nog.safetensors"), dropping: "g")
        let lines = GoldenCheck.run(.file(path: d.path("nog.safetensors")))
        #expect(lines.count == 1 && lines[0].note?.contains("without its gate tensor 'g'") == true)
    }

    @Test("model golden logits of another shape fail before the model runs")
    func logitsShapeFirst() throws {
        let d = try ScratchDirectory()
        let (source, dir) = try copyGoldenModel(
            "model_gla", files: ["config.json", "model.safetensors"], into: d, as: "m")
        let golden = try SafeTensorsFile(path: source + "/golden.safetensors")
        var w = SafeTensorsWriter(metadata: ["op": "model"])
        w.add("input_ids", integers: Tensor(shape: [300, 1], scalars: Array(repeating: 1, count: 300)))
        w.add("logits", try golden.tensor("logits", as: Double.self), as: .float32)
        w.add("prompt_ids", integers: try golden.integerTensor("prompt_ids"))
        w.add("generated_ids", integers: try golden.integerTensor("generated_ids"))
        try w.write(to: dir + "/golden.safetensors")
        let lines = GoldenCheck.run(.modelDirectory(path: dir)).filter { $0.path != "generate" }
        let shape = try golden.info("logits").shape
        #expect(lines.count == 4)
        #expect(lines.allSatisfy { $0.note == "tensor 'logits': computed shape [300, 1, 97], golden shape \(shape)" })
    }

    @Test("configuration sizes far beyond the checkpoint: the shape error, with nothing of that size allocated")
    func impliedShapesBeyondTheCheckpoint() throws {
        let d = try ScratchDirectory()
        for (model, field, value, expected) in [
            ("model_gla", "hidden_size", 1 << 40, "model.embeddings.weight has [97, 64], expected [97, 1099511627776]"),
            ("model_delta_net", "conv_size", 1 << 40, "[64, 1, 1099511627776]"),
            ("model_gated_deltaproduct", "num_householder", 1_000_000, "expected [64000000, 64]"),
        ] {
            let (source, dir) = try copyGoldenModel(model, files: ["model.safetensors"], into: d, as: model + field)
            try writeConfig(from: source, to: dir, setting: field, to: value)
            let error = #expect(throws: ModelLoadError.self) { try CausalLM<Float>.load(directory: dir) }
            #expect(error?.description.contains(expected) == true, "\(field): \(error?.description ?? "")")
        }
    }

    @Test("a FIFO is refused as not a regular file, without waiting for a writer")
    func fifo() throws {
        let d = try ScratchDirectory()
        let path = d.path("x.safetensors")
        #expect(mkfifo(path, 0o600) == 0)
        #expect(throws: SafeTensorsError.cannotOpen(file: path, reason: "not a regular file")) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test("config values beyond Int, a key twice in the shard index, decoding settings not implemented")
    func loading() throws {
        let d = try ScratchDirectory()
        // expand_k = 1e300: a configuration error, not a conversion trap.
        let (source, dir) = try copyGoldenModel(
            "model_delta_net", files: ["model.safetensors"], into: d, as: "expand")
        try writeConfig(from: source, to: dir, setting: "expand_k", to: 1e300)
        let error = #expect(throws: ModelLoadError.self) { try CausalLM<Float>.load(directory: dir) }
        guard case .invalidConfiguration(_, let field, _)? = error else {
            Issue.record("expected invalidConfiguration, got \(String(describing: error))")
            return
        }
        #expect(field.contains("expand_k"))
        // A key listed twice in model.safetensors.index.json.
        let (_, sharded) = try copyGoldenModel(
            "model_delta_net", files: ["config.json"], into: d, as: "sharded")
        try FileManager.default.copyItem(atPath: source + "/model.safetensors", toPath: sharded + "/s1.safetensors")
        let index = #"{"weight_map": {"model.norm.weight": "s1.safetensors", "model.norm.weight": "s1.safetensors"}}"#
        try Data(index.utf8).write(to: URL(fileURLWithPath: sharded + "/model.safetensors.index.json"))
        #expect(
            throws: ModelLoadError.malformedJSON(
                file: sharded + "/model.safetensors.index.json",
                reason: "key 'model.norm.weight' in 'weight_map' appears twice")
        ) { try CausalLM<Float>.load(directory: sharded) }
        // Decoding settings transformers would apply and this engine does not: refused.
        let (_, gen) = try copyGoldenModel(
            "model_delta_net", files: ["config.json", "model.safetensors"], into: d, as: "gen")
        for (json, field) in [
            (#"{"repetition_penalty": 2.0}"#, "repetition_penalty"), (#"{"num_beams": 4}"#, "num_beams"),
            (#"{"min_new_tokens": 5}"#, "min_new_tokens"),
        ] {
            try Data(json.utf8).write(to: URL(fileURLWithPath: gen + "/generation_config.json"))
            let e = #expect(throws: ModelLoadError.self) { try CausalLM<Float>.load(directory: gen) }
            guard case .unsupportedConfiguration(_, let f, _, _)? = e else {
                Issue.record("\(json): expected unsupportedConfiguration, got \(String(describing: e))")
                continue
            }
            #expect(f == field)
        }
        // Neutral values load.
        try Data(#"{"repetition_penalty": 1.0, "num_beams": 1, "min_new_tokens": null}"#.utf8).write(
            to: URL(fileURLWithPath: gen + "/generation_config.json"))
        _ = try CausalLM<Float>.load(directory: gen)
        // An end-of-sequence id outside the vocabulary.
        try Data(#"{"eos_token_id": [2, 500]}"#.utf8).write(to: URL(fileURLWithPath: gen + "/generation_config.json"))
        #expect(
            throws: ModelLoadError.invalidConfiguration(
                file: gen + "/generation_config.json", field: "eos_token_id",
                reason: "500: outside the vocabulary 0..<97")
        ) { try CausalLM<Float>.load(directory: gen) }
    }
}

/// Writes `source/config.json` to `dir/config.json` with `field` set to `value`.
func writeConfig(from source: String, to dir: String, setting field: String, to value: Any) throws {
    var config =
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source + "/config.json")))
        as! [String: Any]
    config[field] = value
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
}
