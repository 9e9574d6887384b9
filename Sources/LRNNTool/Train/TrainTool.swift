import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTraining

/// Why `lrnn train` or `lrnn eval` stopped.
package enum TrainToolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A flag is out of range or does not fit the others (exit 2).
    case usage(TrainUsageError)
    /// A run or model directory cannot be read, or an output cannot be written (exit 2).
    case file(path: String, reason: String)
    /// Training or evaluating failed (exit 1).
    case training(TrainingError)
    /// A model directory cannot be loaded (exit 2).
    case modelLoad(ModelLoadError)

    /// One sentence naming the flag, file or computation.
    package var description: String {
        switch self {
        case let .usage(e): e.description
        case let .file(p, r): "\(p): \(r)"
        case let .training(e): e.description
        case let .modelLoad(e): e.description
        }
    }
}

/// What one `lrnn train` process did.
package struct TrainOutcome: Sendable, Equatable {
    /// The last evaluation.
    package var final: TrainEvaluationRecord
    /// The steps this process took.
    package var steps: Int
    /// The tokens of those steps' batches.
    package var tokens: Int
    /// Seconds spent in those steps (forward, backward, update; evaluations excluded).
    package var trainingSeconds: Double
    /// Wall-clock seconds of this process's run, evaluations and checkpoints included.
    package var seconds: Double

    /// Training tokens per second of this process.
    package var tokensPerSecond: Double { trainingSeconds > 0 ? Double(tokens) / trainingSeconds : 0 }
}

/// `lrnn train` and `lrnn eval`: training a model on a state-tracking task from seeded fresh
/// batches (``/LRNNTraining/StateTrackingData``), evaluating it on longer sequences, and its
/// output directory.
///
/// The output directory holds the model in fla's layout (`config.json`, `model.safetensors`),
/// the trainer state (`trainer_state.safetensors`: parameters in the training precision, AdamW's
/// moments, the step), `run.json` (``TrainSettings``), `history.json` (``TrainHistory``), and the
/// plots `loss.svg` and `accuracy.svg`. It is written at every evaluation and at the end.
package enum TrainTool {
    /// The settings file of a run directory.
    package static let settingsFileName = "run.json"
    /// The history file of a run directory.
    package static let historyFileName = "history.json"

    /// Trains a new run, or continues one.
    ///
    /// - Parameters:
    ///   - settings: the run's settings (for a resumed run, those of its `run.json`).
    ///   - output: the output directory, or nil for none.
    ///   - resume: a run directory to continue (its settings must be `settings`), or nil.
    ///   - stopAfter: stop after this many steps of the run (the checkpoint is written; a
    ///     value not past the steps a resumed run has taken is a usage error; a
    ///     resume continues to `settings.steps`), or nil to run to the end.
    ///   - progress: called after every step.
    ///   - evaluation: called with every evaluation.
    /// - Returns: the last evaluation and this process's training throughput.
    /// - Throws: ``TrainToolError``.
    package static func train(
        settings: TrainSettings, output: String?, resume: String? = nil, stopAfter: Int? = nil,
        progress: (TrainStepProgress) -> Void = { _ in }, evaluation: (TrainEvaluationRecord) -> Void = { _ in }
    ) throws(TrainToolError) -> TrainOutcome {
        do { try TrainOptions.check(settings) } catch { throw .usage(error) }
        if settings.precision == "float64" {
            return try train(
                Double.self, settings, output: output, resume: resume, stopAfter: stopAfter, progress: progress,
                evaluation: evaluation)
        }
        return try train(
            Float.self, settings, output: output, resume: resume, stopAfter: stopAfter, progress: progress,
            evaluation: evaluation)
    }

    /// Refuses to start a new run in a directory that already holds one: its checkpoint, state
    /// and history would be overwritten. An absent or empty directory, or one without any of a
    /// run's files, is accepted.
    ///
    /// - Parameter directory: the `--out` directory of a new run.
    /// - Throws: ``TrainToolError/file(path:reason:)`` naming the first run file found
    ///   (`run.json`, `trainer_state.safetensors`, `model.safetensors` or `history.json`).
    package static func checkNewOutput(_ directory: String) throws(TrainToolError) {
        for name in [settingsFileName, "trainer_state.safetensors", "model.safetensors", historyFileName] {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) {
                throw .file(
                    path: path,
                    reason: "exists: \(directory) already holds a run; continue it with --resume \(directory), "
                        + "or give --out a new directory")
            }
        }
    }

    /// Reads a run directory's settings.
    ///
    /// - Parameter directory: the run directory.
    /// - Returns: its settings.
    /// - Throws: ``TrainToolError/file(path:reason:)`` for a missing or malformed `run.json`,
    ///   ``TrainToolError/usage(_:)`` for settings out of range.
    package static func settings(ofRun directory: String) throws(TrainToolError) -> TrainSettings {
        let path = (directory as NSString).appendingPathComponent(settingsFileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .file(path: path, reason: "cannot be read; expected the run.json of a lrnn train --out directory")
        }
        let s: TrainSettings
        do { s = try JSONDecoder().decode(TrainSettings.self, from: data) } catch {
            throw .file(path: path, reason: "malformed: \(error)")
        }
        // The values were checked when the run began; a run.json edited since is blamed on itself.
        do { try TrainOptions.check(s) } catch {
            throw .file(path: path, reason: "the value behind \(error.flag): \(error.message)")
        }
        guard (1...64).contains(s.eval_buckets) else {
            throw .file(path: path, reason: "eval_buckets \(s.eval_buckets), expected 1...64")
        }
        guard (1...100_000).contains(s.eval_examples) else {
            throw .file(path: path, reason: "eval_examples \(s.eval_examples), expected 1...100000")
        }
        return s
    }

    static func optimizer<T: LRNNScalar>(_ s: TrainSettings) throws(TrainingError) -> AdamW<T> {
        try AdamW<T>(weightDecay: T(s.weight_decay), groups: [.noWeightDecay()])
    }

    static func configuration<T: LRNNScalar>(_ s: TrainSettings) throws(TrainingError) -> TrainerConfiguration<T> {
        try TrainerConfiguration<T>(
            batchSize: s.batch,
            schedule: .warmupCosine(
                peak: T(s.lr), warmupSteps: Swift.min(s.warmup_steps, s.steps), totalSteps: s.steps,
                floor: T(s.lr * s.lr_floor_ratio)),
            maxGradientNorm: T(s.clip_grad_norm), seed: s.seed)
    }

    static func train<T: LRNNScalar>(
        _: T.Type, _ s: TrainSettings, output: String?, resume: String?, stopAfter: Int?,
        progress: (TrainStepProgress) -> Void, evaluation: (TrainEvaluationRecord) -> Void
    ) throws(TrainToolError) -> TrainOutcome {
        let task = s.stateTrackingTask
        let data = StateTrackingData(task: task, lengths: s.trainLengthRange, seed: s.seed)
        let evalSet = s.evaluationSet
        var trainer: Trainer<CausalLM<T>>
        var history = TrainHistory()
        do {
            let model: CausalLM<T>
            do { model = try s.builder.build(seed: s.seed) } catch { throw TrainingError.model(error) }
            if let resume {
                // Whatever in the run directory does not fit its run.json is bad input (exit 2).
                do {
                    let opt: AdamW<T> = try optimizer(s)
                    let conf: TrainerConfiguration<T> = try configuration(s)
                    trainer = try Trainer.resume(
                        from: resume, model: model, optimizer: opt, configuration: conf, batchSource: data)
                } catch {
                    throw TrainToolError.file(path: resume, reason: error.description)
                }
                let path = (resume as NSString).appendingPathComponent(historyFileName)
                guard let raw = FileManager.default.contents(atPath: path) else {
                    throw TrainToolError.file(path: path, reason: "missing: --out writes it with the checkpoint")
                }
                do { history = try JSONDecoder().decode(TrainHistory.self, from: raw) } catch {
                    throw TrainToolError.file(path: path, reason: "malformed: \(error)")
                }
                history.losses = Array(history.losses.prefix(trainer.stepsTaken))
                history.evaluations = history.evaluations.filter { $0.steps <= trainer.stepsTaken }
            } else {
                trainer = Trainer(
                    model: model, optimizer: try optimizer(s), configuration: try configuration(s), batchSource: data)
            }
        } catch let e as TrainToolError {
            throw e
        } catch let e as TrainingError {
            throw .training(e)
        } catch {
            throw .file(path: resume ?? "", reason: "\(error)")
        }
        if let stopAfter, stopAfter <= trainer.stepsTaken, stopAfter < s.steps {
            throw .usage(
                TrainUsageError(
                    flag: "--stop-after",
                    message: "\(stopAfter) is not past the \(trainer.stepsTaken) steps the run has taken"))
        }
        let end = Swift.min(s.steps, stopAfter ?? s.steps)
        let clock = Date()
        let secondsBefore = history.seconds
        var tokens = 0
        var stepSeconds = 0.0
        let firstStep = trainer.stepsTaken
        var last = history.evaluations.last

        func evaluate() throws(TrainToolError) -> TrainEvaluationRecord {
            let result: TaskEvaluation
            do { result = try TaskEvaluation.evaluate(model: trainer.model, task: task, examples: evalSet) } catch {
                throw .training(error)
            }
            return record(
                s, steps: trainer.stepsTaken, seconds: secondsBefore + Date().timeIntervalSince(clock),
                evaluation: result)
        }
        func save() throws(TrainToolError) {
            guard let output else { return }
            history.seconds = secondsBefore + Date().timeIntervalSince(clock)
            try write(trainer: trainer, settings: s, history: history, to: output)
        }

        if trainer.stepsTaken == 0 && last == nil {
            let r = try evaluate()
            history.evaluations.append(r)
            evaluation(r)
            last = r
        }
        while trainer.stepsTaken < end {
            let step = trainer.stepsTaken
            let outcome: TrainingStepOutcome<T>
            let stepClock = Date()
            do { outcome = try trainer.step() } catch { throw .training(error) }
            stepSeconds += Date().timeIntervalSince(stepClock)
            let batchTokens =
                ((try? data.batch(step: step, size: s.batch)) ?? []).reduce(0) { $0 + $1.inputIDs.count }
            tokens += batchTokens
            history.tokens += batchTokens
            let loss = outcome.loss.map { Double($0) }
            history.losses.append(loss.flatMap { $0.isFinite ? $0 : nil })
            progress(
                TrainStepProgress(
                    step: trainer.stepsTaken, steps: s.steps, loss: loss ?? .nan,
                    accuracy: last?.eval.isEmpty == false
                        ? last.map { r in r.eval.map(\.accuracy).reduce(0, +) / Double(r.eval.count) } : nil,
                    tokensPerSecond: stepSeconds > 0 ? Double(tokens) / stepSeconds : 0))
            if trainer.stepsTaken % s.eval_every == 0 || trainer.stepsTaken == s.steps {
                let r = try evaluate()
                history.evaluations.append(r)
                evaluation(r)
                last = r
                try save()
            }
        }
        if last == nil || last!.steps != trainer.stepsTaken {
            let r = try evaluate()
            history.evaluations.append(r)
            evaluation(r)
            last = r
        } else if trainer.stepsTaken == firstStep, let r = last {
            // A resumed run that was already complete: its final evaluation again.
            evaluation(r)
        }
        try save()
        return TrainOutcome(
            final: last!, steps: trainer.stepsTaken - firstStep, tokens: tokens, trainingSeconds: stepSeconds,
            seconds: Date().timeIntervalSince(clock))
    }

    /// The record of an evaluation.
    static func record(_ s: TrainSettings, steps: Int, seconds: Double, evaluation: TaskEvaluation)
        -> TrainEvaluationRecord
    {
        let summary = evaluation.summary
        return TrainEvaluationRecord(
            task: s.task, model: s.model, eigenvalues: s.eigenvalues, householder: s.householder, seed: s.seed,
            steps: steps, seconds: seconds, eval: evaluation.bucketAccuracies,
            summary: TrainSummary(
                scaled_accuracy: summary.scaled_accuracy, sequence_accuracy: summary.sequence_accuracy))
    }

    /// Writes the checkpoint, `run.json`, `history.json` and the plots.
    static func write<T: LRNNScalar>(
        trainer: Trainer<CausalLM<T>>, settings: TrainSettings, history: TrainHistory, to directory: String
    ) throws(TrainToolError) {
        do { try trainer.saveCheckpoint(to: directory) } catch { throw .training(error) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        func put(_ text: String, _ name: String) throws(TrainToolError) {
            let path = (directory as NSString).appendingPathComponent(name)
            do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw .file(path: path, reason: (error as NSError).localizedDescription)
            }
        }
        try put(String(decoding: (try? encoder.encode(settings)) ?? Data(), as: UTF8.self) + "\n", settingsFileName)
        try put(String(decoding: (try? encoder.encode(history)) ?? Data(), as: UTF8.self) + "\n", historyFileName)
        try put(lossSVG(history, settings: settings), "loss.svg")
        try put(accuracySVG(history, settings: settings), "accuracy.svg")
    }

    /// The loss against the step (log scale).
    static func lossSVG(_ history: TrainHistory, settings s: TrainSettings) -> String {
        let points = history.losses.enumerated().compactMap { i, l in l.map { (Double(i + 1), $0) } }
        return TrainPlot.svg(
            [TrainPlot.Series(name: "batch loss", points: points)],
            title: "\(s.task), \(s.model), \(s.eigenvalues) eigenvalues: training loss", xLabel: "step",
            yLabel: "cross-entropy (nats)", logY: true)
    }

    /// The accuracy against the length bucket (mean length) of the last evaluation.
    static func accuracySVG(_ history: TrainHistory, settings s: TrainSettings) -> String {
        guard let r = history.evaluations.last else {
            return TrainPlot.svg([], title: "no evaluation", xLabel: "length", yLabel: "accuracy")
        }
        func mid(_ b: BucketAccuracy) -> Double { Double(b.length_min + b.length_max) / 2 }
        return TrainPlot.svg(
            [
                TrainPlot.Series(name: "accuracy", points: r.eval.map { (mid($0), $0.accuracy) }),
                TrainPlot.Series(name: "scaled accuracy", points: r.eval.map { (mid($0), $0.scaled_accuracy) }),
                TrainPlot.Series(name: "sequence accuracy", points: r.eval.map { (mid($0), $0.sequence_accuracy) }),
            ],
            title:
                "\(s.task), \(s.model), \(s.eigenvalues) eigenvalues: step \(r.steps), trained on \(s.train_lengths)",
            xLabel: "length (bucket midpoint)", yLabel: "accuracy", yRange: (-0.1, 1.05))
    }
}
