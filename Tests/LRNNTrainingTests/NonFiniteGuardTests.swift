import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTraining
import Testing

@Suite("Non-finite step guard")
struct NonFiniteGuardTests {
    @Test func batchesWithANaNEmbeddingAreSkippedAndReported() throws {
        let examples = toyExamples(count: 9, vocabSize: 13, seed: 61)
        // The embedding row of example 0's first token is NaN: any batch holding that token has
        // a NaN loss.
        let token = examples[0].inputIDs[0]
        var trainer = try toyTrainer(Double.self, examples: examples)
        var p = trainer.parameters
        for j in 0..<6 { p["model.embeddings.weight"]!.scalars[token * 6 + j] = .nan }
        let model = try trainer.model.updating(parameters: p)
        trainer = try Trainer(
            model: model, optimizer: trainer.optimizer, configuration: trainer.configuration, examples: examples)
        var skipped = 0
        var applied = 0
        for _ in 0..<10 {
            let before = trainer.parameters
            let updatesBefore = trainer.optimizer.step
            let outcome = try trainer.step()
            let poisoned = outcome.examples.contains { examples[$0].inputIDs.contains(token) }
            switch outcome {
            case let .skipped(s):
                #expect(poisoned)
                #expect(s.reason == .nonFiniteLoss)
                #expect(s.loss!.isNaN)
                #expect(trainer.optimizer.step == updatesBefore)
                #expect(
                    trainer.parameters.keys.allSatisfy { k in
                        zip(trainer.parameters[k]!.scalars, before[k]!.scalars).allSatisfy {
                            $0 == $1 || ($0.isNaN && $1.isNaN)
                        }
                    })
                skipped += 1
            case let .applied(r):
                #expect(!poisoned)
                #expect(r.loss.isFinite)
                #expect(trainer.optimizer.step == updatesBefore + 1)
                applied += 1
            }
        }
        #expect(skipped > 0 && applied > 0)
        #expect(trainer.skippedSteps == skipped)
        #expect(trainer.stepsTaken == 10)
        #expect(trainer.optimizer.step == applied)
    }

    @Test func aFiniteLossWithANonFiniteGradientIsSkippedNamingTheKey() throws {
        // L = Σ √|p| is finite at p = 0 but its gradient is not.
        let params: [String: Tensor<Double>] = [
            "a.weight": Tensor(shape: [2], scalars: [1, 4]), "b.weight": Tensor(shape: [2], scalars: [0, 9]),
            "c.weight": Tensor(shape: [1], scalars: [0]),
        ]
        let model = ObjectiveModel(parameters: params, objective: .squareRootOfMagnitude)
        let expectedLoss: Double = 1 + 2 + 3
        var trainer = try Trainer(
            model: model, optimizer: try AdamW<Double>(),
            configuration: try TrainerConfiguration(batchSize: 1, schedule: .constant(0.1), seed: 1),
            examples: [try TrainingExample(inputIDs: [0], labels: [0])])
        for s in 0..<3 {
            guard case let .skipped(skip) = try trainer.step() else {
                Issue.record("step \(s) was applied")
                return
            }
            #expect(skip.step == s)
            #expect(skip.reason == .nonFiniteGradient(key: "b.weight"))
            #expect(skip.loss == expectedLoss)
            #expect(skip.examples == [0])
        }
        #expect(trainer.skippedSteps == 3)
        #expect(trainer.parameters == params)
        #expect(trainer.optimizer.step == 0)
    }

    @Test func aBatchWithoutCountedLabelsIsSkipped() throws {
        let model = ToyLanguageModel<Double>(vocabSize: 5, hiddenSize: 3, seed: 62)
        var trainer = try Trainer(
            model: model, optimizer: try AdamW<Double>(),
            configuration: try TrainerConfiguration(batchSize: 1, schedule: .constant(0.1), seed: 1),
            examples: [try TrainingExample(inputIDs: [1, 2], labels: [-100, -100])])
        guard case let .skipped(skip) = try trainer.step() else {
            Issue.record("the step was applied")
            return
        }
        #expect(skip.reason == .noCountedPositions && skip.loss == nil && skip.step == 0)
        #expect(trainer.skippedSteps == 1)
    }
}
