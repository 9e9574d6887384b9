import LRNNLinearAlgebra

/// A token embedding table: row `id` of `weight [vocab, hidden]` (checkpoint key
/// `model.embeddings.weight`).
///
/// A ``ParameterContainer`` with the parameter `weight` (N(0, initializer range²) when built in code).
public struct Embedding<T: LRNNScalar>: Sendable, ParameterContainer {
    /// `weight [vocab, hidden]`.
    public internal(set) var weight: Tensor<T>
    /// The number of token ids.
    public let vocabSize: Int
    /// The embedding width.
    public let hiddenSize: Int

    /// Creates the table.
    /// - Parameter weight: the table `[vocab, hidden]`.
    /// - Precondition: `weight` has rank 2.
    public init(weight: Tensor<T>) {
        precondition(weight.rank == 2, "Embedding: weight shape \(weight.shape) is not [vocab, hidden]")
        self.weight = weight
        vocabSize = weight.shape[0]
        hiddenSize = weight.shape[1]
    }

    /// A table of the given extents whose weight a ``ParameterWalk`` supplies (empty until then).
    init(vocabSize: Int, hiddenSize: Int) {
        weight = Tensor(zeros: [0])
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
    }

    /// `weight [vocab, hidden]`.
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.parameter("weight", &weight, shape: [vocabSize, hiddenSize], initializer: .normalInitializerRange)
    }

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
