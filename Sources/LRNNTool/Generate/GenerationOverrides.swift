import LRNNModels

/// The generation options a caller sets explicitly (the command line's), laid over a model's
/// own defaults (``/LRNNModels/CausalLM/defaultGenerationOptions``, from its
/// `generation_config.json`): every non-nil field replaces the default, every nil one keeps it.
package struct GenerationOverrides: Sendable, Equatable {
    /// The most new tokens per sequence.
    package var maxNewTokens: Int?
    /// Sampling temperature (0 = greedy).
    package var temperature: Double?
    /// Keep only the k most likely tokens; 0 switches the filter off (as `top_k: 0` does in
    /// transformers), so that a caller can undo a `generation_config.json`'s `top_k`.
    package var topK: Int?
    /// Keep the most likely tokens whose probability reaches p.
    package var topP: Double?
    /// The sampling seed.
    package var seed: UInt64?
    /// The ids that end a sequence (`[]`: never stop early).
    package var eosTokenIds: [Int]?

    /// Creates overrides; every field defaults to "keep the model's default".
    ///
    /// - Parameters:
    ///   - maxNewTokens: the token budget per sequence.
    ///   - temperature: 0 for greedy decoding, > 0 to sample.
    ///   - topK: the top-k filter (0: none).
    ///   - topP: the top-p filter.
    ///   - seed: the sampling seed.
    ///   - eosTokenIds: the ids that stop a sequence.
    package init(
        maxNewTokens: Int? = nil, temperature: Double? = nil, topK: Int? = nil, topP: Double? = nil,
        seed: UInt64? = nil, eosTokenIds: [Int]? = nil
    ) {
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.eosTokenIds = eosTokenIds
    }

    /// Overrides that set every field of `options` (the model's defaults then play no part,
    /// except its end-of-sequence ids when `options.eosTokenIds` is nil).
    ///
    /// - Parameter options: fully specified options.
    package init(_ options: GenerationOptions) {
        self.init(
            maxNewTokens: options.maxNewTokens, temperature: options.temperature, topK: options.topK,
            topP: options.topP, seed: options.seed, eosTokenIds: options.eosTokenIds)
        overridesFilters = true
        maxLength = options.maxLength
    }

    /// The `maxLength` of the options given to ``init(_:)`` (the model's `max_length` plays no
    /// part then).
    var maxLength: Int? = nil

    /// Whether `topK`/`topP` replace the defaults even when nil (set by ``init(_:)``).
    var overridesFilters = false

    /// `base` with every field set here replaced.
    ///
    /// - Parameter base: the model's defaults.
    /// - Returns: the options to generate with.
    package func applied(to base: GenerationOptions) -> GenerationOptions {
        var o = base
        if let maxNewTokens {
            // As in transformers, an explicit max_new_tokens replaces the file's max_length.
            o.maxNewTokens = maxNewTokens
            o.maxLength = nil
        }
        if let temperature { o.temperature = temperature }
        if overridesFilters { o.maxLength = maxLength }
        if let topK { o.topK = topK == 0 ? nil : topK } else if overridesFilters { o.topK = nil }
        if let topP { o.topP = topP } else if overridesFilters { o.topP = nil }
        if let seed { o.seed = seed }
        if let eosTokenIds { o.eosTokenIds = eosTokenIds }
        return o
    }
}
