import LRNNLinearAlgebra
import LRNNModels

/// The evaluation of a model on a task: the accuracies per length bucket and over the whole test
/// range.
public struct TaskEvaluation: Sendable, Equatable {
    /// The task's number of classes c.
    public let classCount: Int
    /// The counts of each bucket, in increasing length.
    public let buckets: [(range: LengthRange, metrics: TaskMetrics)]
    /// The counts over every bucket.
    public let total: TaskMetrics

    /// The accuracies of each bucket.
    public var bucketAccuracies: [BucketAccuracy] {
        buckets.map { BucketAccuracy(range: $0.range, metrics: $0.metrics, classCount: classCount) }
    }

    /// The accuracies over the whole test range.
    public var summary: BucketAccuracy {
        BucketAccuracy(
            range: try! LengthRange(buckets.first?.range.lower ?? 1, buckets.last?.range.upper ?? 1), metrics: total,
            classCount: classCount)
    }

    /// Compares classes, buckets and counts.
    ///
    /// - Parameters:
    ///   - a: an evaluation.
    ///   - b: another.
    /// - Returns: whether they are equal.
    public static func == (a: TaskEvaluation, b: TaskEvaluation) -> Bool {
        a.classCount == b.classCount && a.total == b.total && a.buckets.count == b.buckets.count
            && zip(a.buckets, b.buckets).allSatisfy { $0.range == $1.range && $0.metrics == $1.metrics }
    }

    /// Evaluates a model on an evaluation set, forward only: the examples run in packed batches
    /// of `batchSize` (``/LRNNModels/CausalLM/logits(packed:cuSeqlens:)``, no padding), each
    /// supervised position is predicted by the argmax over the first c logits, and the counts are
    /// gathered per bucket.
    ///
    /// - Parameters:
    ///   - model: the model (its vocabulary must hold the task's).
    ///   - task: the task.
    ///   - examples: the evaluation set (``StateTrackingData/evaluationSet(lengths:buckets:perBucket:)``).
    ///   - batchSize: examples per forward pass (≥ 1).
    /// - Returns: the evaluation.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` for an empty set, a bad batch size
    ///   or a model whose vocabulary is smaller than the task's; ``TrainingError/model(_:)`` when
    ///   the model refuses a batch.
    public static func evaluate<T: LRNNScalar>(
        model: CausalLM<T>, task: StateTrackingTask, examples: [EvaluationExample], batchSize: Int = 64
    ) throws(TrainingError) -> TaskEvaluation {
        guard !examples.isEmpty else { throw .invalidArgument(name: "examples", reason: "empty evaluation set") }
        guard batchSize >= 1 else { throw .invalidArgument(name: "batchSize", reason: "\(batchSize), expected ≥ 1") }
        guard model.vocabSize >= task.vocabSize else {
            throw .invalidArgument(
                name: "model",
                reason: "vocabulary of \(model.vocabSize) ids, expected ≥ \(task.vocabSize) for task \(task.name)")
        }
        let c = task.classCount
        var order: [LengthRange] = []
        var counts: [LengthRange: TaskMetrics] = [:]
        var start = 0
        while start < examples.count {
            let chunk = examples[start..<Swift.min(examples.count, start + batchSize)]
            start += batchSize
            var ids: [Int] = []
            var cu = [0]
            for e in chunk {
                ids += e.example.inputIDs
                cu.append(ids.count)
            }
            let logits: Tensor<T>
            do { logits = try model.logits(packed: ids, cuSeqlens: cu) } catch { throw .model(error) }
            let predicted = TaskMetrics.predictions(logits: logits.scalars, vocabSize: model.vocabSize, classCount: c)
            for (i, e) in chunk.enumerated() {
                if counts[e.bucket] == nil {
                    order.append(e.bucket)
                    counts[e.bucket] = TaskMetrics()
                }
                counts[e.bucket]!.add(predictions: Array(predicted[cu[i]..<cu[i + 1]]), labels: e.example.labels)
            }
        }
        order.sort { $0.lower < $1.lower }
        var total = TaskMetrics()
        for r in order { total.add(counts[r]!) }
        return TaskEvaluation(classCount: c, buckets: order.map { ($0, counts[$0]!) }, total: total)
    }
}
