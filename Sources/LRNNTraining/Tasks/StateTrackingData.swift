import LRNNLinearAlgebra

/// Seeded examples of a ``StateTrackingTask``: a fresh training batch for every step and a fixed
/// evaluation set, each example drawn from its own generator seeded by (seed, stream, index), so
/// the same seed gives the same examples whatever the thread count or the order they are made in.
///
/// A length is drawn uniformly from the range, then the example: parity draws each bit
/// uniformly, modular arithmetic a random expression (``ModularArithmetic/randomExpression(length:brackets:using:)``),
/// a word problem each element uniformly among ``StateTrackingTask/inputTokens``. Labels follow
/// ``StateTrackingTask`` (the answer at `=`, or the running product at every position).
public struct StateTrackingData: TrainingBatchSource {
    /// The task.
    public let task: StateTrackingTask
    /// The lengths of the training examples.
    public let lengths: LengthRange
    /// The seed of every example.
    public let seed: UInt64
    /// The task's group, built once (nil for parity and arithmetic).
    public let group: PermutationGroup?
    private let inputs: [Int]

    /// Creates the data of a task.
    ///
    /// - Parameters:
    ///   - task: the task.
    ///   - lengths: the training lengths.
    ///   - seed: the seed of every example.
    public init(task: StateTrackingTask, lengths: LengthRange, seed: UInt64) {
        self.task = task
        self.lengths = lengths
        self.seed = seed
        self.group = task.group
        self.inputs =
            switch task {
            case .s5Swaps: group!.transpositions
            case .parity, .modArithmetic: []
            default: Array(0..<group!.order)
            }
    }

    /// The seed of example `index` of stream `stream` (SplitMix64 mixing of the three).
    ///
    /// - Parameters:
    ///   - stream: the stream (a training step, or the evaluation set's stream).
    ///   - index: the example's index in the stream.
    /// - Returns: the seed of the example's generator.
    public func exampleSeed(stream: UInt64, index: Int) -> UInt64 {
        var g = SeededGenerator(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        let s = g.next()
        var h = SeededGenerator(seed: s ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15))
        return h.next()
    }

    /// One example of a given length.
    ///
    /// - Parameters:
    ///   - length: the requested length (≥ 1; modular arithmetic rounds it down to odd).
    ///   - generator: the random source.
    /// - Returns: the example.
    public func example(length: Int, using generator: inout SeededGenerator) -> TrainingExample {
        let n = task.effectiveLength(length)
        var ids: [Int]
        var labels: [Int]
        switch task {
        case .parity:
            ids = (0..<n).map { _ in Int(generator.next() & 1) }
            labels = [Int](repeating: CrossEntropy.ignoreIndex, count: n + 1)
            labels[n] = ids.reduce(0, +) % 2
            ids.append(task.answerToken!)
        case let .modArithmetic(brackets):
            ids = ModularArithmetic.randomExpression(length: n, brackets: brackets, using: &generator)
            labels = [Int](repeating: CrossEntropy.ignoreIndex, count: n + 1)
            labels[n] = ModularArithmetic.evaluate(ids)
            ids.append(ModularArithmetic.equals)
        default:
            let g = group!
            ids = (0..<n).map { _ in inputs[Int(generator.next() % UInt64(inputs.count))] }
            labels = []
            labels.reserveCapacity(n)
            var state = g.identity
            for x in ids {
                state = g.product(state, x)
                labels.append(state)
            }
        }
        return try! TrainingExample(inputIDs: ids, labels: labels)
    }

    /// Example `index` of stream `stream`, its length uniform in `lengths`.
    ///
    /// - Parameters:
    ///   - stream: the stream.
    ///   - index: the index in the stream.
    ///   - lengths: the range its length is drawn from.
    /// - Returns: the example and its length (before any rounding).
    public func example(stream: UInt64, index: Int, lengths: LengthRange) -> (example: TrainingExample, length: Int) {
        var g = SeededGenerator(seed: exampleSeed(stream: stream, index: index))
        let length = lengths.lower + Int(g.next() % UInt64(lengths.count))
        return (example(length: length, using: &g), task.effectiveLength(length))
    }

    /// The training examples of step `step`: examples 0..<size of stream `step`, lengths from
    /// ``lengths``.
    ///
    /// - Parameters:
    ///   - step: the step index (≥ 0).
    ///   - size: the number of examples.
    /// - Returns: the batch.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` for a negative step or size.
    public func batch(step: Int, size: Int) throws(TrainingError) -> [TrainingExample] {
        guard step >= 0 else { throw .invalidArgument(name: "step", reason: "\(step), expected ≥ 0") }
        guard size >= 0 else { throw .invalidArgument(name: "size", reason: "\(size), expected ≥ 0") }
        return (0..<size).map { example(stream: UInt64(step), index: $0, lengths: lengths).example }
    }

    /// The stream of the evaluation sets (disjoint from every training step's stream).
    public static let evaluationStream: UInt64 = 0xE7A1_0000_0000_0000

    /// A fixed evaluation set: `perBucket` examples for each of at most `buckets` length buckets
    /// of `lengths` (``LengthRange/buckets(maximum:)``), lengths uniform within a bucket.
    ///
    /// - Parameters:
    ///   - lengths: the test lengths.
    ///   - buckets: the most buckets (≥ 1).
    ///   - perBucket: the examples per bucket (≥ 1).
    /// - Returns: the examples, bucket by bucket, each with its bucket.
    public func evaluationSet(lengths: LengthRange, buckets: Int, perBucket: Int) -> [EvaluationExample] {
        var out: [EvaluationExample] = []
        for (b, bucket) in lengths.buckets(maximum: buckets).enumerated() {
            for i in 0..<perBucket {
                let e = example(stream: Self.evaluationStream &+ UInt64(b), index: i, lengths: bucket)
                out.append(EvaluationExample(example: e.example, length: e.length, bucket: bucket))
            }
        }
        return out
    }
}

/// An example of an evaluation set with its length and length bucket.
public struct EvaluationExample: Sendable, Equatable {
    /// The example.
    public let example: TrainingExample
    /// Its length (bits, expression tokens or group elements).
    public let length: Int
    /// The bucket it was drawn for.
    public let bucket: LengthRange

    /// Creates an evaluation example.
    ///
    /// - Parameters:
    ///   - example: the example.
    ///   - length: its length.
    ///   - bucket: the bucket it belongs to.
    public init(example: TrainingExample, length: Int, bucket: LengthRange) {
        self.example = example
        self.length = length
        self.bucket = bucket
    }
}
