import LRNNLinearAlgebra
import LRNNModels
import Testing

/// Prefill + decode through the cache equals one full forward pass.
@Suite struct CacheTests {
    /// Full logits `[T, V]` of one sequence.
    func full(_ m: CausalLM<Double>, _ ids: [Int]) throws -> Tensor<Double> {
        try m.logits([ids]).reshaped([ids.count, m.vocabSize])
    }

    /// Prefill `split` tokens, then decode the rest one at a time; returns all logits `[T, V]`.
    func cached(_ m: CausalLM<Double>, _ ids: [Int], split: Int) throws -> Tensor<Double> {
        var cache = m.makeCache(batchSize: 1)
        var out = try m.forward([Array(ids[..<split])], cache: &cache).scalars
        for t in ids[split...] { out += try m.decode([t], cache: &cache).scalars }
        #expect(cache.tokenCounts == [ids.count])
        return Tensor(shape: [ids.count, m.vocabSize], scalars: out)
    }

    @Test(arguments: TinyModels.all.map(\.0))
    func prefillThenDecodeEqualsFullForward(_ name: String) throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name), TinyModels.mixer(name)])
        let ids = TinyModels.ids(150, seed: 11)
        let ref = try full(m, ids)
        let err = try cached(m, ids, split: 97).relativeError(to: ref)
        #expect(err < 1e-10, "\(name): prefill 97 + decode 53 vs full forward: \(err)")
    }

    @Test func composedStackPrefillThenDecodeEqualsFullForward() throws {
        let mixers = [
            TinyModels.gatedDeltaNet, TinyModels.gla, TinyModels.deltaNet, TinyModels.s4d, TinyModels.gatedDeltaProduct,
        ]
        let m: CausalLM<Double> = try TinyModels.model(mixers)
        let ids = TinyModels.ids(90, seed: 5)
        let ref = try full(m, ids)
        let err = try cached(m, ids, split: 70).relativeError(to: ref)
        #expect(err < 1e-10, "composed stack: \(err)")
    }

    @Test func prefillInPiecesEqualsOnePrefill() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.gatedDeltaProduct, TinyModels.gla])
        let ids = TinyModels.ids(80, seed: 9)
        var cache = m.makeCache(batchSize: 1)
        var out = try m.forward([Array(ids[..<30])], cache: &cache).scalars
        out += try m.forward([Array(ids[30..<31])], cache: &cache).scalars
        out += try m.forward([Array(ids[31...])], cache: &cache).scalars
        let err = Tensor(shape: [80, m.vocabSize], scalars: out).relativeError(to: try full(m, ids))
        #expect(err < 1e-10, "pieces 30 + 1 + 49 vs full: \(err)")
    }

    @Test(arguments: TinyModels.all.map(\.0))
    func packedForwardEqualsPerSequenceForward(_ name: String) throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name)])
        let seqs = [TinyModels.ids(30, seed: 1), [], TinyModels.ids(70, seed: 2), TinyModels.ids(3, seed: 3)]
        var cu = [0]
        for s in seqs { cu.append(cu.last! + s.count) }
        let packed = try m.logits(packed: seqs.flatMap { $0 }, cuSeqlens: cu)
        for (i, s) in seqs.enumerated() where !s.isEmpty {
            let err = rows(packed, cu[i]..<cu[i + 1]).relativeError(to: try full(m, s))
            #expect(err < 1e-10, "\(name): packed sequence \(i) vs alone: \(err)")
        }
    }

    @Test(arguments: TinyModels.all.map(\.0))
    func batchedDecodeEqualsSingleDecode(_ name: String) throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name)])
        let prompts = [TinyModels.ids(12, seed: 1), TinyModels.ids(5, seed: 2), TinyModels.ids(20, seed: 3)]
        let steps = [TinyModels.ids(6, seed: 4), TinyModels.ids(6, seed: 5), TinyModels.ids(6, seed: 6)]
        var batch = m.makeCache(batchSize: 3)
        var batched = [try m.prefill(prompts, cache: &batch)]
        for s in 0..<6 { batched.append(try m.decode(steps.map { $0[s] }, cache: &batch)) }
        for i in 0..<3 {
            var single = m.makeCache(batchSize: 1)
            var outs = [try m.prefill([prompts[i]], cache: &single)]
            for s in 0..<6 { outs.append(try m.decode([steps[i][s]], cache: &single)) }
            for (b, o) in zip(batched, outs) {
                let err = rows(b, i..<(i + 1)).relativeError(to: o)
                #expect(err < 1e-12, "\(name): sequence \(i) batched vs single: \(err)")
            }
        }
    }

    @Test func batchedGenerationEqualsSingleGeneration() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.gatedDeltaNet, TinyModels.gla])
        let prompts = [TinyModels.ids(7, seed: 1), TinyModels.ids(19, seed: 2), TinyModels.ids(2, seed: 3)]
        let options = GenerationOptions(maxNewTokens: 9, eosTokenIds: [])
        let batched = try m.generate(prompts: prompts, options: options)
        for (i, p) in prompts.enumerated() {
            #expect(batched.tokens[i] == (try m.generate(prompts: [p], options: options)).tokens[0])
            #expect(batched.tokens[i].count == 9)
        }
    }

    @Test func emptyInputsGiveEmptyLogits() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.gatedDeltaProduct, TinyModels.s4d])
        #expect(try m.logits([[]]).shape == [1, 0, TinyModels.vocab])
        #expect(try m.logits(packed: [], cuSeqlens: [0, 0]).shape == [0, TinyModels.vocab])
        #expect(
            throws: ModelError.invalidSequenceBoundaries(
                .invalidSequenceBoundaries(reason: "must end at the packed length 2, ends at 3"))
        ) { try m.logits(packed: [1, 2], cuSeqlens: [0, 3]) }
        #expect(
            throws: ModelError.invalidArgument(
                name: "inputIds", reason: "sequences of unequal lengths; use logits(packed:cuSeqlens:)")
        ) { try m.logits([[1, 2], [3]]) }
    }

    @Test func cacheMismatchIsReported() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.gla])
        var cache = m.makeCache(batchSize: 2)
        #expect(throws: ModelError.cacheMismatch(reason: "1 sequences given for a cache of batch size 2")) {
            try m.decode([1], cache: &cache)
        }
        #expect(throws: ModelError.tokenOutOfRange(token: 99, vocabSize: TinyModels.vocab)) {
            try m.decode([1, 99], cache: &cache)
        }
    }
}
