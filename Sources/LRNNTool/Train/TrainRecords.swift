import Foundation
import LRNNTraining

/// The whole-range accuracies of an evaluation (`summary` of ``TrainEvaluationRecord``).
package struct TrainSummary: Codable, Sendable, Equatable {
    /// (accuracy − 1/c) / (1 − 1/c) over every test length.
    package var scaled_accuracy: Double
    /// The fraction of test sequences with every supervised position right.
    package var sequence_accuracy: Double
}

/// One evaluation of `lrnn train --json` (one line each) and of `lrnn eval --json`: exactly the
/// keys of docs/cli.md.
package struct TrainEvaluationRecord: Codable, Sendable, Equatable {
    /// The task's name.
    package var task: String
    /// fla's model type.
    package var model: String
    /// `negative` or `positive`.
    package var eigenvalues: String
    /// Householder products per token.
    package var householder: Int
    /// The run's seed.
    package var seed: UInt64
    /// The optimiser steps taken before this evaluation.
    package var steps: Int
    /// Wall-clock seconds of the run so far (training and evaluations; a resumed run adds its
    /// time to the interrupted one's), or of the evaluation alone for `lrnn eval`.
    package var seconds: Double
    /// The accuracies per length bucket.
    package var eval: [BucketAccuracy]
    /// The accuracies over the whole test range.
    package var summary: TrainSummary

    /// One line of JSON with sorted keys.
    package func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// What a run keeps beside its checkpoint (`history.json`): the loss of every step, every
/// evaluation and the seconds spent, so a resumed run continues its plots and its clock.
package struct TrainHistory: Codable, Sendable, Equatable {
    /// The batch loss of every step (nil for a skipped step without a finite loss).
    package var losses: [Double?] = []
    /// Every evaluation, in order.
    package var evaluations: [TrainEvaluationRecord] = []
    /// Wall-clock seconds so far.
    package var seconds: Double = 0
    /// Tokens trained on so far.
    package var tokens: Int = 0

    /// An empty history.
    package init() {}
}

/// One step's progress, for the progress bar.
package struct TrainStepProgress: Sendable, Equatable {
    /// Steps taken.
    package var step: Int
    /// Steps of the run.
    package var steps: Int
    /// The step's batch loss.
    package var loss: Double
    /// The whole-range accuracy of the last evaluation, if any.
    package var accuracy: Double?
    /// Training tokens per second since this process started training.
    package var tokensPerSecond: Double
}
