import LRNNLinearAlgebra

/// Global-norm gradient clipping, as PyTorch's `torch.nn.utils.clip_grad_norm_(params, c)`.
///
/// The global norm is `n = √(Σ g²)` over every element of every gradient; each gradient is then
/// multiplied by `min(1, c / (n + 10⁻⁶))` (the 10⁻⁶ is PyTorch's, and the golden training
/// cases' formula).
public enum GradientClipping {
    /// The constant added to the norm in the clipping factor.
    public static let normEpsilon = 1e-6

    /// The global L2 norm of all gradients, visited in sorted key order.
    ///
    /// Each tensor's sum of squares is accumulated in blocks of 256 elements (pairwise-like
    /// accuracy); when the plain sum overflows while every element is finite, it is recomputed
    /// scaled by the largest magnitude, so a finite gradient has a finite norm whenever the norm
    /// is representable.
    ///
    /// - Parameter gradients: the gradients by key.
    /// - Returns: `√(Σ g²)`; NaN or +∞ when an element is NaN or ±∞.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func globalNorm<T: LRNNScalar>(_ gradients: [String: Tensor<T>]) -> T {
        let keys = gradients.keys.sorted()
        var sum: T = 0
        for k in keys { sum += sumOfSquares(gradients[k]!, scale: 1) }
        if sum.isFinite { return sum.squareRoot() }
        var largest: T = 0
        for k in keys {
            for x in gradients[k]!.scalars {
                guard x.isFinite else { return x.isNaN ? x : .infinity }
                largest = Swift.max(largest, Swift.abs(x))
            }
        }
        var scaled: T = 0
        for k in keys { scaled += sumOfSquares(gradients[k]!, scale: 1 / largest) }
        return largest * scaled.squareRoot()
    }

    /// Scales the gradients so that their global norm is at most `maxNorm`.
    ///
    /// - Parameters:
    ///   - gradients: the gradients, multiplied in place by `min(1, maxNorm / (n + 10⁻⁶))`.
    ///   - maxNorm: c, the largest norm kept (finite, > 0).
    /// - Returns: n, the global norm before clipping.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` when `maxNorm` is not finite and
    ///   positive. A non-finite norm multiplies every gradient by NaN, as PyTorch does; the
    ///   ``Trainer`` checks the gradients before it clips.
    @discardableResult
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func clip<T: LRNNScalar>(
        _ gradients: inout [String: Tensor<T>], maxNorm: T
    ) throws(TrainingError) -> T {
        guard maxNorm.isFinite && maxNorm > 0 else {
            throw .invalidArgument(name: "maxNorm", reason: "\(maxNorm), expected a finite value > 0")
        }
        let n = globalNorm(gradients)
        let factor = Swift.min(1, maxNorm / (n + T(normEpsilon)))
        for k in gradients.keys.sorted() {
            var g = gradients.removeValue(forKey: k)!
            g.withUnsafeMutableBufferPointer { b in
                for i in 0..<b.count { b[i] *= factor }
            }
            gradients[k] = g
        }
        return n
    }

    /// `Σ (scale·x)²` over a tensor, in blocks of 256 summed in order.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func sumOfSquares<T: LRNNScalar>(_ x: Tensor<T>, scale: T) -> T {
        x.withUnsafeBufferPointer { b in
            var total: T = 0
            var start = 0
            while start < b.count {
                let end = Swift.min(b.count, start + 256)
                var block: T = 0
                for i in start..<end {
                    let y = b[i] * scale
                    block += y * y
                }
                total += block
                start = end
            }
            return total
        }
    }
}
