import LRNNLinearAlgebra

/// The decoding state of a whole model for a batch of sequences: one ``MixerState`` per layer
/// (convolution windows and recurrent states), and how many tokens each sequence has consumed.
///
/// Made by ``CausalLM/makeCache(batchSize:)``; ``CausalLM/prefill(_:cache:)`` and
/// ``CausalLM/decode(_:cache:)`` advance it. Prefill followed by decoding gives the same logits
/// as one forward pass over the whole sequence.
///
/// Thread safety: a `Sendable` value the caller owns, one per request. It may move between
/// threads or tasks; the `inout` parameters that advance it keep two calls from using one cache
/// at the same time, while any number of caches may be advanced concurrently on one model.
public struct ModelCache<T: LRNNScalar>: Sendable {
    /// The per-layer states, each for ``batchSize`` sequences.
    public internal(set) var layers: [MixerState<T>]
    /// The number of sequences.
    public let batchSize: Int
    /// Tokens consumed so far by each sequence.
    public internal(set) var tokenCounts: [Int]

    init(layers: [MixerState<T>], batchSize: Int) {
        self.layers = layers
        self.batchSize = batchSize
        self.tokenCounts = Array(repeating: 0, count: batchSize)
    }
}
