/// A source of training batches indexed by the step, for a ``Trainer`` that draws fresh examples
/// every step instead of visiting a fixed example list.
///
/// The batch of step s must depend only on s and the source's own settings (a seed, for
/// instance), so that a resumed run sees exactly the batches of an uninterrupted one
/// (``Trainer/resume(from:model:optimizer:configuration:batchSource:)``).
/// ``StateTrackingData`` is the state-tracking tasks' source.
public protocol TrainingBatchSource: Sendable {
    /// The examples of one step.
    ///
    /// - Parameters:
    ///   - step: the step index s (≥ 0), the schedule's position of the step.
    ///   - size: the number of examples wanted (``TrainerConfiguration/batchSize``).
    /// - Returns: exactly `size` examples, the same for the same `step` and `size`.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` when the source cannot form them.
    func batch(step: Int, size: Int) throws(TrainingError) -> [TrainingExample]
}
