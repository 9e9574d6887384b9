import Foundation
import LRNNTraining

/// A `lrnn train` or `lrnn eval` argument that is out of range or does not fit the others: the
/// flag and what was expected (exit code 2).
package struct TrainUsageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The flag, with its dashes (`--householder`).
    package let flag: String
    /// What is wrong and what was expected.
    package let message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - flag: the flag.
    ///   - message: what is wrong.
    package init(flag: String, message: String) {
        self.flag = flag
        self.message = message
    }

    /// `--flag: message`.
    package var description: String { "\(flag): \(message)" }
}

/// The flags of `lrnn train` as given (nil: the task's default, ``TrainSettings/defaults(for:)``).
package struct TrainOptions: Sendable, Equatable {
    /// `--task`.
    package var task: String?
    /// `--model`.
    package var model: String?
    /// `--eigenvalues`.
    package var eigenvalues: String?
    /// `--householder`.
    package var householder: Int?
    /// `--layers`.
    package var layers: Int?
    /// `--hidden`.
    package var hidden: Int?
    /// `--heads`.
    package var heads: Int?
    /// `--steps`.
    package var steps: Int?
    /// `--batch`.
    package var batch: Int?
    /// `--lr`.
    package var lr: Double?
    /// `--seed`.
    package var seed: UInt64?
    /// `--precision`.
    package var precision: String?
    /// `--eval-every`.
    package var evalEvery: Int?
    /// `--train-lengths`.
    package var trainLengths: String?
    /// `--test-lengths`.
    package var testLengths: String?

    /// No flags.
    package init() {}

    /// Whether any setting flag is given (`--resume` takes every setting from the run).
    package var isEmpty: Bool { self == TrainOptions() }

    /// The settings of a new run: the task's defaults with the given flags applied, checked.
    ///
    /// - Returns: the settings.
    /// - Throws: ``TrainUsageError`` naming the first flag that is missing, out of range or
    ///   incompatible with another (`--eigenvalues negative` with `--model gla`, whose gates are
    ///   positive by construction; `--householder` > 1 with a model other than
    ///   `gated_deltaproduct`; `--heads` not dividing `--hidden`, …).
    package func resolve() throws(TrainUsageError) -> TrainSettings {
        guard let name = task else {
            throw TrainUsageError(flag: "--task", message: "missing; expected one of \(Self.taskList)")
        }
        guard let t = StateTrackingTask(name: name) else {
            throw TrainUsageError(flag: "--task", message: "'\(name)' is not a task; expected one of \(Self.taskList)")
        }
        var s = TrainSettings.defaults(for: t)
        if let model { s.model = model }
        if let eigenvalues { s.eigenvalues = eigenvalues }
        if let householder { s.householder = householder }
        if let layers { s.layers = layers }
        if let hidden { s.hidden = hidden }
        if let heads { s.heads = heads }
        if let steps { s.steps = steps }
        if let batch { s.batch = batch }
        if let lr { s.lr = lr }
        if let seed { s.seed = seed }
        if let precision { s.precision = precision }
        if let evalEvery { s.eval_every = evalEvery }
        if let trainLengths { s.train_lengths = trainLengths }
        if let testLengths { s.test_lengths = testLengths }
        if let steps { s.warmup_steps = Swift.min(s.warmup_steps, Swift.max(0, steps / 10)) }
        try Self.check(s)
        return s
    }

    static var taskList: String {
        StateTrackingTask.names.map { $0 == "cyclic-N" ? "cyclic-N (2 ≤ N ≤ 1024)" : $0 }.joined(separator: ", ")
    }

    /// Checks settings (also those read back from a run's `run.json`).
    ///
    /// - Parameter s: the settings.
    /// - Throws: ``TrainUsageError`` naming the first bad flag.
    package static func check(_ s: TrainSettings) throws(TrainUsageError) {
        guard StateTrackingTask(name: s.task) != nil else {
            throw TrainUsageError(flag: "--task", message: "'\(s.task)' is not a task; expected one of \(taskList)")
        }
        guard TrainSettings.modelTypes.contains(s.model) else {
            throw TrainUsageError(
                flag: "--model",
                message:
                    "'\(s.model)' is not a model; expected one of \(TrainSettings.modelTypes.joined(separator: ", "))")
        }
        guard ["negative", "positive"].contains(s.eigenvalues) else {
            throw TrainUsageError(flag: "--eigenvalues", message: "'\(s.eigenvalues)', expected negative or positive")
        }
        if s.model == "gla" && s.eigenvalues == "negative" {
            throw TrainUsageError(
                flag: "--eigenvalues",
                message:
                    "negative is impossible with --model gla: GLA's gates are positive by construction; use positive")
        }
        guard s.householder >= 1 && s.householder <= 8 else {
            throw TrainUsageError(flag: "--householder", message: "\(s.householder), expected 1...8")
        }
        if s.householder > 1 && s.model != "gated_deltaproduct" {
            throw TrainUsageError(
                flag: "--householder",
                message:
                    "\(s.householder) needs --model gated_deltaproduct (\(s.model) takes one Householder step per token)"
            )
        }
        guard s.layers >= 1 && s.layers <= 64 else {
            throw TrainUsageError(flag: "--layers", message: "\(s.layers), expected 1...64")
        }
        guard s.hidden >= 1 && s.hidden <= 8192 else {
            throw TrainUsageError(flag: "--hidden", message: "\(s.hidden), expected 1...8192")
        }
        guard s.heads >= 1 && s.hidden % s.heads == 0 else {
            throw TrainUsageError(
                flag: "--heads", message: "\(s.heads), expected ≥ 1 and dividing --hidden \(s.hidden)")
        }
        guard s.steps >= 1 else { throw TrainUsageError(flag: "--steps", message: "\(s.steps), expected ≥ 1") }
        guard s.batch >= 1 && s.batch <= 65536 else {
            throw TrainUsageError(flag: "--batch", message: "\(s.batch), expected 1...65536")
        }
        guard s.lr.isFinite && s.lr > 0 else {
            throw TrainUsageError(flag: "--lr", message: "\(s.lr), expected a finite learning rate > 0")
        }
        guard ["float32", "float64"].contains(s.precision) else {
            throw TrainUsageError(flag: "--precision", message: "'\(s.precision)', expected float32 or float64")
        }
        guard s.eval_every >= 1 else {
            throw TrainUsageError(flag: "--eval-every", message: "\(s.eval_every), expected ≥ 1")
        }
        do { _ = try LengthRange(parsing: s.train_lengths) } catch {
            throw TrainUsageError(flag: "--train-lengths", message: "'\(s.train_lengths)', expected a-b with 1 ≤ a ≤ b")
        }
        do { _ = try LengthRange(parsing: s.test_lengths) } catch {
            throw TrainUsageError(flag: "--test-lengths", message: "'\(s.test_lengths)', expected a-b with 1 ≤ a ≤ b")
        }
    }
}
