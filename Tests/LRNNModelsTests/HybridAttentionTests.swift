import Foundation
import LRNNLinearAlgebra
import LRNNModels
import Testing

/// Hybrid models: fla's `attn` configuration, softmax-attention layers between recurrent ones,
/// their key/value cache, and checkpoints that carry them.
@Suite struct HybridAttentionTests {
    let hybrid = [TinyModels.gatedDeltaNet, TinyModels.attentionWindow, TinyModels.gla, TinyModels.attention]

    func full(_ m: CausalLM<Double>, _ ids: [Int]) throws -> Tensor<Double> {
        try m.logits([ids]).reshaped([ids.count, m.vocabSize])
    }

    @Test func prefillInPiecesThenDecodingEqualsOneCall() throws {
        let m: CausalLM<Double> = try TinyModels.model(hybrid)
        let ids = TinyModels.ids(70, seed: 21)
        // Pieces shorter and longer than the window (7), one of a single token, then decoding.
        for pieces in [[9, 1, 20], [3, 3, 3], [40]] {
            var cache = m.makeCache(batchSize: 1)
            var out: [Double] = []
            var start = 0
            for p in pieces {
                out += try m.forward([Array(ids[start..<(start + p)])], cache: &cache).scalars
                start += p
            }
            for t in ids[start...] { out += try m.decode([t], cache: &cache).scalars }
            let err = Tensor(shape: [70, m.vocabSize], scalars: out).relativeError(to: try full(m, ids))
            #expect(err <= 1e-10, "pieces \(pieces) + decoding vs one call: \(err)")
            #expect(cache.tokenCounts == [70])
        }
    }

    @Test func windowedLayersKeepOnlyTheWindow() throws {
        let m: CausalLM<Double> = try TinyModels.model(hybrid)
        var cache = m.makeCache(batchSize: 2)
        _ = try m.prefill([TinyModels.ids(50, seed: 1), TinyModels.ids(3, seed: 2)], cache: &cache)
        for t in 0..<40 { _ = try m.decode([t % 7, t % 5], cache: &cache) }
        let windowed = try #require(cache.layers[1].attention)
        let global = try #require(cache.layers[3].attention)
        #expect(cache.layers[0].attention == nil && cache.layers[2].attention == nil)
        #expect(windowed.positions == [90, 43] && global.positions == [90, 43])
        // Window 7: the last 6 keys per sequence, however long the context.
        #expect(windowed.capacity == 6 && windowed.storedRows(0) == 6 && windowed.storedRows(1) == 6)
        #expect(global.storedRows(0) == 90 && global.storedRows(1) == 43 && global.capacity >= 90)
    }

    @Test func batchedHybridGenerationEqualsSingleGeneration() throws {
        let m: CausalLM<Double> = try TinyModels.model(hybrid)
        let prompts = [TinyModels.ids(11, seed: 1), TinyModels.ids(2, seed: 2), TinyModels.ids(25, seed: 3)]
        let options = GenerationOptions(maxNewTokens: 12, eosTokenIds: [])
        let batched = try m.generate(prompts: prompts, options: options)
        for (i, p) in prompts.enumerated() {
            #expect(batched.tokens[i] == (try m.generate(prompts: [p], options: options)).tokens[0])
        }
    }

    @Test func packedHybridEqualsEachSequenceAlone() throws {
        let m: CausalLM<Double> = try TinyModels.model(hybrid)
        let seqs = [TinyModels.ids(17, seed: 4), [], TinyModels.ids(1, seed: 5), TinyModels.ids(33, seed: 6)]
        var cu = [0]
        for s in seqs { cu.append(cu.last! + s.count) }
        let packed = try m.logits(packed: seqs.flatMap { $0 }, cuSeqlens: cu)
        for (i, s) in seqs.enumerated() where !s.isEmpty {
            let err = rows(packed, cu[i]..<cu[i + 1]).relativeError(to: try full(m, s))
            #expect(err <= 1e-10, "sequence \(i): \(err)")
        }
    }

    @Test func hybridCheckpointRoundTrip() throws {
        let m: CausalLM<Float> = try TinyModels.model(
            [TinyModels.gatedDeltaNet, TinyModels.attention, TinyModels.gatedDeltaNet, TinyModels.attentionWindow])
        let dir = try TinyModels.temporaryDirectory()
        try m.write(to: dir)
        let config = try ModelConfiguration.load(path: dir + "/config.json")
        #expect(config.model.attention.map(\.layers) == [[1], [3]])
        #expect(config.model.attention[1].windowSize == 7 && config.model.attention[1].qkvBias)
        let loaded = try CausalLM<Float>.load(directory: dir)
        #expect(loaded.mixers == m.mixers.enumerated().map { i, mixer in config.mixer(forLayer: i) })
        let ids = [TinyModels.ids(30, seed: 3)]
        #expect(try loaded.logits(ids) == (try m.logits(ids)))
        #expect(loaded.namedParameterList().map(\.key) == m.namedParameterList().map(\.key))
        #expect(m.namedParameterList().contains { $0.key == "model.layers.3.attn.k_proj.bias" })
        #expect(!m.namedParameterList().contains { $0.key == "model.layers.1.attn.k_proj.bias" })
    }

    // MARK: Configuration

    func config(attn: String, layers: Int = 4) -> Data {
        Data(
            #"{"model_type": "gated_deltanet", "hidden_size": 64, "num_hidden_layers": \#(layers), "attn": \#(attn)}"#
                .utf8)
    }

    @Test func attnObjectAndListDecodeWithFlaDefaults() throws {
        let one = try ModelConfiguration.parse(config(attn: #"{"layers": [1, 3], "num_heads": 4}"#), file: "c.json")
        #expect(one.model.attention == [AttentionConfiguration(layers: [1, 3], numHeads: 4)])
        let a = one.model.attention[0]
        #expect(a.kvHeads == 4 && !a.qkvBias && a.windowSize == nil && a.ropeTheta == 10000)
        #expect(one.mixer(forLayer: 1) == .attention(a) && one.mixer(forLayer: 0) == one.mixer)
        let list = try ModelConfiguration.parse(
            config(
                attn:
                    #"[{"layers": [0], "num_heads": 4, "window_size": 16}, {"layers": [2], "num_heads": 2, "num_kv_heads": 1, "rope_theta": 500}]"#
            ), file: "c.json")
        #expect(list.model.attention.count == 2)
        #expect(list.mixer(forLayer: 0) == .attention(AttentionConfiguration(layers: [0], numHeads: 4, windowSize: 16)))
        #expect(
            list.mixer(forLayer: 2)
                == .attention(AttentionConfiguration(layers: [2], numHeads: 2, numKVHeads: 1, ropeTheta: 500)))
        let none = try ModelConfiguration.parse(config(attn: "null"), file: "c.json")
        #expect(none.model.attention.isEmpty && !none.model.hasHybridAttention)
    }

    @Test func unknownAttnFieldIsRefusedNamingIt() throws {
        #expect(
            throws: ModelLoadError.unsupportedConfiguration(
                file: "c.json", field: "attn.qk_norm", value: "present",
                reason:
                    "not a field of fla's attention layer (known: layers, num_heads, num_kv_heads, qkv_bias, window_size, rope_theta)"
            )
        ) {
            try ModelConfiguration.parse(
                config(attn: #"{"layers": [1], "num_heads": 4, "qk_norm": true}"#), file: "c.json")
        }
    }

    @Test(arguments: [
        (
            #"{"layers": [1], "num_heads": 4, "num_kv_heads": 3}"#, "attn.num_kv_heads",
            "3: must be positive and divide num_heads = 4"
        ),
        (#"{"layers": [1], "num_heads": 4, "window_size": 0}"#, "attn.window_size", "0: must be ≥ 1 or null"),
        (#"{"layers": [4], "num_heads": 4}"#, "attn.layers", "4: outside the layers 0..<4 (num_hidden_layers)"),
        (
            #"[{"layers": [1], "num_heads": 4}, {"layers": [2, 1], "num_heads": 2}]"#, "attn.layers",
            "1: names layer 1 twice"
        ),
        (#"{"layers": [1], "num_heads": 3}"#, "attn.num_heads", "3: must divide hidden_size = 64"),
        (
            #"{"layers": [1], "num_heads": 64}"#, "attn.num_heads",
            "64: head_dim = 1 must be even for the rotary embedding"
        ),
        (#"{"layers": [1], "num_heads": 4, "rope_theta": null}"#, "attn.rope_theta", "null: must be a positive number"),
    ])
    func impossibleAttnValueIsInvalid(_ attn: String, _ field: String, _ reason: String) throws {
        #expect(throws: ModelLoadError.invalidConfiguration(file: "c.json", field: field, reason: reason)) {
            try ModelConfiguration.parse(config(attn: attn), file: "c.json")
        }
    }

    @Test func missingRequiredAttnFieldIsMalformed() throws {
        #expect(
            throws: ModelLoadError.malformedJSON(file: "c.json", reason: "field 'attn.num_heads': missing")
        ) { try ModelConfiguration.parse(config(attn: #"{"layers": [1]}"#), file: "c.json") }
    }
}
