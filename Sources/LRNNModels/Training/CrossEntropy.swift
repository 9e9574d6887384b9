import LRNNLinearAlgebra

/// Mean cross-entropy with ignored positions (PyTorch's `cross_entropy(…, ignore_index=-100)`,
/// reduction `mean`): `L = (1/N)·Σ_rows (logsumexp_j z_j − z_label)` over the rows given.
package enum CrossEntropy {
    /// The label that marks a position as ignored.
    package static let ignoreIndex = -100

    /// The loss over `logits [n, V]` for `labels` (one per row, each in `0..<V` or
    /// ``ignoreIndex``), divided by `count`, and, when `gradient`, its gradient written over the
    /// logits: `(softmax(z) − onehot(label))/count` on counted rows, zero on ignored rows (without
    /// `gradient` the logits are left unchanged). Each row's term is computed separately and the
    /// terms are summed in row order, so the result does not depend on the thread count. The one
    /// implementation behind the models' training loss and LRNNTraining's public `CrossEntropy`.
    ///
    /// - Parameters:
    ///   - logits: `[n, V]`, replaced by dL/dlogits when `gradient`.
    ///   - labels: n labels in `0..<V` or −100.
    ///   - count: N, the number of counted positions of the whole batch (≥ 1).
    ///   - gradient: whether to write the gradient over the logits.
    /// - Returns: the mean loss.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func lossAndGradient<T: LRNNScalar>(
        logits: inout Tensor<T>, labels: [Int], count: Int, gradient: Bool = true
    ) -> T {
        let n = labels.count
        let v = n == 0 ? 0 : logits.count / n
        precondition(logits.count == n * v, "CrossEntropy: logits \(logits.shape) for \(n) labels")
        if n == 0 || v == 0 { return 0 }
        var terms = [T](repeating: 0, count: n)
        let inv = 1 / T(count)
        logits.withUnsafeMutableBufferPointer { lb in
            terms.withUnsafeMutableBufferPointer { tb in
                let lp = lb.baseAddress!
                let tp = tb.baseAddress!
                parallelRanges(n, unitCost: 20 * v) { range in
                    for r in range {
                        let z = lp + r * v
                        let label = labels[r]
                        if label == ignoreIndex {
                            if gradient { z.update(repeating: 0, count: v) }
                            continue
                        }
                        var m = -T.infinity
                        for j in 0..<v { m = Swift.max(m, z[j]) }
                        let shifted = z[label] - m
                        var s: T = 0
                        if gradient {
                            for j in 0..<v {
                                let e = T.exp(z[j] - m)
                                s += e
                                z[j] = e
                            }
                        } else {
                            for j in 0..<v { s += T.exp(z[j] - m) }
                        }
                        tp[r] = T.log(s) - shifted
                        guard gradient else { continue }
                        let invS = inv / s
                        for j in 0..<v { z[j] *= invS }
                        z[label] -= inv
                    }
                }
            }
        }
        var total: T = 0
        for t in terms { total += t }
        return total * inv
    }
}
