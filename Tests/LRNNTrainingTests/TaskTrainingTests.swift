import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTraining
import Testing

/// The trainer fed by a batch source: exact resume, and a tiny model that learns a tiny task.
@Suite("Training on state-tracking tasks")
struct TaskTrainingTests {
    static func model<T: LRNNScalar>(_: T.Type, task: StateTrackingTask, hidden: Int = 16, seed: UInt64 = 2) throws
        -> CausalLM<T>
    {
        var builder = ModelBuilder(vocabSize: task.vocabSize, hiddenSize: hidden)
        builder.append(.deltaNet(DeltaNetConfiguration(numHeads: 2, allowNegEigval: true)))
        return try builder.build(seed: seed)
    }

    static func trainer<T: LRNNScalar>(
        _: T.Type, task: StateTrackingTask, lengths: LengthRange, steps: Int, batch: Int, lr: T, modelSeed: UInt64 = 2
    ) throws -> Trainer<CausalLM<T>> {
        let configuration = try TrainerConfiguration<T>(
            batchSize: batch, schedule: .warmupCosine(peak: lr, warmupSteps: 5, totalSteps: steps, floor: lr / 10),
            maxGradientNorm: 1, seed: 0)
        return Trainer(
            model: try model(T.self, task: task, seed: modelSeed),
            optimizer: try AdamW<T>(weightDecay: 0.01, groups: [.noWeightDecay()]), configuration: configuration,
            batchSource: StateTrackingData(task: task, lengths: lengths, seed: 5))
    }

    @Test func resumeFromABatchSourceIsExact() throws {
        let lengths = try LengthRange(2, 9)
        var straight = try Self.trainer(Double.self, task: .s3, lengths: lengths, steps: 8, batch: 3, lr: 0.01)
        let reference = try straight.run(steps: 8)
        var first = try Self.trainer(Double.self, task: .s3, lengths: lengths, steps: 8, batch: 3, lr: 0.01)
        let before = try first.run(steps: 4)
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("lrnn-task-resume-\(ProcessInfo.processInfo.processIdentifier)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try first.saveCheckpoint(to: dir)
        let fresh = try Self.trainer(
            Double.self, task: .s3, lengths: lengths, steps: 8, batch: 3, lr: 0.01, modelSeed: 77)
        var resumed = try Trainer.resume(
            from: dir, model: fresh.model, optimizer: fresh.optimizer, configuration: fresh.configuration,
            batchSource: fresh.batchSource!)
        #expect(resumed.stepsTaken == 4)
        let after = try resumed.run(steps: 4)
        #expect(before + after == reference)
        #expect(resumed.parameters == straight.parameters)
        #expect(resumed.optimizer.secondMoments == straight.optimizer.secondMoments)
        #expect(
            throws: TrainingError.invalidCheckpoint(
                file: dir + "/trainer_state.safetensors",
                reason: "metadata 'data_source' is 'batch_source', resuming with an example list")
        ) {
            try Trainer.resume(
                from: dir, model: fresh.model, optimizer: fresh.optimizer, configuration: fresh.configuration,
                examples: try fresh.batchSource!.batch(step: 0, size: 2))
        }
    }

    /// A source that returns one example too few.
    struct ShortSource: TrainingBatchSource {
        func batch(step: Int, size: Int) throws(TrainingError) -> [TrainingExample] {
            try StateTrackingData(task: .parity, lengths: LengthRange(2, 3), seed: 0).batch(step: step, size: size - 1)
        }
    }

    @Test func aShortBatchIsRefused() throws {
        let configuration = try TrainerConfiguration<Double>(batchSize: 3, schedule: .constant(0.01), seed: 0)
        var trainer = Trainer(
            model: try Self.model(Double.self, task: .parity), optimizer: try AdamW<Double>(),
            configuration: configuration, batchSource: ShortSource())
        #expect(throws: TrainingError.invalidArgument(name: "batchSource", reason: "2 examples for step 0, expected 3"))
        {
            try trainer.step()
        }
        #expect(trainer.stepsTaken == 0)
    }

    /// Z_2 (the running parity at every position) on lengths 2–6 with a one-layer DeltaNet of
    /// width 16 and negative eigenvalues: after 80 steps of 6 examples the mean loss of the last
    /// 10 steps is a fraction of that of the first 10 (near ln 2: only the first position is
    /// trivial).
    @Test func aTinyModelLearnsTheRunningParity() throws {
        var trainer = try Self.trainer(
            Float.self, task: .cyclic(2), lengths: try LengthRange(2, 6), steps: 80, batch: 6, lr: 0.02)
        let losses = try trainer.run(steps: 80).map { Double($0.loss!) }
        let start = losses.prefix(10).reduce(0, +) / 10
        let end = losses.suffix(10).reduce(0, +) / 10
        #expect(start > 0.45)
        #expect(end < 0.3 * start, "first 10 steps \(start), last 10 \(end)")
    }
}
