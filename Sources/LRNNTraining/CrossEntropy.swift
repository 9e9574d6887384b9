import LRNNLinearAlgebra
import LRNNModels

/// The training loss: mean cross-entropy over the positions whose label is not −100, and its
/// gradient with respect to the logits.
///
/// With N the number of counted positions (labels ≠ −100, N > 0),
///
///     L = (1/N) · Σ_{i counted} ( logsumexp_j logits[i, j] − logits[i, labels[i]] )
///
/// (natural log), and `dL/dlogits[i, j] = (softmax(logits[i])_j − [j = labels[i]]) / N` on counted
/// rows, zero on ignored rows. This is PyTorch's `cross_entropy(logits, labels,
/// ignore_index=-100, reduction="mean")` as fla's models use it, and the loss of the golden
/// training cases; labels are scored as given (nothing is shifted).
public enum CrossEntropy {
    /// The label of a position that is ignored: it enters neither the sum nor N.
    public static let ignoreIndex = -100

    /// The number of counted positions (labels other than ``ignoreIndex``).
    ///
    /// - Parameter labels: labels, in any order.
    /// - Returns: how many differ from −100.
    public static func countedPositions<C: Collection<Int>>(_ labels: C) -> Int {
        labels.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    }

    /// The mean cross-entropy alone.
    ///
    /// - Parameters:
    ///   - logits: `[..., V]`: one row of V class scores per position (any leading shape).
    ///   - labels: one label per row (the product of the leading extents), row-major.
    /// - Returns: L as defined above; NaN or ±∞ when the counted rows hold non-finite logits.
    /// - Throws: ``TrainingError/shapeMismatch(tensor:shape:expected:)`` for labels of another
    ///   count or logits of rank 0 or V = 0, ``TrainingError/labelOutOfRange(position:label:vocabSize:)``,
    ///   ``TrainingError/noCountedPositions(name:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func loss<T: LRNNScalar>(logits: Tensor<T>, labels: [Int]) throws(TrainingError) -> T {
        try evaluate(logits: logits, labels: labels, gradient: false).loss
    }

    /// The mean cross-entropy and its gradient with respect to the logits.
    ///
    /// - Parameters:
    ///   - logits: `[..., V]`: one row of V class scores per position (any leading shape).
    ///   - labels: one label per row (the product of the leading extents), row-major.
    /// - Returns: L and dL/dlogits (the shape of `logits`; ignored rows are zero).
    /// - Throws: as ``loss(logits:labels:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func lossAndGradient<T: LRNNScalar>(
        logits: Tensor<T>, labels: [Int]
    ) throws(TrainingError) -> (loss: T, gradient: Tensor<T>) {
        let r = try evaluate(logits: logits, labels: labels, gradient: true)
        return (r.loss, r.gradient ?? Tensor.zeros(logits.shape))
    }

    /// Validates, then computes each row's `logsumexp − logit[label]` (and the gradient row) in
    /// parallel through the models' cross-entropy kernel; the row losses are summed in row order,
    /// so the result does not depend on the number of workers.
    private static func evaluate<T: LRNNScalar>(
        logits: Tensor<T>, labels: [Int], gradient: Bool
    ) throws(TrainingError) -> (loss: T, gradient: Tensor<T>?) {
        guard logits.rank >= 1, let v = logits.shape.last, v >= 1 else {
            throw .shapeMismatch(tensor: "logits", shape: logits.shape, expected: [labels.count, 1])
        }
        let n = logits.count / v
        guard labels.count == n else {
            throw .shapeMismatch(tensor: "labels", shape: [labels.count], expected: [n])
        }
        var counted = 0
        for (i, l) in labels.enumerated() where l != ignoreIndex {
            guard l >= 0 && l < v else { throw .labelOutOfRange(position: i, label: l, vocabSize: v) }
            counted += 1
        }
        guard counted > 0 else { throw .noCountedPositions(name: "labels") }
        // The models' row kernel (the loss of CausalLM.lossAndGradients), on a copy of the logits.
        var work = logits.reshaped([n, v])
        let loss = LRNNModels.CrossEntropy.lossAndGradient(
            logits: &work, labels: labels, count: counted, gradient: gradient)
        return (loss, gradient ? work.reshaped(logits.shape) : nil)
    }
}
