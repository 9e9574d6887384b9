import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// `generation_config.json`, read as transformers reads it: its end-of-sequence ids stop
/// generation, and its sampling fields are the defaults that explicit options override.
@Suite struct GenerationConfigurationTests {
    func parse(_ json: String) throws(ModelLoadError) -> GenerationConfiguration {
        try GenerationConfiguration.parse(Data(json.utf8), file: "g.json")
    }

    @Test("eos_token_id as an integer, a list, null or absent; the other fields")
    func fields() throws {
        #expect(try parse(#"{"eos_token_id": 7}"#).eosTokenIds == [7])
        #expect(try parse(#"{"eos_token_id": [2, 52]}"#).eosTokenIds == [2, 52])
        #expect(try parse(#"{"eos_token_id": null}"#).eosTokenIds == nil)
        #expect(try parse(#"{"use_cache": true}"#) == GenerationConfiguration())
        let c = try parse(
            #"{"bos_token_id": 1, "pad_token_id": 0, "max_new_tokens": 30, "do_sample": true, "temperature": 0.7, "top_k": 20, "top_p": 0.9}"#
        )
        #expect(
            c
                == GenerationConfiguration(
                    bosTokenId: 1, padTokenId: 0, maxNewTokens: 30, doSample: true, temperature: 0.7, topK: 20,
                    topP: 0.9))
    }

    @Test("the options it gives: greedy unless do_sample, transformers' sampling defaults otherwise")
    func options() throws {
        #expect(try parse("{}").options() == GenerationOptions(maxNewTokens: 12))
        #expect(
            try parse(#"{"max_new_tokens": 5, "temperature": 0.5}"#).options() == GenerationOptions(maxNewTokens: 5))
        #expect(
            try parse(#"{"do_sample": true}"#).options() == GenerationOptions(temperature: 1, topK: 50, topP: nil))
        #expect(
            try parse(#"{"do_sample": true, "temperature": 0.8, "top_k": 0, "top_p": 0.95}"#).options()
                == GenerationOptions(temperature: 0.8, topK: nil, topP: 0.95))
    }

    @Test("impossible or mistyped fields are malformedJSON naming the field")
    func malformed() {
        #expect(
            throws: ModelLoadError.malformedJSON(file: "g.json", reason: "field 'max_new_tokens': must be ≥ 1, got -1")
        ) { try parse(#"{"max_new_tokens": -1}"#) }
        #expect(
            throws: ModelLoadError.malformedJSON(file: "g.json", reason: "field 'max_new_tokens': must be ≥ 1, got 0")
        ) { try parse(#"{"max_new_tokens": 0}"#) }
        #expect(
            throws: ModelLoadError.malformedJSON(file: "g.json", reason: "field 'top_p': must be in (0, 1], got 0.0")
        ) {
            try parse(#"{"top_p": 0}"#)
        }
        #expect(throws: ModelLoadError.malformedJSON(file: "g.json", reason: "field 'top_k': must be ≥ 0, got -3")) {
            try parse(#"{"top_k": -3}"#)
        }
        #expect(throws: ModelLoadError.malformedJSON(file: "g.json", reason: "field 'do_sample': expected Bool")) {
            try parse(#"{"do_sample": "yes"}"#)
        }
        #expect(throws: ModelLoadError.malformedJSON(file: "g.json", reason: "top level is not an object")) {
            try parse("[1]")
        }
    }

    /// A tiny delta_net directory whose config.json has no eos and whose generation config says `generation`.
    func directory(generation: String?) throws -> (String, [Int]) {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.deltaNet], seed: 11)
        let dir = try TinyModels.temporaryDirectory()
        try m.write(to: dir)
        if let generation {
            try Data(generation.utf8).write(to: URL(fileURLWithPath: dir + "/generation_config.json"))
        }
        // The greedy continuation without any end-of-sequence id.
        let free = try m.generate(prompts: [[3, 9, 4]], options: GenerationOptions(maxNewTokens: 10, eosTokenIds: []))
        return (dir, free.tokens[0])
    }

    @Test("an eos given only in generation_config.json stops generation, in both precisions")
    func eosOnlyInGenerationConfig() throws {
        let (plain, free) = try directory(generation: nil)
        // The fourth new token becomes the end-of-sequence id (an id that does not occur before it).
        let stopIndex = free.indices.first { i in i >= 2 && !free[..<i].contains(free[i]) && free[i] != 2 }!
        let eos = free[stopIndex]
        let (dir, _) = try directory(generation: "{\"eos_token_id\": [2, \(eos)], \"bos_token_id\": 1}")
        for model in [
            try CausalLM<Double>.load(directory: dir).generate(prompts: [[3, 9, 4]]).tokens[0],
            try CausalLM<Float>.load(directory: dir).generate(prompts: [[3, 9, 4]]).tokens[0],
        ] {
            #expect(model == Array(free[...stopIndex]))
        }
        // Without the file, config.json's end-of-sequence ids (none for this model) apply.
        let m = try CausalLM<Double>.load(directory: plain)
        #expect(m.eosTokenIds == [])
        #expect(try m.generate(prompts: [[3, 9, 4]], options: GenerationOptions(maxNewTokens: 10)).tokens[0] == free)
        // Explicit options still override: [] never stops early.
        let loaded = try CausalLM<Double>.load(directory: dir)
        #expect(loaded.eosTokenIds == [2, eos])
        #expect(
            try loaded.generate(prompts: [[3, 9, 4]], options: GenerationOptions(maxNewTokens: 10, eosTokenIds: []))
                .tokens[0] == free)
    }

    @Test("max_new_tokens and do_sample in the file are the defaults of generate(prompts:)")
    func samplingDefaults() throws {
        let (dir, free) = try directory(generation: #"{"eos_token_id": null, "max_new_tokens": 4}"#)
        let m = try CausalLM<Double>.load(directory: dir)
        #expect(m.defaultGenerationOptions == GenerationOptions(maxNewTokens: 4))
        let greedy = try m.generate(prompts: [[3, 9, 4]]).tokens[0]
        #expect(greedy.count <= 4 && greedy == Array(free.prefix(greedy.count)))
        let (sampled, _) = try directory(generation: #"{"do_sample": true, "temperature": 1.3, "top_k": 5, "seed": 1}"#)
        #expect(
            try CausalLM<Double>.load(directory: sampled).defaultGenerationOptions
                == GenerationOptions(temperature: 1.3, topK: 5))
    }

    @Test("a malformed generation_config.json refuses the model with the file named")
    func malformedFileRefusesLoad() throws {
        let (dir, _) = try directory(generation: #"{"eos_token_id": "two"}"#)
        let error = #expect(throws: ModelLoadError.self) { try CausalLM<Float>.load(directory: dir) }
        guard case .malformedJSON(let file, _)? = error else {
            Issue.record("expected malformedJSON, got \(String(describing: error))")
            return
        }
        #expect(file == dir + "/generation_config.json")
    }

    @Test(
        "the reported directory: eos only in generation_config.json; generation equals the golden in both precisions",
        .enabled(if: Golden.regressionsAvailable, Golden.regressionsSkipMessage))
    func regressionDirectory() throws {
        let dir = Golden.regression("model_delta_net_genconfig_eos_only")
        let golden = try SafeTensorsFile(path: dir + "/golden.safetensors")
        let prompt = try golden.integerTensor("prompt_ids").scalars
        let expected = Array(try golden.integerTensor("generated_ids").scalars.dropFirst(prompt.count))
        let f64 = try CausalLM<Double>.load(directory: dir)
        let f32 = try CausalLM<Float>.load(directory: dir)
        #expect(f64.eosTokenIds.contains(expected.last!))
        #expect(try f64.generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: 12)).tokens[0] == expected)
        #expect(try f32.generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: 12)).tokens[0] == expected)
        #expect(expected.count < 12, "the golden stops early at the generation config's eos")
    }
}

/// Generation never picks a token from NaN or infinite logits.
@Suite struct NonFiniteLogitsTests {
    @Test("logits that overflow the run precision are an error, not token 0")
    func overflowingHead() throws {
        let m: CausalLM<Float> = try TinyModels.model([TinyModels.deltaNet], seed: 3)
        let dir = try TinyModels.temporaryDirectory()
        try m.write(to: dir)
        // A head of finite Float32 weights whose products overflow: every logit is ±∞ or NaN.
        var w = SafeTensorsWriter()
        for (k, v) in m.namedParameterList() {
            if k == "lm_head.weight" {
                w.add(k, Tensor<Float>(shape: v.shape, repeating: 3e38), as: .float32)
            } else {
                w.add(k, v, as: .float32)
            }
        }
        try w.write(to: dir + "/model.safetensors")
        let loaded = try CausalLM<Float>.load(directory: dir)
        #expect(throws: ModelError.nonFiniteLogits(sequence: 0, position: 0)) {
            try loaded.generate(prompts: [[1, 2, 3]], options: GenerationOptions(maxNewTokens: 4, eosTokenIds: []))
        }
        #expect(throws: ModelError.nonFiniteLogits(sequence: 0, position: 0)) {
            try loaded.generate(
                prompts: [[1, 2, 3], [4, 5]], options: GenerationOptions(maxNewTokens: 4, eosTokenIds: []))
        }
    }
}

/// `max_length` (prompt included), duplicate keys and sampling at temperature 0, as transformers.
@Suite struct GenerationConfigurationTransformersTests {
    @Test("max_length bounds prompt plus new tokens when max_new_tokens is unset")
    func maxLength() throws {
        let c = try GenerationConfiguration.parse(Data(#"{"max_length": 7}"#.utf8), file: "g.json")
        #expect(c.options() == GenerationOptions(maxNewTokens: .max, maxLength: 7))
        let both = try GenerationConfiguration.parse(
            Data(#"{"max_length": 7, "max_new_tokens": 3}"#.utf8), file: "g.json")
        #expect(both.options() == GenerationOptions(maxNewTokens: 3))
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.gla], seed: 5)
        let r = try m.generate(
            prompts: [[1, 2, 3], [4, 5, 6, 7, 8], [9, 9, 9, 9, 9, 9, 9, 9]],
            options: GenerationOptions(maxNewTokens: .max, eosTokenIds: [], maxLength: 7))
        #expect(r.tokens.map(\.count) == [4, 2, 0])
        let none = try m.generate(
            prompts: [[1, 2, 3]], options: GenerationOptions(maxNewTokens: .max, eosTokenIds: [], maxLength: 2))
        #expect(none.tokens == [[]])
    }

    @Test("a key given twice and do_sample at temperature 0 are refused")
    func refused() {
        #expect(
            throws: ModelLoadError.malformedJSON(file: "g.json", reason: "key 'eos_token_id' appears twice")
        ) { try GenerationConfiguration.parse(Data(#"{"eos_token_id": 2, "eos_token_id": 52}"#.utf8), file: "g.json") }
        let error = #expect(throws: ModelLoadError.self) {
            try GenerationConfiguration.parse(Data(#"{"do_sample": true, "temperature": 0}"#.utf8), file: "g.json")
        }
        #expect(error?.description.contains("must be > 0 when do_sample is true") == true)
        #expect(
            throws: ModelLoadError.malformedJSON(file: "c.json", reason: "key 'vocab_size' appears twice")
        ) {
            try ModelConfiguration.parse(
                Data(#"{"model_type": "gla", "vocab_size": 97, "vocab_size": 98}"#.utf8), file: "c.json")
        }
    }
}
