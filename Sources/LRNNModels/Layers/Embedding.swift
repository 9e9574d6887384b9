import LRNNLinearAlgebra

/// A token embedding table: row `id` of `weight [vocab, hidden]` (checkpoint key
/// `model.embeddings.weight`).
public struct Embedding<T: LRNNScalar>: Sendable {
    /// `weight [vocab, hidden]`.
    public let weight: Tensor<T>

    /// Creates the table.
    /// - Parameter weight: the table `[vocab, hidden]`.
    /// - Precondition: `weight` has rank 2.
    public init(weight: Tensor<T>) {
        precondition(weight.rank == 2, "Embedding: weight shape \(weight.shape) is not [vocab, hidden]")
        self.weight = weight
    }

    /// The number of token ids.
    public var vocabSize: Int { weight.shape[0] }
    /// The embedding width.
    public var hiddenSize: Int { weight.shape[1] }

    /// The rows for `ids`, as `[ids.count, hidden]`.
    /// - Parameter ids: token ids in `0..<vocabSize`.
    /// - Throws: ``ModelError/tokenOutOfRange(token:vocabSize:)`` for an id outside `0..<vocab`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func callAsFunction(_ ids: [Int]) throws(ModelError) -> Tensor<T> {
        for id in ids where id < 0 || id >= vocabSize { throw .tokenOutOfRange(token: id, vocabSize: vocabSize) }
        let d = hiddenSize
        var out = Tensor<T>.zeros([ids.count, d])
        weight.withUnsafeBufferPointer { w in
            out.withUnsafeMutableBufferPointer { o in
                for (i, id) in ids.enumerated() {
                    (o.baseAddress! + i * d).update(from: w.baseAddress! + id * d, count: d)
                }
            }
        }
        return out
    }
}
