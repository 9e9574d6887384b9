import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTraining
import Testing

@Suite("Gradient accumulation")
struct GradientAccumulationTests {
    static func relative(_ a: [String: Tensor<Double>], _ b: [String: Tensor<Double>]) -> Double {
        a.keys.map { k in
            zip(a[k]!.scalars, b[k]!.scalars).map { abs($0 - $1) }.max()! / b[k]!.maxAbs
        }.max()!
    }

    @Test func accumulatedMicroBatchesEqualTheLargeBatch() throws {
        let model = ToyLanguageModel<Double>(vocabSize: 11, hiddenSize: 5, seed: 51)
        let examples = toyExamples(count: 7, vocabSize: 11, seed: 52)
        let whole = try model.lossAndGradients(inputIDs: examples.map(\.inputIDs), labels: examples.map(\.labels))
        // Uneven micro-batches with different counted-position counts.
        for split in [[0..<1, 1..<4, 4..<7], [0..<3, 3..<5, 5..<7], [0..<7]] {
            var acc = GradientAccumulator<Double>()
            for r in split {
                let part = Array(examples[r])
                let (l, g) = try model.lossAndGradients(inputIDs: part.map(\.inputIDs), labels: part.map(\.labels))
                try acc.add(loss: l, gradients: g, countedPositions: part.reduce(0) { $0 + $1.countedPositions })
            }
            let (loss, grads) = try acc.result()
            #expect(acc.microBatches == split.count)
            #expect(acc.countedPositions == examples.reduce(0) { $0 + $1.countedPositions })
            #expect(abs(loss - whole.loss) <= 1e-14 * whole.loss)
            #expect(Self.relative(grads, whole.gradients) <= 1e-13)
        }
    }

    @Test func equalWeightingWouldDiffer() throws {
        // The shares matter: the plain mean of the micro-batch gradients is another gradient.
        let model = ToyLanguageModel<Double>(vocabSize: 11, hiddenSize: 5, seed: 53)
        let examples = toyExamples(count: 4, vocabSize: 11, seed: 54)
        let a = try model.lossAndGradients(inputIDs: [examples[0].inputIDs], labels: [examples[0].labels])
        let b = try model.lossAndGradients(
            inputIDs: examples[1...].map(\.inputIDs), labels: examples[1...].map(\.labels))
        let whole = try model.lossAndGradients(inputIDs: examples.map(\.inputIDs), labels: examples.map(\.labels))
        #expect(abs((a.loss + b.loss) / 2 - whole.loss) > 1e-6)
    }

    @Test func trainerWithAccumulationFollowsTheLargeBatchTrainer() throws {
        let examples = toyExamples(count: 10, vocabSize: 13, seed: 55)
        var large = try toyTrainer(Double.self, examples: examples, microBatchSize: 4)
        var micro = try toyTrainer(Double.self, examples: examples, microBatchSize: 1)
        for _ in 0..<8 {
            guard case let .applied(l) = try large.step(), case let .applied(m) = try micro.step() else {
                Issue.record("a step was skipped")
                return
            }
            #expect(l.examples == m.examples)
            #expect(abs(l.loss - m.loss) <= 1e-12 * l.loss)
            #expect(abs(l.gradientNorm - m.gradientNorm) <= 1e-12 * l.gradientNorm)
        }
        #expect(Self.relative(micro.parameters, large.parameters) <= 1e-10)
    }

    @Test func misuseIsATypedError() throws {
        var acc = GradientAccumulator<Double>()
        #expect(throws: TrainingError.noCountedPositions(name: "accumulated batch")) { try acc.result() }
        #expect(throws: TrainingError.invalidArgument(name: "countedPositions", reason: "0, expected ≥ 1")) {
            try acc.add(loss: 1, gradients: ["w": .zeros([2])], countedPositions: 0)
        }
        try acc.add(loss: 1, gradients: ["w": .zeros([2])], countedPositions: 3)
        #expect(throws: TrainingError.shapeMismatch(tensor: "gradients.w", shape: [3], expected: [2])) {
            try acc.add(loss: 1, gradients: ["w": .zeros([3])], countedPositions: 3)
        }
    }
}
