import LRNNKernels
import LRNNLinearAlgebra

/// A causal language model: embedding, a stack of ``Block``s, final RMSNorm and head.
///
///     h = embeddings[ids];  for each block: h ← h + attn(attn_norm h);  h ← h + mlp(mlp_norm h)
///     logits = lm_head(norm(h))        (lm_head = embeddings when tie_word_embeddings)
///
/// Load an fla checkpoint with ``load(directory:)``, or assemble one in code with
/// ``ModelBuilder``. Generic over the run precision (`Float` or `Double`). A value: its
/// parameters live in its layers only, and form one tree (``ParameterContainer``) keyed by
/// checkpoint path — ``parameters()`` reads it, ``update(parameters:verify:)`` and
/// ``modifyParameters(_:)`` write it in place (copies of the model keep their values: the tensors
/// are copied on write). All mutable decoding state lives in a ``ModelCache``.
///
/// Thread safety: one model may serve any number of threads or Swift tasks at once — two
/// ``generate(prompts:options:)`` calls in parallel, or a ``logits(_:)`` call beside a decoding
/// loop — each with its own ``ModelCache``. Concurrent calls share LinearRNN's helper threads
/// (``/LRNNLinearAlgebra/Threading``) rather than oversubscribing the cores, and every call's
/// result is bit-identical to the same call run alone.
public struct CausalLM<T: LRNNScalar>: Sendable, ParameterContainer {
    /// The shared configuration (vocabulary, width, norms, special tokens).
    public let configuration: LanguageModelConfiguration
    /// The token mixer of each layer.
    public let mixers: [MixerConfiguration]
    /// `model.embeddings` `[vocab, hidden]`.
    public internal(set) var embeddings: Embedding<T>
    /// `model.layers`.
    public internal(set) var layers: [Block<T>]
    /// `model.norm` `[hidden]`.
    public internal(set) var norm: RMSNorm<T>
    /// `lm_head` when it is not tied to the embeddings (nil when tied).
    var untiedHead: Linear<T>?
    /// The directory's `generation_config.json` (every field nil when it has none, and for a
    /// model built in code).
    public let generationConfiguration: GenerationConfiguration

    /// A model of the given structure whose parameters a ``ParameterWalk`` supplies.
    init(
        configuration: LanguageModelConfiguration, blocks: [BlockSpecification],
        generation: GenerationConfiguration = GenerationConfiguration()
    ) {
        let d = configuration.hiddenSize
        let v = configuration.vocabSize
        let eps = T(configuration.normEps)
        let context = MixerContext(
            hiddenSize: d, normEps: configuration.normEps, fuseNorm: configuration.fuseNorm)
        self.configuration = configuration
        self.mixers = blocks.map(\.mixer)
        self.generationConfiguration = generation
        embeddings = Embedding(vocabSize: v, hiddenSize: d)
        layers = blocks.map { spec in
            let m = configuration.resolvedIntermediateSize
            return Block(
                attnNorm: RMSNorm(dimension: d, eps: eps), attn: spec.mixer.registration.makeMixer(context),
                mlpNorm: spec.hasMLP ? RMSNorm(dimension: d, eps: eps) : nil,
                mlp: spec.hasMLP ? SwiGLUMLP(hiddenSize: d, intermediateSize: m) : nil)
        }
        norm = RMSNorm(dimension: d, eps: eps)
        untiedHead = configuration.tieWordEmbeddings ? nil : Linear(outFeatures: v, inFeatures: d)
    }

    /// `model.embeddings`, `model.layers.{i}` for each block, `model.norm`, then `lm_head` —
    /// or, with tied embeddings, no head parameter (a checkpoint's `lm_head.weight` is then
    /// shape-checked and ignored, as fla ties it).
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.child("model.embeddings", &embeddings)
        for i in layers.indices { try walk.child("model.layers.\(i)", &layers[i]) }
        try walk.child("model.norm", &norm)
        if untiedHead != nil {
            try walk.child("lm_head", &untiedHead!)
        } else {
            try walk.ignoredParameter("lm_head.weight", shape: [vocabSize, hiddenSize])
        }
    }

    /// `lm_head` `[vocab, hidden]` (the embedding matrix itself when tied).
    public var lmHead: Linear<T> { untiedHead ?? Linear(weight: embeddings.weight) }

    /// The number of token ids.
    public var vocabSize: Int { embeddings.vocabSize }
    /// The model width.
    public var hiddenSize: Int { embeddings.hiddenSize }
    /// The ids that end generation: `generation_config.json`'s `eos_token_id` when the file sets
    /// one (as transformers generates), else `config.json`'s.
    public var eosTokenIds: [Int] { generationConfiguration.eosTokenIds ?? configuration.eosTokenIds }

    /// The generation defaults of the model directory (``GenerationConfiguration/options(fallbackMaxNewTokens:)``):
    /// greedy unless `generation_config.json` sets `do_sample`, its `max_new_tokens` or 12 new
    /// tokens, stopping at ``eosTokenIds``. Start from these and override what the caller sets.
    public var defaultGenerationOptions: GenerationOptions { generationConfiguration.options() }

    /// The final hidden states `[tokens, hidden]` (after `norm`) for packed token ids.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func hiddenStates(
        _ ids: [Int], layout: SequenceLayout, states: inout [MixerState<T>]?
    ) throws(ModelError) -> Tensor<T> {
        var h = try embeddings(ids)
        for (i, block) in layers.enumerated() {
            var s: MixerState<T>? = nil
            if states != nil {
                s = states![i]
                states![i] = MixerState(conv: [], recurrent: Tensor(zeros: [0]))
            }
            do {
                try block.forward(&h, layout: layout, state: &s)
            } catch {
                if states != nil { states![i] = s! }
                throw .kernel(layer: i, error)
            }
            if states != nil { states![i] = s! }
        }
        norm.apply(&h)
        return h
    }

    /// Logits for a batch of equal-length sequences `inputIds [B][T]`, as `[B, T, vocab]`.
    /// - Parameter inputIds: B sequences of T token ids each.
    /// - Throws: ``ModelError/invalidArgument(name:reason:)`` for an empty batch or ragged
    ///   lengths, ``ModelError/tokenOutOfRange(token:vocabSize:)``, ``ModelError/kernel(layer:_:)``.
    public func logits(_ inputIds: [[Int]]) throws(ModelError) -> Tensor<T> {
        guard let t = inputIds.first?.count else {
            throw .invalidArgument(name: "inputIds", reason: "empty batch")
        }
        guard inputIds.allSatisfy({ $0.count == t }) else {
            throw .invalidArgument(
                name: "inputIds", reason: "sequences of unequal lengths; use logits(packed:cuSeqlens:)")
        }
        var none: [MixerState<T>]? = nil
        let h = try hiddenStates(
            inputIds.flatMap { $0 }, layout: .uniform(batch: inputIds.count, length: t), states: &none)
        return lmHead(h).reshaped([inputIds.count, t, vocabSize])
    }

    /// Logits for sequences packed back to back (`cuSeqlens` gives the boundaries; each sequence
    /// starts from a zero state), as `[tokens, vocab]`. Equals running each sequence alone.
    /// - Parameters:
    ///   - ids: the token ids of all sequences, back to back.
    ///   - cuSeqlens: the N + 1 boundaries, from 0 to `ids.count`, non-decreasing.
    /// - Throws: ``ModelError/invalidSequenceBoundaries(_:)`` for malformed `cuSeqlens`,
    ///   ``ModelError/tokenOutOfRange(token:vocabSize:)``, ``ModelError/kernel(layer:_:)``.
    public func logits(packed ids: [Int], cuSeqlens: [Int]) throws(ModelError) -> Tensor<T> {
        try Self.validate(cuSeqlens: cuSeqlens, total: ids.count)
        var none: [MixerState<T>]? = nil
        let h = try hiddenStates(ids, layout: .packed(cuSeqlens: cuSeqlens), states: &none)
        return lmHead(h)
    }

    /// A zero cache for `batchSize` sequences.
    /// - Parameter batchSize: the number of sequences the cache holds.
    /// - Precondition: `batchSize ≥ 1`.
    public func makeCache(batchSize: Int) -> ModelCache<T> {
        precondition(batchSize >= 1, "makeCache: batch size \(batchSize)")
        return ModelCache(layers: layers.map { $0.attn.makeState(sequences: batchSize) }, batchSize: batchSize)
    }

    /// Feeds each sequence's `tokens` (any lengths, one list per cached sequence, through the
    /// chunked kernels) and returns the logits of every fed token, `[Σ lengths, vocab]`, sequence
    /// after sequence. The cache continues from where it was, so prompts can be fed in pieces.
    /// - Parameters:
    ///   - tokens: one list of ids per cached sequence.
    ///   - cache: the cache, advanced past the fed tokens.
    /// - Throws: ``ModelError/cacheMismatch(reason:)`` when the list count is not the cache's
    ///   batch size, ``ModelError/tokenOutOfRange(token:vocabSize:)``, ``ModelError/kernel(layer:_:)``.
    public func forward(_ tokens: [[Int]], cache: inout ModelCache<T>) throws(ModelError) -> Tensor<T> {
        let h = try feed(tokens, cache: &cache)
        return lmHead(h)
    }

    /// Feeds the prompts (see ``forward(_:cache:)``) and returns only each sequence's last-token
    /// logits, `[B, vocab]` — the head runs on B rows only.
    /// - Parameters:
    ///   - prompts: one non-empty prompt per cached sequence.
    ///   - cache: the cache, advanced past the prompts.
    /// - Throws: as ``forward(_:cache:)``; ``ModelError/invalidArgument(name:reason:)`` for an
    ///   empty prompt.
    public func prefill(_ prompts: [[Int]], cache: inout ModelCache<T>) throws(ModelError) -> Tensor<T> {
        for (i, p) in prompts.enumerated() where p.isEmpty {
            throw .invalidArgument(name: "prompts[\(i)]", reason: "empty prompt")
        }
        let h = try feed(prompts, cache: &cache)
        let d = hiddenSize
        var last = Tensor<T>.zeros([prompts.count, d])
        var end = 0
        h.withUnsafeBufferPointer { hb in
            last.withUnsafeMutableBufferPointer { lb in
                for (i, p) in prompts.enumerated() {
                    end += p.count
                    (lb.baseAddress! + i * d).update(from: hb.baseAddress! + (end - 1) * d, count: d)
                }
            }
        }
        return lmHead(last)
    }

    /// One decoding step: feeds one token per cached sequence through the kernels' step
    /// functions and returns the next-token logits `[B, vocab]`.
    /// - Parameters:
    ///   - tokens: one id per cached sequence.
    ///   - cache: the cache, advanced by one token per sequence.
    /// - Throws: ``ModelError/cacheMismatch(reason:)`` when `tokens.count` is not the cache's
    ///   batch size, ``ModelError/tokenOutOfRange(token:vocabSize:)``, ``ModelError/kernel(layer:_:)``.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func decode(_ tokens: [Int], cache: inout ModelCache<T>) throws(ModelError) -> Tensor<T> {
        try checkCache(cache, count: tokens.count)
        var h = try embeddings(tokens)
        for (i, block) in layers.enumerated() {
            do {
                try block.step(&h, state: &cache.layers[i])
            } catch {
                throw .kernel(layer: i, error)
            }
        }
        for b in 0..<tokens.count { cache.tokenCounts[b] += 1 }
        norm.apply(&h)
        return lmHead(h)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func feed(_ tokens: [[Int]], cache: inout ModelCache<T>) throws(ModelError) -> Tensor<T> {
        try checkCache(cache, count: tokens.count)
        let lengths = tokens.map(\.count)
        let layout: SequenceLayout
        if lengths.allSatisfy({ $0 == lengths[0] }) {
            layout = .uniform(batch: tokens.count, length: lengths[0])
        } else {
            var cu = [0]
            for l in lengths { cu.append(cu.last! + l) }
            layout = .packed(cuSeqlens: cu)
        }
        var states: [MixerState<T>]? = cache.layers
        cache.layers = []
        defer { cache.layers = states! }
        let h = try hiddenStates(tokens.flatMap { $0 }, layout: layout, states: &states)
        for (b, l) in lengths.enumerated() { cache.tokenCounts[b] += l }
        return h
    }

    private func checkCache(_ cache: ModelCache<T>, count: Int) throws(ModelError) {
        guard cache.layers.count == layers.count else {
            throw .cacheMismatch(reason: "cache has \(cache.layers.count) layers, the model \(layers.count)")
        }
        guard count == cache.batchSize else {
            throw .cacheMismatch(reason: "\(count) sequences given for a cache of batch size \(cache.batchSize)")
        }
    }

    /// Validates packed-sequence boundaries against the token count, as every kernel does.
    ///
    /// - Throws: ``ModelError/invalidSequenceBoundaries(_:)`` holding
    ///   ``/LRNNKernels/KernelError/invalidSequenceBoundaries(reason:)``.
    static func validate(cuSeqlens cu: [Int], total: Int) throws(ModelError) {
        do {
            _ = try KernelError.validateSequenceBoundaries(cu, total: total)
        } catch {
            throw .invalidSequenceBoundaries(error)
        }
    }
}
