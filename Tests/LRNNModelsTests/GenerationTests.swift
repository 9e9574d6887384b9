import LRNNLinearAlgebra
import LRNNModels
import Testing

/// Greedy and sampled generation, stopping rules and option validation.
@Suite struct GenerationTests {
    let model: CausalLM<Double>
    let prompt = [4, 8, 15, 16, 23, 42]

    init() throws {
        model = try TinyModels.model([TinyModels.gla, TinyModels.gatedDeltaNet], seed: 3)
    }

    @Test func greedyPicksTheArgmaxOfEachStep() throws {
        let r = try model.generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: 6, eosTokenIds: []))
        var cache = model.makeCache(batchSize: 1)
        var logits = try model.prefill([prompt], cache: &cache)
        for t in r.tokens[0] {
            #expect(t == logits.withUnsafeBufferPointer { TokenSampler.argmax($0) })
            logits = try model.decode([t], cache: &cache)
        }
        #expect(r.prefillTokenCount == prompt.count && r.decodeTokenCount == 5)
    }

    @Test func generationStopsAtEOSIncluded() throws {
        let free = try model.generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: 8, eosTokenIds: []))
        let eos = free.tokens[0][3]
        let firstEOS = free.tokens[0].firstIndex(of: eos)!
        let r = try model.generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: 8, eosTokenIds: [eos]))
        #expect(r.tokens[0] == Array(free.tokens[0][...firstEOS]))
    }

    @Test func samplingIsReproducibleAndSeedDependent() throws {
        let o = GenerationOptions(maxNewTokens: 10, temperature: 1.5, seed: 42, eosTokenIds: [])
        let a = try model.generate(prompts: [prompt], options: o)
        let b = try model.generate(prompts: [prompt], options: o)
        #expect(a.tokens == b.tokens)
        var seeds: Set<[Int]> = []
        for s in 0..<5 {
            var o2 = o
            o2.seed = UInt64(s)
            seeds.insert(try model.generate(prompts: [prompt], options: o2).tokens[0])
        }
        #expect(seeds.count > 1, "five seeds gave one continuation")
    }

    @Test func topKOneIsGreedy() throws {
        let greedy = try model.generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: 8, eosTokenIds: []))
        let k1 = try model.generate(
            prompts: [prompt],
            options: GenerationOptions(maxNewTokens: 8, temperature: 2, topK: 1, seed: 9, eosTokenIds: []))
        #expect(greedy.tokens == k1.tokens)
    }

    @Test func samplerKeepsToTopKAndTopP() {
        let logits: [Double] = [0.0, 3.0, 1.0, 2.9, -1.0, 2.5]
        var k = TokenSampler(options: GenerationOptions(temperature: 1, topK: 2, seed: 1))
        var p = TokenSampler(options: GenerationOptions(temperature: 1, topP: 0.5, seed: 1))
        var seenK: Set<Int> = []
        var seenP: Set<Int> = []
        logits.withUnsafeBufferPointer { b in
            for _ in 0..<400 {
                seenK.insert(k.next(b))
                seenP.insert(p.next(b))
            }
        }
        #expect(seenK == [1, 3])
        // p(1) ≈ 0.38 < 0.5, p(1) + p(3) ≈ 0.73 ≥ 0.5: the nucleus is {1, 3}.
        #expect(seenP == [1, 3])
    }

    @Test func badOptionsAreRefused() {
        #expect(throws: ModelError.invalidArgument(name: "topP", reason: "must be in (0, 1], got 1.5")) {
            try model.generate(prompts: [prompt], options: GenerationOptions(temperature: 1, topP: 1.5))
        }
        #expect(throws: ModelError.invalidArgument(name: "prompts[0]", reason: "empty prompt")) {
            try model.generate(prompts: [[]])
        }
        #expect(throws: ModelError.tokenOutOfRange(token: -1, vocabSize: TinyModels.vocab)) {
            try model.generate(prompts: [[1, -1]])
        }
    }

    @Test func builderRefusesImpossibleConfigurations() {
        var b = ModelBuilder(vocabSize: 10, hiddenSize: 30)
        b.append(.deltaNet(DeltaNetConfiguration(numHeads: 4)))
        #expect(
            throws: ModelError.invalidConfiguration(
                field: "key dim (hidden_size·expand_k)", reason: "30: must be divisible by num_heads = 4")
        ) { try b.build(as: Float.self, seed: 1) }
        #expect(throws: ModelError.invalidConfiguration(field: "blocks", reason: "no blocks appended")) {
            try ModelBuilder(vocabSize: 10, hiddenSize: 32).build(as: Float.self, seed: 1)
        }
        var mixed = ModelBuilder(vocabSize: 10, hiddenSize: 32)
        mixed.append(TinyModels.gla)
        mixed.append(TinyModels.deltaNet)
        #expect((try? mixed.build(as: Float.self, seed: 1).flaConfigurationJSON()) == .some(nil))
    }

    @Test func sameSeedBuildsTheSameModel() throws {
        let a: CausalLM<Float> = try TinyModels.model([TinyModels.gla], seed: 5)
        let b: CausalLM<Float> = try TinyModels.model([TinyModels.gla], seed: 5)
        let c: CausalLM<Float> = try TinyModels.model([TinyModels.gla], seed: 6)
        #expect(a.namedParameterList().map(\.value) == b.namedParameterList().map(\.value))
        #expect(a.namedParameterList().map(\.value) != c.namedParameterList().map(\.value))
    }
}
