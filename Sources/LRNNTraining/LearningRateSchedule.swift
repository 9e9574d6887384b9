import LRNNLinearAlgebra

/// The learning rate as a function of the step index s = 0, 1, 2, … (the number of optimiser
/// steps attempted before this one).
///
/// - ``constant(_:)``: lr(s) = lr.
/// - ``warmupCosine(peak:warmupSteps:totalSteps:floor:)``: linear warm-up over W steps, then a
///   half cosine from the peak down to the floor at step S, and the floor after it:
///
///       lr(s) = peak · (s + 1) / W                                  for s < W
///       lr(s) = floor + (peak − floor) · (1 + cos(π · (s − W) / (S − W))) / 2   for W ≤ s < S
///       lr(s) = floor                                               for s ≥ S
///
///   The first step already learns at peak / W (the warm-up of nanoGPT-style loops; transformers'
///   `get_cosine_schedule_with_warmup` starts at 0 instead), and with W = 0 the schedule is a
///   cosine from the first step (SGDR, Loshchilov & Hutter 2017, without restarts).
public enum LearningRateSchedule<T: LRNNScalar>: Sendable, Equatable {
    /// The same learning rate at every step.
    case constant(T)
    /// Linear warm-up over `warmupSteps` steps to `peak`, then cosine decay to `floor` at
    /// `totalSteps`, constant after.
    case warmupCosine(peak: T, warmupSteps: Int, totalSteps: Int, floor: T)

    /// Checks the schedule's values.
    ///
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` for a negative or non-finite
    ///   rate, a negative warm-up, `warmupSteps > totalSteps` or `floor > peak`.
    public func validate() throws(TrainingError) {
        func rate(_ name: String, _ x: T) throws(TrainingError) {
            guard x.isFinite && x >= 0 else {
                throw .invalidArgument(name: name, reason: "\(x), expected a finite learning rate ≥ 0")
            }
        }
        switch self {
        case let .constant(lr): try rate("learningRate", lr)
        case let .warmupCosine(peak, w, s, floor):
            try rate("peak", peak)
            try rate("floor", floor)
            guard w >= 0 else { throw .invalidArgument(name: "warmupSteps", reason: "\(w), expected ≥ 0") }
            guard s >= w else {
                throw .invalidArgument(name: "totalSteps", reason: "\(s), expected ≥ warmupSteps = \(w)")
            }
            guard floor <= peak else {
                throw .invalidArgument(name: "floor", reason: "\(floor), expected ≤ peak = \(peak)")
            }
        }
    }

    /// The learning rate of step `step`.
    ///
    /// - Parameter step: the step index s (≥ 0; a negative index is treated as 0).
    /// - Returns: lr(s) as defined above.
    public func learningRate(at step: Int) -> T {
        let s = Swift.max(0, step)
        switch self {
        case let .constant(lr): return lr
        case let .warmupCosine(peak, w, total, floor):
            if s < w { return peak * T(s + 1) / T(w) }
            if s >= total { return floor }
            let progress = T(s - w) / T(total - w)
            return floor + (peak - floor) * (1 + T.cos(T.pi * progress)) / 2
        }
    }
}
