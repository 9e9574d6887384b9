import LRNNLinearAlgebra

/// Sums the gradients of micro-batches so that the result equals the gradient of the whole
/// batch: each micro-batch's mean loss and gradient are weighted by its share of the counted
/// positions.
///
/// With micro-batch i contributing the mean loss L_i and gradient g_i over N_i counted positions
/// (labels ≠ −100) and N = Σ N_i, the batch's loss is `Σ N_i L_i / N` and its gradient
/// `Σ N_i g_i / N` — exactly the mean over all N positions that one large batch computes (up to
/// rounding). Weighting every micro-batch equally would instead over-weight the positions of
/// micro-batches with few counted labels.
public struct GradientAccumulator<T: LRNNScalar>: Sendable {
    /// N, the counted positions added so far.
    public private(set) var countedPositions = 0
    /// The number of micro-batches added so far.
    public private(set) var microBatches = 0
    /// Σ N_i L_i.
    private var weightedLoss: T = 0
    /// Σ N_i g_i by key.
    private var weightedGradients: [String: Tensor<T>] = [:]

    /// An empty accumulator.
    public init() {}

    /// Adds one micro-batch.
    ///
    /// - Parameters:
    ///   - loss: the micro-batch's mean loss L_i.
    ///   - gradients: its gradient g_i by key (the same keys and shapes for every micro-batch).
    ///   - positions: N_i ≥ 1, the micro-batch's counted positions.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` for N_i < 1;
    ///   ``TrainingError/missingParameter(name:key:)``, ``TrainingError/unexpectedParameter(name:key:)``
    ///   or ``TrainingError/shapeMismatch(tensor:shape:expected:)`` when the keys or shapes differ
    ///   from the first micro-batch's. Nothing is added when it throws.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public mutating func add(loss: T, gradients: [String: Tensor<T>], countedPositions positions: Int)
        throws(TrainingError)
    {
        guard positions >= 1 else {
            throw .invalidArgument(name: "countedPositions", reason: "\(positions), expected ≥ 1")
        }
        let w = T(positions)
        if weightedGradients.isEmpty {
            for (k, g) in gradients {
                var scaled = g
                scaled.withUnsafeMutableBufferPointer { s in
                    for i in 0..<s.count { s[i] *= w }
                }
                weightedGradients[k] = scaled
            }
        } else {
            try AdamW<T>.requireSameTensors(gradients, as: weightedGradients, name: "gradients")
            for k in gradients.keys.sorted() {
                var sum = weightedGradients.removeValue(forKey: k)!
                let g = gradients[k]!
                sum.withUnsafeMutableBufferPointer { s in
                    g.withUnsafeBufferPointer { gb in
                        for i in 0..<s.count { s[i] += w * gb[i] }
                    }
                }
                weightedGradients[k] = sum
            }
        }
        weightedLoss += w * loss
        countedPositions += positions
        microBatches += 1
    }

    /// The batch's loss and gradient: `Σ N_i L_i / N` and `Σ N_i g_i / N`.
    ///
    /// - Returns: the loss and gradients by key.
    /// - Throws: ``TrainingError/noCountedPositions(name:)`` when nothing was added.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public func result() throws(TrainingError) -> (loss: T, gradients: [String: Tensor<T>]) {
        guard countedPositions > 0 else { throw .noCountedPositions(name: "accumulated batch") }
        let inv = 1 / T(countedPositions)
        var out: [String: Tensor<T>] = [:]
        for (k, g) in weightedGradients {
            var mean = g
            mean.withUnsafeMutableBufferPointer { s in
                for i in 0..<s.count { s[i] *= inv }
            }
            out[k] = mean
        }
        return (weightedLoss * inv, out)
    }
}
