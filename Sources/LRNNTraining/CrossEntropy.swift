import LRNNLinearAlgebra

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
    /// parallel; the row losses are summed in row order, so the result does not depend on the
    /// number of workers.
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
        let invN = 1 / T(counted)
        var rowLoss = [T](repeating: 0, count: n)
        var grad: [T] = gradient ? [T](repeating: 0, count: logits.count) : []
        let rowsPerItem = Swift.max(1, 65_536 / v)
        let items = (n + rowsPerItem - 1) / rowsPerItem
        logits.withUnsafeBufferPointer { x in
            rowLoss.withUnsafeMutableBufferPointer { rl in
                grad.withUnsafeMutableBufferPointer { g in
                    // An empty array's buffer may still have a base address: the flag decides.
                    let (xb, rlb, gb) = (x.baseAddress!, rl.baseAddress!, gradient ? g.baseAddress : nil)
                    Threading.parallelFor(items) { item in
                        let lo = item * rowsPerItem
                        for i in lo..<Swift.min(n, lo + rowsPerItem) {
                            let label = labels[i]
                            if label == ignoreIndex { continue }
                            let row = xb + i * v
                            var m = row[0]
                            for j in 1..<v where row[j] > m || m.isNaN { m = row[j] }
                            var s: T = 0
                            for j in 0..<v { s += T.exp(row[j] - m) }
                            let lse = m + T.log(s)
                            rlb[i] = lse - row[label]
                            guard let gb else { continue }
                            let out = gb + i * v
                            for j in 0..<v { out[j] = T.exp(row[j] - lse) * invN }
                            out[label] -= invN
                        }
                    }
                }
            }
        }
        var total: T = 0
        for i in 0..<n where labels[i] != ignoreIndex { total += rowLoss[i] }
        return (total * invN, gradient ? Tensor(shape: logits.shape, scalars: grad) : nil)
    }
}
