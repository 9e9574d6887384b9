import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTraining

/// Seeded examples for the toy model: rows of different lengths, every third label ignored in
/// some rows, so micro-batches count different numbers of positions.
func toyExamples(count: Int, vocabSize: Int, seed: UInt64) -> [TrainingExample] {
    var rng = SeededRandom(seed: seed)
    return (0..<count).map { i in
        let length = 3 + Int(rng.next() % 6)
        let ids = (0..<length).map { _ in Int(rng.next() % UInt64(vocabSize)) }
        let labels = (0..<length).map { t in i % 2 == 0 && t % 3 == 0 ? -100 : Int(rng.next() % UInt64(vocabSize)) }
        return try! TrainingExample(inputIDs: ids, labels: labels)
    }
}

/// The toy trainer's configuration: warm-up and cosine, clipping, accumulation, parameter groups.
func toyTrainer<T: LRNNScalar>(
    _: T.Type, examples: [TrainingExample], microBatchSize: Int = 2, seed: UInt64 = 7, modelSeed: UInt64 = 3
) throws -> Trainer<ToyLanguageModel<T>> {
    let model = ToyLanguageModel<T>(vocabSize: 13, hiddenSize: 6, seed: modelSeed)
    let optimizer = try AdamW<T>(
        weightDecay: 0.05,
        groups: [
            try ParameterGroup(name: "embeddings", kinds: [.embedding], learningRateScale: 0.5, weightDecay: 0),
            .noWeightDecay(),
        ])
    let configuration = try TrainerConfiguration<T>(
        batchSize: 4, microBatchSize: microBatchSize,
        schedule: .warmupCosine(peak: 0.05, warmupSteps: 3, totalSteps: 12, floor: 0.005), maxGradientNorm: 0.5,
        seed: seed)
    return try Trainer(model: model, optimizer: optimizer, configuration: configuration, examples: examples)
}
