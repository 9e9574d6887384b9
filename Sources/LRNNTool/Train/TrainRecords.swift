import Foundation
import LRNNTraining

/// The whole-range accuracies of an evaluation (`summary` of ``TrainEvaluationRecord``).
public struct TrainSummary: Codable, Sendable, Equatable {
    /// (accuracy − 1/c) / (1 − 1/c) over every test length.
    public var scaled_accuracy: Double
    /// The fraction of test sequences with every supervised position right.
    public var sequence_accuracy: Double
}

/// One evaluation of `lrnn train --json` (one line each) and of `lrnn eval --json`: exactly the
/// keys of docs/cli.md.
public struct TrainEvaluationRecord: Codable, Sendable, Equatable {
    /// The task's name.
    public var task: String
    /// fla's model type.
    public var model: String
    /// `negative` or `positive`.
    public var eigenvalues: String
    /// Householder products per token.
    public var householder: Int
    /// The run's seed.
    public var seed: UInt64
    /// The optimiser steps taken before this evaluation.
    public var steps: Int
    /// Wall-clock seconds of the run so far (training and evaluations; a resumed run adds its
    /// time to the interrupted one's), or of the evaluation alone for `lrnn eval`.
    public var seconds: Double
    /// The accuracies per length bucket.
    public var eval: [BucketAccuracy]
    /// The accuracies over the whole test range.
    public var summary: TrainSummary

    /// One line of JSON with sorted keys.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// What a run keeps beside its checkpoint (`history.json`): the loss of every step, every
/// evaluation and the seconds spent, so a resumed run continues its plots and its clock.
public struct TrainHistory: Codable, Sendable, Equatable {
    /// The batch loss of every step (nil for a skipped step without a finite loss).
    public var losses: [Double?] = []
    /// Every evaluation, in order.
    public var evaluations: [TrainEvaluationRecord] = []
    /// Wall-clock seconds so far.
    public var seconds: Double = 0
    /// Tokens trained on so far.
    public var tokens: Int = 0

    /// An empty history.
    public init() {}
}

/// One step's progress, for the progress bar.
public struct TrainStepProgress: Sendable, Equatable {
    /// Steps taken.
    public var step: Int
    /// Steps of the run.
    public var steps: Int
    /// The step's batch loss.
    public var loss: Double
    /// The whole-range accuracy of the last evaluation, if any.
    public var accuracy: Double?
    /// Training tokens per second since this process started training.
    public var tokensPerSecond: Double
}
