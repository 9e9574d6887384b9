import LRNNLinearAlgebra

/// What one ``Trainer/step()`` did: an update, or a step skipped by the non-finite guard.
public enum TrainingStepOutcome<T: LRNNScalar>: Sendable, Equatable {
    /// The optimiser updated the parameters.
    case applied(TrainingStepReport<T>)
    /// The batch was consumed but the parameters and the optimiser state were left unchanged.
    case skipped(SkippedStep<T>)

    /// The step index s (of the schedule) of this step.
    public var step: Int {
        switch self {
        case let .applied(r): r.step
        case let .skipped(s): s.step
        }
    }

    /// The examples of the step's batch, by index, in the order they were drawn.
    public var examples: [Int] {
        switch self {
        case let .applied(r): r.examples
        case let .skipped(s): s.examples
        }
    }

    /// The batch loss before the step (NaN or ±∞ for a step skipped for its loss; nil for a
    /// step without counted positions).
    public var loss: T? {
        switch self {
        case let .applied(r): r.loss
        case let .skipped(s): s.loss
        }
    }
}

/// An applied optimiser step.
public struct TrainingStepReport<T: LRNNScalar>: Sendable, Equatable {
    /// The step index s (the schedule's position; skipped steps count).
    public let step: Int
    /// The optimiser's update count t after this step (skipped steps do not count).
    public let update: Int
    /// The batch loss before the update (mean over the counted positions of the whole batch).
    public let loss: T
    /// The global gradient norm before clipping.
    public let gradientNorm: T
    /// The scheduled learning rate of the step (before any group's scale).
    public let learningRate: T
    /// The counted positions of the batch.
    public let countedPositions: Int
    /// The examples of the batch, by index, in the order they were drawn (for a trainer fed by a
    /// ``TrainingBatchSource``, 0..<batchSize: positions in the step's batch).
    public let examples: [Int]
}

/// A step the non-finite guard skipped.
public struct SkippedStep<T: LRNNScalar>: Sendable, Equatable {
    /// The step index s (the schedule's position).
    public let step: Int
    /// Why the step was skipped.
    public let reason: SkipReason
    /// The batch loss, when one was computed.
    public let loss: T?
    /// The examples of the batch, by index, in the order they were drawn.
    public let examples: [Int]
}

/// Why the ``Trainer`` skipped a step.
public enum SkipReason: Sendable, Equatable, CustomStringConvertible {
    /// The batch loss is NaN or ±∞.
    case nonFiniteLoss
    /// The loss is finite but the gradient of this parameter (the first in sorted key order)
    /// holds NaN or ±∞.
    case nonFiniteGradient(key: String)
    /// Every label of the batch is −100.
    case noCountedPositions

    /// One phrase naming the cause.
    public var description: String {
        switch self {
        case .nonFiniteLoss: "the loss is not finite"
        case let .nonFiniteGradient(k): "the gradient of '\(k)' is not finite"
        case .noCountedPositions: "no position of the batch is counted"
        }
    }
}
