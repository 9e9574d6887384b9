import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTraining

extension TrainTool {
    /// `lrnn eval`: evaluates a saved model directory on a task.
    ///
    /// The run's `run.json`, when the directory has one, supplies the defaults (test lengths,
    /// seed, buckets, precision and the record's fields); otherwise the task's defaults
    /// (``TrainSettings/defaults(for:)``) and the model's `config.json` do.
    ///
    /// - Parameters:
    ///   - directory: a model directory (`config.json`, `model.safetensors`), such as a
    ///     `lrnn train --out` directory.
    ///   - task: the task's name.
    ///   - testLengths: the lengths `a-b`, or nil for the default.
    ///   - seed: the evaluation set's seed, or nil for the default.
    ///   - precision: `float32` or `float64`, or nil for the default.
    /// - Returns: the evaluation, `steps` the run's steps (0 without `run.json`), `seconds` the
    ///   evaluation's.
    /// - Throws: ``TrainToolError/usage(_:)`` for a bad task, lengths or precision;
    ///   ``TrainToolError/file(path:reason:)`` for a malformed `run.json`,
    ///   ``TrainToolError/modelLoad(_:)`` for a missing or malformed model directory;
    ///   ``TrainToolError/training(_:)`` when the model does not fit the task.
    package static func evaluate(
        directory: String, task: String, testLengths: String? = nil, seed: UInt64? = nil, precision: String? = nil
    ) throws(TrainToolError) -> TrainEvaluationRecord {
        guard let t = StateTrackingTask(name: task) else {
            throw .usage(
                TrainUsageError(
                    flag: "--task", message: "'\(task)' is not a task; expected one of \(TrainOptions.taskList)"))
        }
        let runFile = (directory as NSString).appendingPathComponent(settingsFileName)
        var s: TrainSettings
        var steps = 0
        if FileManager.default.fileExists(atPath: runFile) {
            s = try settings(ofRun: directory)
            let history = (directory as NSString).appendingPathComponent(historyFileName)
            if let raw = FileManager.default.contents(atPath: history),
                let h = try? JSONDecoder().decode(TrainHistory.self, from: raw)
            {
                steps = h.losses.count
            }
            if s.task != task {
                // Another task (its vocabulary must be the model's, checked on loading): that
                // task's own test lengths.
                let d = TrainSettings.defaults(for: t)
                s.task = task
                s.test_lengths = d.test_lengths
            }
        } else {
            s = TrainSettings.defaults(for: t)
        }
        if let testLengths {
            do { _ = try LengthRange(parsing: testLengths) } catch {
                throw .usage(
                    TrainUsageError(flag: "--test-lengths", message: "'\(testLengths)', expected a-b with 1 ≤ a ≤ b"))
            }
            s.test_lengths = testLengths
        }
        if let seed { s.seed = seed }
        if let precision {
            guard ["float32", "float64"].contains(precision) else {
                throw .usage(
                    TrainUsageError(flag: "--precision", message: "'\(precision)', expected float32 or float64"))
            }
            s.precision = precision
        }
        return s.precision == "float64"
            ? try evaluate(Double.self, directory: directory, task: t, settings: s, steps: steps)
            : try evaluate(Float.self, directory: directory, task: t, settings: s, steps: steps)
    }

    static func evaluate<T: LRNNScalar>(
        _: T.Type, directory: String, task: StateTrackingTask, settings: TrainSettings, steps: Int
    ) throws(TrainToolError) -> TrainEvaluationRecord {
        let clock = Date()
        let model: CausalLM<T>
        do { model = try CausalLM<T>.load(directory: directory) } catch { throw .modelLoad(error) }
        // Token ids mean the task's symbols: a model of another vocabulary would be scored silently
        // on ids that mean something else.
        guard model.configuration.vocabSize == task.vocabSize else {
            throw .usage(
                TrainUsageError(
                    flag: "--task",
                    message: "'\(settings.task)' has \(task.vocabSize) token ids, the model in \(directory) has "
                        + "\(model.configuration.vocabSize)"))
        }
        var s = settings
        if let mixer = model.mixers.first {
            s.model = mixer.modelType
            switch mixer {
            case let .deltaNet(c): s.eigenvalues = c.allowNegEigval ? "negative" : "positive"
            case let .gatedDeltaNet(c): s.eigenvalues = c.allowNegEigval ? "negative" : "positive"
            case let .gatedDeltaProduct(c):
                s.eigenvalues = c.allowNegEigval ? "negative" : "positive"
                s.householder = c.numHouseholder
            default: s.eigenvalues = "positive"
            }
        }
        let set = s.evaluationSet
        let result: TaskEvaluation
        do { result = try TaskEvaluation.evaluate(model: model, task: task, examples: set) } catch {
            throw .training(error)
        }
        return record(s, steps: steps, seconds: Date().timeIntervalSince(clock), evaluation: result)
    }
}
