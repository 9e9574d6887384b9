import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import LRNNTraining
import Testing

/// A stack mixing delta_net, S4D and softmax-attention blocks trains through `lossAndGradients`
/// with the trainer. The gradients themselves are checked against finite differences in
/// LRNNModelsTests (`ModelGradientTests`); this checks that the whole loop runs on them.
@Suite("Training a hybrid delta_net / S4D / attention stack")
struct HybridStackTrainingTests {
    /// Six fixed random sequences of 5–12 tokens (next-token labels) and a stack of width 16:
    /// after 60 full-batch steps the loss is a fraction of the first step's, and every parameter
    /// of every block has moved.
    @Test func theStackFitsAFixedBatch() throws {
        var rng = SeededRandom(seed: 3)
        let examples = try (0..<6).map { _ in
            let tokens = (0..<(6 + Int(rng.next() % 8))).map { _ in Int(rng.next() % 13) }
            return try TrainingExample(nextTokenOf: tokens)
        }
        var builder = ModelBuilder(vocabSize: 13, hiddenSize: 16, intermediateSize: 32)
        builder.append(.deltaNet(DeltaNetConfiguration(numHeads: 2)))
        builder.append(.s4d(S4DConfiguration(stateSize: 8, discretization: .bilinear)), mlp: false)
        builder.append(.attention(AttentionConfiguration(layers: [], numHeads: 2, numKVHeads: 1, windowSize: 4)))
        let model: CausalLM<Float> = try builder.build(seed: 2)
        // S4/S4D's recipe: the SSM dynamics at a lower learning rate, without decay (A_re, stored
        // as it is, must stay ≤ 0).
        let ssm = try ParameterGroup<Float>(name: "ssm", kinds: [.ssm], learningRateScale: 0.05, weightDecay: 0)
        let configuration = try TrainerConfiguration<Float>(
            batchSize: 6, schedule: .constant(0.02), maxGradientNorm: 1, seed: 0)
        var trainer = try Trainer(
            model: model, optimizer: try AdamW<Float>(weightDecay: 0.01, groups: [ssm, .noWeightDecay()]),
            configuration: configuration, examples: examples)
        let losses = try trainer.run(steps: 60).map { Double($0.loss!) }
        #expect(losses.last! < 0.2 * losses.first!, "first step \(losses.first!), last \(losses.last!)")
        let before = model.parameters()
        for (key, value) in trainer.model.parameters() { #expect(value != before[key]!, "\(key) did not move") }
    }
}
