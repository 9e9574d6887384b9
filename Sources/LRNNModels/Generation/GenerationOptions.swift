/// How ``CausalLM/generate(prompts:options:)`` picks and stops.
///
/// Temperature 0 is greedy decoding (the arg-max, first index on ties). A positive temperature
/// samples from `softmax(logits / temperature)`, restricted to the `topK` most likely tokens
/// and then to the smallest set whose probability reaches `topP`, drawing from a
/// ``/LRNNLinearAlgebra/SeededGenerator`` seeded with `seed`.
public struct GenerationOptions: Sendable, Equatable {
    /// The most new tokens per sequence (default 12).
    public var maxNewTokens: Int
    /// Sampling temperature; 0 means greedy (default 0).
    public var temperature: Double
    /// Keep only the k most likely tokens (nil: all).
    public var topK: Int?
    /// Keep the smallest set of most likely tokens with total probability ≥ p (nil: all).
    public var topP: Double?
    /// The sampling seed.
    public var seed: UInt64
    /// Ids that end a sequence (the id itself is kept); nil means the model's `eos_token_id`.
    public var eosTokenIds: [Int]?
    /// The most tokens per sequence, prompt included (transformers' `max_length`); nil: no such
    /// limit. A sequence stops at whichever of ``maxNewTokens`` and this comes first.
    public var maxLength: Int?

    /// Creates options; the defaults are greedy decoding of up to 12 tokens, stopping at EOS.
    ///
    /// - Parameters:
    ///   - maxNewTokens: the token budget per sequence.
    ///   - temperature: 0 for greedy decoding, > 0 to sample from `softmax(logits / temperature)`.
    ///   - topK: sample only among the k most likely tokens.
    ///   - topP: then only among the most likely tokens whose probability reaches p.
    ///   - seed: the sampling seed.
    ///   - eosTokenIds: the ids that stop a sequence; nil uses the model's `eos_token_id`, `[]` never stops early.
    ///   - maxLength: the most tokens per sequence, prompt included; nil: no such limit.
    public init(
        maxNewTokens: Int = 12, temperature: Double = 0, topK: Int? = nil, topP: Double? = nil, seed: UInt64 = 0,
        eosTokenIds: [Int]? = nil, maxLength: Int? = nil
    ) {
        self.maxLength = maxLength
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.eosTokenIds = eosTokenIds
    }

    /// Refuses impossible values.
    /// - Throws: ``ModelError/invalidArgument(name:reason:)`` naming the option.
    public func validate() throws(ModelError) {
        if maxNewTokens < 0 { throw .invalidArgument(name: "maxNewTokens", reason: "must be ≥ 0, got \(maxNewTokens)") }
        if let m = maxLength, m < 0 { throw .invalidArgument(name: "maxLength", reason: "must be ≥ 0, got \(m)") }
        if !(temperature >= 0) || !temperature.isFinite {
            throw .invalidArgument(name: "temperature", reason: "must be finite and ≥ 0, got \(temperature)")
        }
        if let k = topK, k < 1 { throw .invalidArgument(name: "topK", reason: "must be ≥ 1, got \(k)") }
        if let p = topP, !(p > 0 && p <= 1) {
            throw .invalidArgument(name: "topP", reason: "must be in (0, 1], got \(p)")
        }
    }
}

/// What ``CausalLM/generate(prompts:options:)`` produced, with its timing.
public struct GenerationResult: Sendable, Equatable {
    /// The new tokens of each sequence (an EOS that stopped it is included).
    public var tokens: [[Int]]
    /// Prompt tokens fed through the prefill path.
    public var prefillTokenCount: Int
    /// Wall time of the prefill, in seconds.
    public var prefillSeconds: Double
    /// Tokens fed through the decoding path (sequences × steps).
    public var decodeTokenCount: Int
    /// Wall time of the decoding steps, in seconds.
    public var decodeSeconds: Double

    /// Prefill throughput in tokens per second.
    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(prefillTokenCount) / prefillSeconds : 0 }
    /// Decoding throughput in tokens per second.
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(decodeTokenCount) / decodeSeconds : 0 }
}
