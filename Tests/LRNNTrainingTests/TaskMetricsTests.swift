import LRNNLinearAlgebra
import LRNNModels
import LRNNTraining
import Testing

/// Accuracy, scaled accuracy and sequence accuracy on hand cases, and the evaluation runner.
@Suite("Task metrics")
struct TaskMetricsTests {
    @Test func countsPositionsAndSequences() {
        var m = TaskMetrics()
        m.add(predictions: [0, 1, 1], labels: [-100, 1, 1])  // both right
        m.add(predictions: [2, 0, 4], labels: [2, 1, -100])  // one of two right
        m.add(predictions: [3], labels: [3])
        #expect(m.positions == 5)
        #expect(m.correctPositions == 4)
        #expect(m.sequences == 3)
        #expect(m.correctSequences == 2)
        #expect(m.accuracy == 0.8)
        #expect(m.sequenceAccuracy == 2.0 / 3.0)
        var n = TaskMetrics()
        n.add(m)
        n.add(m)
        #expect(n.positions == 10 && n.correctSequences == 4)
    }

    @Test func scaledAccuracyIsZeroAtChanceAndOneWhenPerfect() {
        #expect(TaskMetrics.scaled(0.5, classCount: 2) == 0)
        #expect(TaskMetrics.scaled(1, classCount: 2) == 1)
        #expect(TaskMetrics.scaled(0.75, classCount: 2) == 0.5)
        #expect(TaskMetrics.scaled(0.2, classCount: 5) == 0)
        #expect(abs(TaskMetrics.scaled(0.6, classCount: 5) - 0.5) < 1e-15)
        #expect(TaskMetrics.scaled(0, classCount: 2) == -1)
    }

    @Test func predictionsTakeTheArgmaxOverTheClassLogitsOnly() {
        // Two rows of a 4-token vocabulary, 2 classes: the larger logits of ids 2 and 3 do not count.
        let logits: [Double] = [0.1, 0.3, 9, 9, 2.0, -1, 5, 0]
        #expect(TaskMetrics.predictions(logits: logits, vocabSize: 4, classCount: 2) == [1, 0])
        #expect(TaskMetrics.predictions(logits: logits, vocabSize: 4, classCount: 4) == [2, 2])
    }

    @Test func bucketAccuracyCarriesTheRange() throws {
        var m = TaskMetrics()
        m.add(predictions: [1], labels: [1])
        m.add(predictions: [1], labels: [0])
        m.add(predictions: [1], labels: [1])
        m.add(predictions: [0], labels: [0])
        let b = BucketAccuracy(range: try LengthRange(40, 67), metrics: m, classCount: 2)
        #expect(b == BucketAccuracy(range: try LengthRange(40, 67), metrics: m, classCount: 2))
        #expect(b.length_min == 40 && b.length_max == 67)
        #expect(b.accuracy == 0.75 && b.scaled_accuracy == 0.5 && b.sequence_accuracy == 0.75)
    }

    /// The runner against a direct computation: each example alone through `logits(_:)`, the
    /// argmax over the class logits compared with the labels.
    @Test func evaluationMatchesExampleByExampleLogits() throws {
        var builder = ModelBuilder(vocabSize: StateTrackingTask.s3.vocabSize, hiddenSize: 8)
        builder.append(.deltaNet(DeltaNetConfiguration(numHeads: 2, allowNegEigval: true)))
        let model: CausalLM<Double> = try builder.build(seed: 4)
        let data = StateTrackingData(task: .s3, lengths: try LengthRange(2, 4), seed: 8)
        let set = data.evaluationSet(lengths: try LengthRange(5, 12), buckets: 3, perBucket: 5)
        let result = try TaskEvaluation.evaluate(model: model, task: .s3, examples: set, batchSize: 4)
        #expect(result.buckets.map(\.range) == (try LengthRange(5, 12).buckets(maximum: 3)))
        var total = TaskMetrics()
        for e in set {
            let logits = try model.logits([e.example.inputIDs])
            let predicted = TaskMetrics.predictions(logits: logits.scalars, vocabSize: 6, classCount: 6)
            total.add(predictions: predicted, labels: e.example.labels)
        }
        #expect(result.total == total)
        #expect(result.summary.length_min == 5 && result.summary.length_max == 12)
        #expect(throws: TrainingError.invalidArgument(name: "examples", reason: "empty evaluation set")) {
            try TaskEvaluation.evaluate(model: model, task: .s3, examples: [])
        }
        #expect(
            throws: TrainingError.invalidArgument(
                name: "model", reason: "vocabulary of 6 ids, expected ≥ 24 for task s4")
        ) {
            try TaskEvaluation.evaluate(model: model, task: .s4, examples: set)
        }
    }
}
