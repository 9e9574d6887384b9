import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import LRNNTraining
import Testing

/// The trainer on the golden fla models: the AdamW trajectories of the training cases through
/// the library API, and exact resume of a CausalLM run.
@Suite("Training fla models", .enabled(if: Golden.isAvailable, Golden.skipMessage))
struct CausalLMTrainingTests {
    static let cases = [
        "model_delta_net_train", "model_gated_deltanet_train", "model_gated_deltaproduct_train", "model_gla_train",
    ]

    static func batch(_ file: SafeTensorsFile) throws -> (ids: [[Int]], labels: [[Int]]) {
        let ids = try file.integerTensor("input_ids")
        let labels = try file.integerTensor("labels")
        let t = ids.shape[1]
        func rows(_ x: Tensor<Int>) -> [[Int]] { (0..<x.shape[0]).map { Array(x.scalars[($0 * t)..<(($0 + 1) * t)]) } }
        return (rows(ids), rows(labels))
    }

    /// The trajectory with the library's clipping and AdamW, and the case's hyperparameters.
    func trajectory<T: LRNNScalar>(_: T.Type, _ name: String) throws -> (
        loss: [Double], norm: [Double], file: SafeTensorsFile
    ) {
        let dir = Golden.path(name)
        let file = try SafeTensorsFile(path: dir + "/train_golden.safetensors")
        let (ids, labels) = try Self.batch(file)
        func meta(_ k: String) -> T { T(file.metadataNumber(k)!) }
        var model = try CausalLM<T>.load(directory: dir)
        var optimizer = try AdamW<T>(
            beta1: meta("adamw_beta1"), beta2: meta("adamw_beta2"), epsilon: meta("adamw_eps"),
            weightDecay: meta("adamw_weight_decay"))
        var parameters = model.parameters()
        var losses: [Double] = []
        var norms: [Double] = []
        for _ in 0..<Int(file.metadataNumber("adamw_steps")!) {
            var (loss, gradients) = try model.lossAndGradients(inputIDs: ids, labels: labels)
            losses.append(Double(loss))
            norms.append(Double(try GradientClipping.clip(&gradients, maxNorm: meta("clip_grad_norm"))))
            try optimizer.update(parameters: &parameters, gradients: gradients, learningRate: meta("adamw_lr"))
            model = try model.updating(parameters: parameters)
        }
        losses.append(Double(try model.loss(inputIDs: ids, labels: labels)))
        return (losses, norms, file)
    }

    static func relative(_ x: [Double], _ ref: Tensor<Double>) -> Double {
        zip(x, ref.scalars).map { abs($0 - $1) }.max()! / ref.maxAbs
    }

    @Test(arguments: cases)
    func adamwTrajectoryMatchesTheGolden(name: String) throws {
        let f64 = try trajectory(Double.self, name)
        #expect(Self.relative(f64.loss, try f64.file.tensor("loss_trajectory", as: Double.self)) <= 1e-8)
        #expect(Self.relative(f64.norm, try f64.file.tensor("grad_norm_trajectory", as: Double.self)) <= 1e-8)
        let f32 = try trajectory(Float.self, name)
        #expect(Self.relative(f32.loss, try f32.file.tensor("loss_trajectory", as: Double.self)) <= 1e-4)
        #expect(Self.relative(f32.norm, try f32.file.tensor("grad_norm_trajectory", as: Double.self)) <= 1e-4)
    }

    @Test func causalLMResumeIsBitExactAndTheCheckpointLoads() throws {
        let dir = Golden.path("model_gated_deltanet_train")
        let file = try SafeTensorsFile(path: dir + "/train_golden.safetensors")
        let (ids, labels) = try Self.batch(file)
        // Rows cut into halves: six examples, batches of four in two micro-batches.
        let examples = try zip(ids, labels).flatMap { row, lab in
            [
                try TrainingExample(inputIDs: Array(row[..<24]), labels: Array(lab[..<24])),
                try TrainingExample(inputIDs: Array(row[24...]), labels: Array(lab[24...])),
            ]
        }
        let model = try CausalLM<Double>.load(directory: dir)
        let optimizer = try AdamW<Double>(weightDecay: 0.1, groups: [.noWeightDecay()])
        let configuration = try TrainerConfiguration<Double>(
            batchSize: 4, microBatchSize: 2,
            schedule: .warmupCosine(peak: 2e-3, warmupSteps: 2, totalSteps: 6, floor: 2e-4), maxGradientNorm: 1, seed: 5
        )
        var straight = try Trainer(model: model, optimizer: optimizer, configuration: configuration, examples: examples)
        let reference = try straight.run(steps: 5)

        var first = try Trainer(model: model, optimizer: optimizer, configuration: configuration, examples: examples)
        let before = try first.run(steps: 2)
        let checkpoint = FileManager.default.temporaryDirectory
            .appendingPathComponent("lrnn-causallm-resume-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: checkpoint) }
        try first.saveCheckpoint(to: checkpoint, modelDType: .bfloat16)
        var resumed = try Trainer.resume(
            from: checkpoint, model: model, optimizer: optimizer, configuration: configuration, examples: examples)
        let after = try resumed.run(steps: 3)
        #expect((before + after) == reference)
        #expect(resumed.parameters == straight.parameters)
        #expect(reference.allSatisfy { if case .applied = $0 { true } else { false } })
        // The loss falls on the trained batches.
        #expect(reference.last!.loss! < reference.first!.loss!)

        // The model directory loads in this engine with the golden checkpoint's key set, in BF16.
        let written = try SafeTensorsFile(path: checkpoint + "/model.safetensors")
        let original = try SafeTensorsFile(path: dir + "/model.safetensors")
        #expect(written.names == original.names)
        #expect(written.names.allSatisfy { (try? written.info($0).dtype) == .bfloat16 })
        let reloaded = try CausalLM<Double>.load(directory: checkpoint)
        #expect(Set(reloaded.parameters().keys) == Set(first.parameters.keys))
    }

    /// AdamW through the model's parameter walk gives the bits of the dictionary update followed by
    /// a rebuilt model, and after the first step (which copies the tensors the caller's model
    /// still shares) the trainer's steps write every parameter in its own storage.
    @Test func inPlaceUpdateEqualsTheCopyingUpdateAndKeepsTheStorage() throws {
        let dir = Golden.path("model_gla_train")
        let file = try SafeTensorsFile(path: dir + "/train_golden.safetensors")
        let (ids, labels) = try Self.batch(file)
        let model = try CausalLM<Double>.load(directory: dir)
        var copying = model
        var inPlace = model
        var a = try AdamW<Double>(weightDecay: 0.1, groups: [.noWeightDecay()])
        var b = a
        var parameters = model.parameters()
        for _ in 0..<3 {
            let (_, gradients) = try copying.lossAndGradients(inputIDs: ids, labels: labels)
            try a.update(parameters: &parameters, gradients: gradients, learningRate: 1e-3)
            copying = try copying.updating(parameters: parameters)
            let (_, g2) = try inPlace.lossAndGradients(inputIDs: ids, labels: labels)
            #expect(g2 == gradients)
            try b.update(model: &inPlace, gradients: g2, learningRate: 1e-3)
        }
        #expect(inPlace.parameters() == copying.parameters())
        #expect(b.firstMoments == a.firstMoments && b.secondMoments == a.secondMoments)

        let examples = try zip(ids, labels).map { try TrainingExample(inputIDs: $0, labels: $1) }
        let configuration = try TrainerConfiguration<Double>(batchSize: 2, schedule: .constant(1e-3), seed: 3)
        var trainer = try Trainer(
            model: model, optimizer: try AdamW<Double>(), configuration: configuration, examples: examples)
        func addresses() -> [String: Int] {
            trainer.parameters.mapValues { t in t.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) } }
        }
        _ = try trainer.step()
        let first = addresses()
        _ = try trainer.step()
        #expect(addresses() == first)
        #expect(trainer.parameters != model.parameters())
    }
}
