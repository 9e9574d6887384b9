import LRNNLinearAlgebra
import LRNNModels

/// Trains a ``TrainableModel`` with ``AdamW``: seeded batches, gradient accumulation, global-norm
/// clipping, a learning-rate schedule, a guard against non-finite steps, and checkpoints that
/// resume exactly.
///
/// Each ``step()``:
/// 1. draws ``TrainerConfiguration/batchSize`` examples from the ``DataOrder`` (or, for a
///    trainer made with ``init(model:optimizer:configuration:batchSource:)``, takes the batch of
///    the step's index from its ``TrainingBatchSource``);
/// 2. runs them as micro-batches of ``TrainerConfiguration/microBatchSize`` through
///    ``TrainableModel/lossAndGradients(inputIDs:labels:)`` and accumulates the gradients by
///    counted-position share (``GradientAccumulator``), so the result is the whole batch's;
/// 3. skips the step — parameters and optimiser state unchanged, the batch consumed, the
///    schedule advanced, ``skippedSteps`` counted, a ``TrainingStepOutcome/skipped(_:)`` returned —
///    when the loss or a gradient is NaN or ±∞, or when no label of the batch is counted;
/// 4. otherwise clips the gradients to ``TrainerConfiguration/maxGradientNorm``
///    (``GradientClipping``) and applies ``AdamW/update(model:gradients:learningRate:)`` at the
///    scheduled learning rate lr(s) of step s (``LearningRateSchedule``): the model's tensors are
///    updated in place through its parameter walk, nothing is rebuilt or re-validated.
///
/// Everything runs in sorted key order and the data order depends only on the seed, so two runs
/// from the same state compute the same bits. ``saveCheckpoint(to:modelDType:)`` writes that state
/// and ``resume(from:model:optimizer:configuration:examples:)`` restores it: the losses after
/// resuming equal those of an uninterrupted run bit for bit.
public struct Trainer<Model: TrainableModel> {
    /// The model's precision.
    public typealias Scalar = Model.Scalar

    /// The model with the current parameters.
    public private(set) var model: Model
    /// The optimiser and its state.
    public private(set) var optimizer: AdamW<Scalar>
    /// Batch sizes, schedule, clipping and seed.
    public let configuration: TrainerConfiguration<Scalar>
    /// The training examples, indexed by the data order (empty when the batches come from
    /// ``batchSource``).
    public let examples: [TrainingExample]
    /// Where the data order stands (unused, and left at its start, when the batches come from
    /// ``batchSource``).
    public private(set) var dataOrder: DataOrder
    /// The source of every step's batch, or nil when the trainer visits ``examples``.
    public let batchSource: (any TrainingBatchSource)?
    /// The number of steps taken, applied and skipped (the schedule's position s of the next step).
    public private(set) var stepsTaken = 0
    /// The number of steps the non-finite guard skipped.
    public private(set) var skippedSteps = 0
    /// The current parameters of ``model``, by key (``TrainableModel/parameters()``).
    public var parameters: [String: Tensor<Scalar>] { model.parameters() }

    /// Creates a trainer at step 0.
    ///
    /// - Parameters:
    ///   - model: the model to train (its current parameters are the start).
    ///   - optimizer: the optimiser (hyperparameters and groups; any state it holds is kept).
    ///   - configuration: batches, schedule, clipping and seed.
    ///   - examples: the training examples (at least one).
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` for an empty example list.
    public init(
        model: Model, optimizer: AdamW<Scalar>, configuration: TrainerConfiguration<Scalar>,
        examples: [TrainingExample]
    ) throws(TrainingError) {
        guard !examples.isEmpty else { throw .invalidArgument(name: "examples", reason: "no training examples") }
        self.model = model
        self.optimizer = optimizer
        self.configuration = configuration
        self.examples = examples
        self.dataOrder = try DataOrder(count: examples.count, seed: configuration.seed)
        self.batchSource = nil
    }

    /// Creates a trainer at step 0 whose step s trains on `batchSource.batch(step: s, size:)`.
    ///
    /// - Parameters:
    ///   - model: the model to train (its current parameters are the start).
    ///   - optimizer: the optimiser (hyperparameters and groups; any state it holds is kept).
    ///   - configuration: batches, schedule and clipping (its seed orders nothing here: the
    ///     source carries its own).
    ///   - batchSource: the batches, by step index.
    public init(
        model: Model, optimizer: AdamW<Scalar>, configuration: TrainerConfiguration<Scalar>,
        batchSource: any TrainingBatchSource
    ) {
        self.model = model
        self.optimizer = optimizer
        self.configuration = configuration
        self.examples = []
        self.dataOrder = try! DataOrder(count: 1, seed: configuration.seed)
        self.batchSource = batchSource
    }

    /// Restores a trainer from its parts (used by resuming).
    init(
        model: Model, optimizer: AdamW<Scalar>,
        configuration: TrainerConfiguration<Scalar>, examples: [TrainingExample], dataOrder: DataOrder,
        batchSource: (any TrainingBatchSource)?, stepsTaken: Int, skippedSteps: Int
    ) {
        self.batchSource = batchSource
        self.model = model
        self.optimizer = optimizer
        self.configuration = configuration
        self.examples = examples
        self.dataOrder = dataOrder
        self.stepsTaken = stepsTaken
        self.skippedSteps = skippedSteps
    }

    /// Takes one optimiser step (or skips it; see the type's description).
    ///
    /// - Returns: what the step did.
    /// - Throws: ``TrainingError/model(_:)`` when the model refuses a batch (an id outside its
    ///   vocabulary), the batch source's error, ``TrainingError/invalidArgument(name:reason:)``
    ///   when the source returns another number of examples than asked, or the
    ///   optimiser's errors for gradients that do not match the parameters. The trainer is
    ///   unchanged when it throws.
    public mutating func step() throws(TrainingError) -> TrainingStepOutcome<Scalar> {
        let s = stepsTaken
        var order = dataOrder
        let batch: [Int]
        let drawn: [TrainingExample]
        if let batchSource {
            drawn = try batchSource.batch(step: s, size: configuration.batchSize)
            guard drawn.count == configuration.batchSize else {
                throw .invalidArgument(
                    name: "batchSource",
                    reason: "\(drawn.count) examples for step \(s), expected \(configuration.batchSize)")
            }
            batch = Array(0..<drawn.count)
        } else {
            batch = (0..<configuration.batchSize).map { _ in order.next() }
            drawn = batch.map { examples[$0] }
        }
        var accumulator = GradientAccumulator<Scalar>()
        var start = 0
        while start < batch.count {
            let micro = drawn[start..<Swift.min(batch.count, start + configuration.microBatchSize)]
            start += configuration.microBatchSize
            let counted = micro.reduce(0) { $0 + $1.countedPositions }
            if counted == 0 { continue }
            let result: (loss: Scalar, gradients: [String: Tensor<Scalar>])
            do {
                result = try model.lossAndGradients(inputIDs: micro.map(\.inputIDs), labels: micro.map(\.labels))
            } catch { throw .model(error) }
            try accumulator.add(loss: result.loss, gradients: result.gradients, countedPositions: counted)
        }
        func skip(_ reason: SkipReason, loss: Scalar?) -> TrainingStepOutcome<Scalar> {
            dataOrder = order
            stepsTaken = s + 1
            skippedSteps += 1
            return .skipped(SkippedStep(step: s, reason: reason, loss: loss, examples: batch))
        }
        guard accumulator.countedPositions > 0 else { return skip(.noCountedPositions, loss: nil) }
        var (loss, gradients) = try accumulator.result()
        guard loss.isFinite else { return skip(.nonFiniteLoss, loss: loss) }
        for key in gradients.keys.sorted() where NonFiniteScan.scan(gradients[key]!).nonFinite {
            return skip(.nonFiniteGradient(key: key), loss: loss)
        }
        let norm: Scalar
        if let c = configuration.maxGradientNorm {
            norm = try GradientClipping.clip(&gradients, maxNorm: c)
        } else {
            norm = GradientClipping.globalNorm(gradients)
        }
        let lr = configuration.schedule.learningRate(at: s)
        // Checks come first inside the update, so a throw leaves the model and optimiser unchanged.
        try optimizer.update(model: &model, gradients: gradients, learningRate: lr)
        dataOrder = order
        stepsTaken = s + 1
        return .applied(
            TrainingStepReport(
                step: s, update: optimizer.step, loss: loss, gradientNorm: norm, learningRate: lr,
                countedPositions: accumulator.countedPositions, examples: batch))
    }

    /// Takes `count` steps.
    ///
    /// - Parameter count: the number of steps (≥ 0).
    /// - Returns: each step's outcome, in order.
    /// - Throws: as ``step()``; the steps before the failing one stay taken.
    public mutating func run(steps count: Int) throws(TrainingError) -> [TrainingStepOutcome<Scalar>] {
        var out: [TrainingStepOutcome<Scalar>] = []
        for _ in 0..<Swift.max(0, count) { out.append(try step()) }
        return out
    }
}

extension Trainer: Sendable where Model: Sendable {}
