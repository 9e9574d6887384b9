import LRNNLinearAlgebra

extension CausalLM {
    /// Generates continuations of a batch of prompts (any lengths): one prefill through the
    /// chunked kernels, then one decoding step per new token, every sequence stopping on its own
    /// at an EOS id (kept) or after `maxNewTokens` tokens.
    ///
    /// - Parameters:
    ///   - prompts: one prompt (non-empty) per sequence.
    ///   - options: the budget, sampling and stopping rules; nil takes the model directory's
    ///     defaults, ``defaultGenerationOptions`` (its `generation_config.json`).
    /// - Returns: the new tokens of each prompt and the prefill and decode timings.
    /// - Throws: ``ModelError/invalidArgument(name:reason:)`` for an empty batch, an empty prompt
    ///   or bad options, ``ModelError/tokenOutOfRange(token:vocabSize:)``, ``ModelError/kernel(layer:_:)``,
    ///   ``ModelError/nonFiniteLogits(sequence:position:)`` when the logits to choose from hold NaN or ±∞.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func generate(prompts: [[Int]], options: GenerationOptions? = nil) throws(ModelError)
        -> GenerationResult
    {
        try generate(prompts: prompts, options: options, onToken: nil)
    }

    /// ``generate(prompts:options:)`` with a callback for each token as it is chosen, to stream
    /// text while the model generates.
    ///
    /// - Parameters:
    ///   - prompts: one prompt (non-empty) per sequence.
    ///   - options: the budget, sampling and stopping rules; nil takes ``defaultGenerationOptions``.
    ///   - onToken: called with the sequence index and the token each time a token is chosen,
    ///     before the next decoding step (outside the timed decoding).
    /// - Returns: the new tokens of each prompt and the prefill and decode timings.
    /// - Throws: the errors of ``generate(prompts:options:)``.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func generate(
        prompts: [[Int]], options: GenerationOptions?, onToken: ((_ sequence: Int, _ token: Int) -> Void)?
    ) throws(ModelError) -> GenerationResult {
        let options = options ?? defaultGenerationOptions
        try options.validate()
        guard !prompts.isEmpty else { throw .invalidArgument(name: "prompts", reason: "empty batch") }
        let eos = Set(options.eosTokenIds ?? eosTokenIds)
        let b = prompts.count
        var result = GenerationResult(
            tokens: Array(repeating: [], count: b), prefillTokenCount: prompts.reduce(0) { $0 + $1.count },
            prefillSeconds: 0, decodeTokenCount: 0, decodeSeconds: 0)
        // Each sequence's budget: maxNewTokens, and what maxLength leaves after its prompt.
        let budgets = prompts.map { p in
            Swift.min(options.maxNewTokens, options.maxLength.map { Swift.max(0, $0 - p.count) } ?? Int.max)
        }
        if budgets.allSatisfy({ $0 == 0 }) {
            for p in prompts {
                for t in p where t < 0 || t >= vocabSize { throw .tokenOutOfRange(token: t, vocabSize: vocabSize) }
            }
            return result
        }
        var sampler = TokenSampler(options: options)
        var cache = makeCache(batchSize: b)
        let clock = ContinuousClock()
        let t0 = clock.now
        var logits = try prefill(prompts, cache: &cache)
        result.prefillSeconds = seconds(clock.now - t0)
        var active = budgets.map { $0 > 0 }
        var last = Array(repeating: 0, count: b)
        var decodeTime = Duration.zero
        while true {
            let v = vocabSize
            // No token is chosen from NaN or infinite logits (an arg-max over NaN would silently
            // pick token 0).
            let nonFinite = logits.withUnsafeBufferPointer { lb -> Int? in
                (0..<b).first { i in active[i] && lb[(i * v)..<((i + 1) * v)].contains { !$0.isFinite } }
            }
            if let i = nonFinite { throw .nonFiniteLogits(sequence: i, position: result.tokens[i].count) }
            logits.withUnsafeBufferPointer { lb in
                for i in 0..<b where active[i] {
                    let t = sampler.next(UnsafeBufferPointer(rebasing: lb[(i * v)..<((i + 1) * v)]))
                    result.tokens[i].append(t)
                    onToken?(i, t)
                    last[i] = t
                    if eos.contains(t) || result.tokens[i].count >= budgets[i] { active[i] = false }
                }
            }
            if !active.contains(true) { break }
            let s = clock.now
            logits = try decode(last, cache: &cache)
            decodeTime += clock.now - s
            result.decodeTokenCount += b
        }
        result.decodeSeconds = seconds(decodeTime)
        return result
    }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
