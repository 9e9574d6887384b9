import Foundation
import LRNNModels
import LRNNTraining

/// The complete settings of a `lrnn train` run, as stored in `run.json` of its output directory
/// (so `--resume` continues it exactly).
package struct TrainSettings: Codable, Sendable, Equatable {
    /// The task's command-line name (``/LRNNTraining/StateTrackingTask/names``).
    package var task: String
    /// fla's model type: `delta_net`, `gated_deltanet`, `gated_deltaproduct` or `gla`.
    package var model: String
    /// `negative` (β ∈ (0, 2), fla's `allow_neg_eigval`) or `positive` (β ∈ (0, 1)).
    package var eigenvalues: String
    /// Householder products per token (`num_householder`; > 1 only for `gated_deltaproduct`).
    package var householder: Int
    /// The number of blocks.
    package var layers: Int
    /// The model width d_model.
    package var hidden: Int
    /// The number of heads (dividing `hidden`).
    package var heads: Int
    /// The optimiser steps of the whole run.
    package var steps: Int
    /// Examples per step.
    package var batch: Int
    /// The peak learning rate.
    package var lr: Double
    /// The seed of the model's initial weights, the training batches and the evaluation set.
    package var seed: UInt64
    /// `float32` or `float64`.
    package var precision: String
    /// Evaluate every this many steps (and after the last).
    package var eval_every: Int
    /// The training lengths `a-b`.
    package var train_lengths: String
    /// The test lengths `a-b`.
    package var test_lengths: String
    /// Linear warm-up steps of the schedule (then a cosine to `lr_floor_ratio · lr` at `steps`).
    package var warmup_steps: Int
    /// The floor of the cosine as a fraction of `lr`.
    package var lr_floor_ratio: Double
    /// AdamW's weight decay (norms, biases and embeddings exempt).
    package var weight_decay: Double
    /// Global-norm clipping.
    package var clip_grad_norm: Double
    /// The most length buckets of an evaluation.
    package var eval_buckets: Int
    /// Evaluation examples in all, shared equally by the buckets.
    package var eval_examples: Int

    /// The parsed task.
    package var stateTrackingTask: StateTrackingTask { StateTrackingTask(name: task)! }
    /// The parsed training lengths.
    package var trainLengthRange: LengthRange { try! LengthRange(parsing: train_lengths) }
    /// The parsed test lengths.
    package var testLengthRange: LengthRange { try! LengthRange(parsing: test_lengths) }

    /// The evaluation set of the run: ``eval_examples`` examples over the test lengths, in at
    /// most ``eval_buckets`` buckets, seeded by ``seed``.
    package var evaluationSet: [EvaluationExample] {
        let range = testLengthRange
        let buckets = Swift.max(1, Swift.min(eval_buckets, range.count))
        return StateTrackingData(task: stateTrackingTask, lengths: trainLengthRange, seed: seed)
            .evaluationSet(lengths: range, buckets: buckets, perBucket: Swift.max(1, eval_examples / buckets))
    }

    /// The model types `--model` accepts.
    package static let modelTypes = ["delta_net", "gated_deltanet", "gated_deltaproduct", "gla"]

    /// The group tasks' CPU-sized training length k (test length 4k).
    package static let groupTrainLength = 32

    /// The CPU-sized defaults of a task (docs/experiments.md).
    ///
    /// - Parameter task: the task.
    /// - Returns: its default settings.
    package static func defaults(for task: StateTrackingTask) -> TrainSettings {
        let k = groupTrainLength
        switch task {
        case .parity, .modArithmetic:
            return TrainSettings(
                task: task.name, model: "delta_net", eigenvalues: "negative", householder: 1, layers: 2, hidden: 128,
                heads: 4, steps: 3000, batch: 32, lr: 1e-3, seed: 0, precision: "float32", eval_every: 250,
                train_lengths: "3-40", test_lengths: "40-256", warmup_steps: 100, lr_floor_ratio: 0.1,
                weight_decay: 0.01, clip_grad_norm: 1, eval_buckets: 8, eval_examples: 512)
        default:
            return TrainSettings(
                task: task.name, model: "delta_net", eigenvalues: "negative", householder: 1, layers: 1, hidden: 128,
                heads: 4, steps: 3000, batch: 32, lr: 1e-3, seed: 0, precision: "float32", eval_every: 250,
                train_lengths: "\(k)-\(k)", test_lengths: "\(4 * k)-\(4 * k)", warmup_steps: 100,
                lr_floor_ratio: 0.1, weight_decay: 0.01, clip_grad_norm: 1, eval_buckets: 8, eval_examples: 512)
        }
    }

    /// The token mixer of every block.
    package var mixer: MixerConfiguration {
        let negative = eigenvalues == "negative"
        switch model {
        case "delta_net":
            return .deltaNet(DeltaNetConfiguration(numHeads: heads, allowNegEigval: negative))
        case "gated_deltanet":
            return .gatedDeltaNet(
                GatedDeltaNetConfiguration(
                    numHeads: heads, headDim: hidden / heads, expandV: 1, allowNegEigval: negative))
        case "gated_deltaproduct":
            return .gatedDeltaProduct(
                GatedDeltaProductConfiguration(
                    numHeads: heads, headDim: hidden / heads, expandV: 1, numHouseholder: householder,
                    allowNegEigval: negative))
        default:
            return .gla(GLAConfiguration(numHeads: heads, expandK: 1, expandV: 1))
        }
    }

    /// The model builder: the task's vocabulary, `layers` blocks of ``mixer`` with SwiGLU MLPs.
    package var builder: ModelBuilder {
        var b = ModelBuilder(vocabSize: stateTrackingTask.vocabSize, hiddenSize: hidden)
        for _ in 0..<layers { b.append(mixer) }
        return b
    }
}
