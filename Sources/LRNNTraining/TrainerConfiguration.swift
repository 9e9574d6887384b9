import LRNNLinearAlgebra

/// How a ``Trainer`` forms its batches and steps: batch and micro-batch sizes, the learning-rate
/// schedule, clipping and the data-order seed.
public struct TrainerConfiguration<T: LRNNScalar>: Sendable, Equatable {
    /// Examples per optimiser step (≥ 1).
    public let batchSize: Int
    /// Examples per forward and backward pass (1…`batchSize`): a batch runs as
    /// ⌈batchSize / microBatchSize⌉ micro-batches whose gradients are accumulated
    /// (``GradientAccumulator``).
    public let microBatchSize: Int
    /// The learning rate of each step.
    public let schedule: LearningRateSchedule<T>
    /// c of global-norm clipping (``GradientClipping``), or nil for no clipping.
    public let maxGradientNorm: T?
    /// The seed of the data order (``DataOrder``).
    public let seed: UInt64

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - batchSize: examples per optimiser step (≥ 1).
    ///   - microBatchSize: examples per forward/backward pass (1…`batchSize`; nil: `batchSize`,
    ///     no accumulation).
    ///   - schedule: the learning-rate schedule.
    ///   - maxGradientNorm: the clipping norm c (finite, > 0), or nil for none.
    ///   - seed: the data-order seed.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` naming the value out of range
    ///   (the schedule's own checks included: ``LearningRateSchedule/validate()``).
    public init(
        batchSize: Int, microBatchSize: Int? = nil, schedule: LearningRateSchedule<T>, maxGradientNorm: T? = 1,
        seed: UInt64
    ) throws(TrainingError) {
        guard batchSize >= 1 else { throw .invalidArgument(name: "batchSize", reason: "\(batchSize), expected ≥ 1") }
        let micro = microBatchSize ?? batchSize
        guard micro >= 1 && micro <= batchSize else {
            throw .invalidArgument(name: "microBatchSize", reason: "\(micro), expected in 1...\(batchSize)")
        }
        if let c = maxGradientNorm, !(c.isFinite && c > 0) {
            throw .invalidArgument(name: "maxGradientNorm", reason: "\(c), expected a finite value > 0")
        }
        try schedule.validate()
        self.batchSize = batchSize
        self.microBatchSize = micro
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
        self.seed = seed
    }
}
