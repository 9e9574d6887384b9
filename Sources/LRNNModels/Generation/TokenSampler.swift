import LRNNLinearAlgebra
import RealModule

/// Picks the next token from a row of logits: arg-max at temperature 0, otherwise a seeded
/// draw from the temperature-scaled softmax after top-k and top-p filtering.
public struct TokenSampler: Sendable {
    /// The options (temperature, top-k, top-p).
    public let options: GenerationOptions
    private var rng: SeededGenerator

    /// Creates a sampler seeded with `options.seed`.
    public init(options: GenerationOptions) {
        self.options = options
        self.rng = SeededGenerator(seed: options.seed)
    }

    /// The arg-max (the first index among equal maxima; NaN entries are never chosen).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func argmax<T: LRNNScalar>(_ logits: UnsafeBufferPointer<T>) -> Int {
        var best = 0
        var bestValue = -T.infinity
        for (i, x) in logits.enumerated() where x > bestValue {
            best = i
            bestValue = x
        }
        return best
    }

    /// The next token for one row of logits.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public mutating func next<T: LRNNScalar>(_ logits: UnsafeBufferPointer<T>) -> Int {
        if options.temperature == 0 || logits.count <= 1 { return Self.argmax(logits) }
        var order = Array(0..<logits.count).filter { !logits[$0].isNaN }
        if order.isEmpty { return 0 }
        order.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        if let k = options.topK, k < order.count { order.removeLast(order.count - k) }
        let top = Double(logits[order[0]])
        var probs = order.map { Double.exp((Double(logits[$0]) - top) / options.temperature) }
        var total = probs.reduce(0, +)
        if let p = options.topP, p < 1 {
            var cumulative = 0.0
            var keep = probs.count
            for (i, w) in probs.enumerated() {
                cumulative += w / total
                if cumulative >= p {
                    keep = i + 1
                    break
                }
            }
            probs.removeLast(probs.count - keep)
            order.removeLast(order.count - keep)
            total = probs.reduce(0, +)
        }
        var u = rng.unit() * total
        for (i, w) in probs.enumerated() {
            u -= w
            if u < 0 { return order[i] }
        }
        return order[order.count - 1]
    }
}
