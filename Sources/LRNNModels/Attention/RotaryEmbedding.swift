import Foundation
import LRNNLinearAlgebra

/// Rotary position embedding in fla's convention (`fla/modules/rotary.py`, `RotaryEmbedding` with
/// `interleaved=False`: the GPT-NeoX layout of RoFormer, Su et al. 2021).
///
/// For a head `x = [x1, x2]` of even size D (halves of D/2) at position p:
///
///     inv_freq[i] = base^(−2i/D),  θ_i = p · inv_freq[i]   (i < D/2)
///     x' = [x1·cos θ − x2·sin θ,  x2·cos θ + x1·sin θ]       (x·cos + rotate_half(x)·sin)
///
/// fla computes `inv_freq` and the angles `p · inv_freq` in float32 whatever the model's
/// precision; they are rounded the same way here (so long contexts rotate by the same angles),
/// and cos and sin of those angles are evaluated in the run precision.
public struct RotaryEmbedding<T: LRNNScalar>: Sendable {
    /// The head size D (even).
    public let headDim: Int
    /// The base (`rope_theta`).
    public let base: Double
    /// `inv_freq [D/2]` in float32, as fla computes it.
    public let inverseFrequencies: [Float]

    /// Creates the embedding of heads of `headDim` elements.
    ///
    /// - Parameters:
    ///   - headDim: the head size D.
    ///   - base: the rotary base (`rope_theta`).
    /// - Precondition: `headDim` is even and ≥ 0, `base` is positive and finite.
    public init(headDim: Int, base: Double) {
        precondition(headDim >= 0 && headDim % 2 == 0, "RotaryEmbedding: head size \(headDim) is not even")
        precondition(base > 0 && base.isFinite, "RotaryEmbedding: base \(base)")
        self.headDim = headDim
        self.base = base
        inverseFrequencies = (0..<(headDim / 2)).map { i in
            let exponent = Float(2 * i) / Float(headDim)
            return 1 / Float(Foundation.pow(base, Double(exponent)))
        }
    }

    /// Rotates q and k in place: rows `[tokens, heads·D]`, sequence n is rows
    /// `boundaries[n] ..< boundaries[n + 1]` and its first row is at position `offsets[n]`.
    ///
    /// - Parameters:
    ///   - q: queries `[tokens, qHeads·D]`.
    ///   - qHeads: the query heads per row.
    ///   - k: keys `[tokens, kHeads·D]`.
    ///   - kHeads: the key heads per row.
    ///   - boundaries: the N + 1 sequence boundaries over the rows.
    ///   - offsets: the position of each sequence's first row (N entries; 0 for a fresh sequence).
    /// - Precondition: the shapes agree with the boundaries.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func apply(
        q: inout Tensor<T>, qHeads: Int, k: inout Tensor<T>, kHeads: Int, boundaries: [Int], offsets: [Int]
    ) {
        rotate(q: &q, qHeads: qHeads, k: &k, kHeads: kHeads, boundaries: boundaries, offsets: offsets, inverse: false)
    }

    /// Rotates q and k in place by θ, or by −θ when `inverse` (the transpose of the rotation:
    /// the backward of ``apply(q:qHeads:k:kHeads:boundaries:offsets:)``); arguments as there.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func rotate(
        q: inout Tensor<T>, qHeads: Int, k: inout Tensor<T>, kHeads: Int, boundaries: [Int], offsets: [Int],
        inverse: Bool
    ) {
        let d = headDim
        let half = d / 2
        let rows = boundaries.last ?? 0
        precondition(
            q.count == rows * qHeads * d && k.count == rows * kHeads * d && offsets.count == boundaries.count - 1,
            "RotaryEmbedding: q \(q.shape), k \(k.shape) for \(rows) rows, offsets \(offsets.count)")
        if half == 0 || rows == 0 { return }
        var position = [Int](repeating: 0, count: rows)
        for n in 0..<offsets.count {
            for r in boundaries[n]..<boundaries[n + 1] { position[r] = offsets[n] + r - boundaries[n] }
        }
        let freqs = inverseFrequencies
        q.withUnsafeMutableBufferPointer { qb in
            k.withUnsafeMutableBufferPointer { kb in
                let qp = qb.baseAddress!
                let kp = kb.baseAddress!
                parallelRanges(rows, unitCost: (qHeads + kHeads + 4) * d) { range in
                    var cos = [T](repeating: 0, count: half)
                    var sin = [T](repeating: 0, count: half)
                    for r in range {
                        let p = Float(position[r])
                        for i in 0..<half {
                            let angle = Double(p * freqs[i])
                            cos[i] = T(Foundation.cos(angle))
                            sin[i] = T(inverse ? -Foundation.sin(angle) : Foundation.sin(angle))
                        }
                        for h in 0..<qHeads { Self.rotate(qp + (r * qHeads + h) * d, half, cos, sin) }
                        for h in 0..<kHeads { Self.rotate(kp + (r * kHeads + h) * d, half, cos, sin) }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func rotate(_ x: UnsafeMutablePointer<T>, _ half: Int, _ cos: [T], _ sin: [T]) {
        for i in 0..<half {
            let a = x[i]
            let b = x[i + half]
            x[i] = a * cos[i] - b * sin[i]
            x[i + half] = b * cos[i] + a * sin[i]
        }
    }
}
