import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTraining
import Testing

@Suite("Trainer checkpoints and exact resume")
struct TrainerResumeTests {
    static func temporaryDirectory(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("lrnn-trainer-\(name)-\(ProcessInfo.processInfo.processIdentifier)").path
        try? FileManager.default.removeItem(atPath: dir)
        return dir
    }

    static func losses<T: LRNNScalar>(_ outcomes: [TrainingStepOutcome<T>]) -> [T?] { outcomes.map(\.loss) }

    /// Runs `total` steps straight, and `split` steps, a checkpoint, a resume into a differently
    /// initialised model, then the rest; the losses, norms and final parameters must be the same bits.
    func resumeIsExact<T: LRNNScalar>(_: T.Type, split: Int, total: Int, dtype: SafeTensorsDType) throws {
        let examples = toyExamples(count: 10, vocabSize: 13, seed: 71)
        var straight = try toyTrainer(T.self, examples: examples)
        let reference = try straight.run(steps: total)

        var first = try toyTrainer(T.self, examples: examples)
        let before = try first.run(steps: split)
        let dir = Self.temporaryDirectory("\(T.precisionName)-\(split)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try first.saveCheckpoint(to: dir, modelDType: dtype)
        #expect(FileManager.default.fileExists(atPath: dir + "/config.json"))
        #expect(try SafeTensorsFile(path: dir + "/model.safetensors").info("lm_head.weight").dtype == dtype)

        let fresh = try toyTrainer(T.self, examples: examples, modelSeed: 99)
        var resumed = try Trainer.resume(
            from: dir, model: fresh.model, optimizer: fresh.optimizer, configuration: fresh.configuration,
            examples: examples)
        #expect(resumed.stepsTaken == split)
        #expect(resumed.dataOrder == first.dataOrder)
        let after = try resumed.run(steps: total - split)

        #expect(Self.losses(before + after) == Self.losses(reference))
        #expect((before + after) == reference)
        #expect(resumed.parameters == straight.parameters)
        #expect(resumed.optimizer.firstMoments == straight.optimizer.firstMoments)
        #expect(resumed.optimizer.secondMoments == straight.optimizer.secondMoments)
    }

    @Test(arguments: [0, 1, 4, 7])
    func float64ResumeIsBitExact(split: Int) throws {
        // 10 examples in batches of 4: splits mid-epoch, at the start, and across the warm-up.
        try resumeIsExact(Double.self, split: split, total: 11, dtype: .float32)
    }

    @Test func float32ResumeIsBitExactWithABF16Model() throws {
        try resumeIsExact(Float.self, split: 5, total: 9, dtype: .bfloat16)
    }

    @Test func aDirectoryInPlaceOfTheStateFileIsRefusedAndKept() throws {
        let examples = toyExamples(count: 6, vocabSize: 13, seed: 73)
        let trainer = try toyTrainer(Double.self, examples: examples)
        let dir = Self.temporaryDirectory("state-dir")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let state = dir + "/trainer_state.safetensors"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: state + "/note.txt"))
        #expect(
            throws: TrainingError.fileSystem(
                path: state, reason: "is a directory, expected the trainer state file or nothing")
        ) { try trainer.saveCheckpoint(to: dir) }
        #expect(FileManager.default.fileExists(atPath: state + "/note.txt"))
    }

    @Test func resumeRefusesAnotherPrecisionOrExampleCount() throws {
        let examples = toyExamples(count: 6, vocabSize: 13, seed: 72)
        var trainer = try toyTrainer(Double.self, examples: examples)
        _ = try trainer.run(steps: 2)
        let dir = Self.temporaryDirectory("refuse")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try trainer.saveCheckpoint(to: dir)
        let state = dir + "/trainer_state.safetensors"
        let float = try toyTrainer(Float.self, examples: examples)
        #expect(
            throws: TrainingError.invalidCheckpoint(
                file: state, reason: "the state was saved in Float64, resuming in Float32 would not continue it exactly"
            )
        ) {
            try Trainer.resume(
                from: dir, model: float.model, optimizer: float.optimizer, configuration: float.configuration,
                examples: examples)
        }
        #expect(
            throws: TrainingError.invalidCheckpoint(
                file: state, reason: "the data order was saved for 6 examples, resuming with 5")
        ) {
            try Trainer.resume(
                from: dir, model: trainer.model, optimizer: trainer.optimizer, configuration: trainer.configuration,
                examples: Array(examples.prefix(5)))
        }
        let other = ToyLanguageModel<Double>(vocabSize: 14, hiddenSize: 6, seed: 1)
        #expect(
            throws: TrainingError.shapeMismatch(
                tensor: "parameters.lm_head.bias", shape: [13], expected: [14])
        ) {
            try Trainer.resume(
                from: dir, model: other, optimizer: trainer.optimizer, configuration: trainer.configuration,
                examples: examples)
        }
        #expect(
            throws: TrainingError.checkpoint(
                .cannotOpen(file: dir + "/missing/trainer_state.safetensors", reason: "No such file or directory"))
        ) {
            try Trainer.resume(
                from: dir + "/missing", model: trainer.model, optimizer: trainer.optimizer,
                configuration: trainer.configuration, examples: examples)
        }
    }
}
