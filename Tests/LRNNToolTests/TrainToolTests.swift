import Foundation
import LRNNLinearAlgebra
import LRNNTool
import LRNNTraining
import Testing

/// `lrnn train` / `lrnn eval`: argument validation, exact resume, the output directory and the
/// JSON records.
@Suite("lrnn train and eval")
struct TrainToolTests {
    /// The task list of the usage messages, with the cyclic order's range.
    static let tasks =
        "parity, mod-arith, mod-arith-brackets, cyclic, cyclic-N (2 ≤ N ≤ 1024), s3, s4, a5, s5, s5-swaps"

    static func directory(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("lrnn-train-\(name)-\(ProcessInfo.processInfo.processIdentifier)").path
        try? FileManager.default.removeItem(atPath: dir)
        return dir
    }

    /// A tiny run: one DeltaNet layer of width 16 on Z_2, Float64.
    static func tiny(steps: Int = 6) throws -> TrainSettings {
        var o = TrainOptions()
        o.task = "cyclic-2"
        o.layers = 1
        o.hidden = 16
        o.heads = 2
        o.steps = steps
        o.batch = 4
        o.lr = 0.01
        o.seed = 3
        o.precision = "float64"
        o.evalEvery = 3
        o.trainLengths = "2-6"
        o.testLengths = "6-12"
        var s = try o.resolve()
        s.eval_buckets = 2
        s.eval_examples = 8
        return s
    }

    static func options(_ task: String, _ change: (inout TrainOptions) -> Void) -> TrainOptions {
        var o = TrainOptions()
        o.task = task
        change(&o)
        return o
    }

    @Test func defaultsFollowThePapersShapes() throws {
        let parity = try Self.options("parity") { _ in }.resolve()
        #expect(parity.layers == 2 && parity.hidden == 128 && parity.heads == 4)
        #expect(parity.train_lengths == "3-40" && parity.test_lengths == "40-256")
        #expect(parity.model == "delta_net" && parity.eigenvalues == "negative" && parity.precision == "float32")
        let s3 = try Self.options("s3") {
            $0.model = "gated_deltaproduct"; $0.householder = 2
        }.resolve()
        let k = TrainSettings.groupTrainLength
        #expect(s3.layers == 1 && s3.train_lengths == "\(k)-\(k)" && s3.test_lengths == "\(4 * k)-\(4 * k)")
        #expect(s3.householder == 2)
    }

    @Test func invalidCombinationsNameTheFlag() {
        #expect(
            throws: TrainUsageError(
                flag: "--eigenvalues",
                message:
                    "negative is impossible with --model gla: GLA's gates are positive by construction; use positive")
        ) { try Self.options("parity") { $0.model = "gla" }.resolve() }
        #expect(
            throws: TrainUsageError(
                flag: "--householder",
                message: "2 needs --model gated_deltaproduct (delta_net takes one Householder step per token)")
        ) { try Self.options("s3") { $0.householder = 2 }.resolve() }
        #expect(
            throws: TrainUsageError(
                flag: "--task",
                message: "'s7' is not a task; expected one of \(Self.tasks)")
        ) { try Self.options("s7") { _ in }.resolve() }
        #expect(
            throws: TrainUsageError(flag: "--task", message: "'cyclic-1' is not a task; expected one of \(Self.tasks)")
        ) { try Self.options("cyclic-1") { _ in }.resolve() }
        #expect(
            throws: TrainUsageError(
                flag: "--task", message: "missing; expected one of \(Self.tasks)")
        ) { try TrainOptions().resolve() }
        #expect(
            throws: TrainUsageError(
                flag: "--model",
                message: "'mamba' is not a model; expected one of delta_net, gated_deltanet, gated_deltaproduct, gla")
        ) { try Self.options("parity") { $0.model = "mamba" }.resolve() }
        #expect(
            throws: TrainUsageError(flag: "--heads", message: "3, expected ≥ 1 and dividing --hidden 128")
        ) { try Self.options("parity") { $0.heads = 3 }.resolve() }
        #expect(
            throws: TrainUsageError(flag: "--test-lengths", message: "'256-40', expected a-b with 1 ≤ a ≤ b")
        ) { try Self.options("parity") { $0.testLengths = "256-40" }.resolve() }
        #expect(
            throws: TrainUsageError(flag: "--eigenvalues", message: "'zero', expected negative or positive")
        ) { try Self.options("parity") { $0.eigenvalues = "zero" }.resolve() }
        #expect(throws: TrainUsageError(flag: "--lr", message: "0.0, expected a finite learning rate > 0")) {
            try Self.options("parity") { $0.lr = 0 }.resolve()
        }
        #expect(
            throws: TrainUsageError(flag: "--precision", message: "'bf16', expected float32 or float64")
        ) { try Self.options("parity") { $0.precision = "bf16" }.resolve() }
        #expect(TrainTool.resumeConflict(Self.options("parity") { _ in }) == "--task")
        #expect(TrainTool.resumeConflict(TrainOptions()) == nil)
        // gla with positive eigenvalues and gated_deltaproduct with 3 reflections are fine.
        #expect(
            (try? Self.options("parity") {
                $0.model = "gla"; $0.eigenvalues = "positive"
            }.resolve()) != nil)
        #expect(
            (try? Self.options("s5") {
                $0.model = "gated_deltaproduct"; $0.householder = 3
            }.resolve()) != nil)
    }

    static func stateParameters(_ dir: String) throws -> [String: Tensor<Double>] {
        let file = try SafeTensorsFile(path: dir + "/trainer_state.safetensors")
        var out: [String: Tensor<Double>] = [:]
        for name in file.names { out[name] = try file.tensor(name, as: Double.self) }
        return out
    }

    @Test func stoppedAndResumedRunEqualsTheStraightRun() throws {
        let s = try Self.tiny(steps: 6)
        let straight = Self.directory("straight")
        let split = Self.directory("split")
        defer {
            try? FileManager.default.removeItem(atPath: straight)
            try? FileManager.default.removeItem(atPath: split)
        }
        var straightRecords: [TrainEvaluationRecord] = []
        let a = try TrainTool.train(
            settings: s, output: straight, evaluation: { straightRecords.append($0) })
        #expect(a.steps == 6)
        #expect(straightRecords.map(\.steps) == [0, 3, 6])

        var splitRecords: [TrainEvaluationRecord] = []
        let first = try TrainTool.train(
            settings: s, output: split, stopAfter: 3, evaluation: { splitRecords.append($0) })
        #expect(first.final.steps == 3)
        let resumedSettings = try TrainTool.settings(ofRun: split)
        #expect(resumedSettings == s)
        let second = try TrainTool.train(
            settings: resumedSettings, output: split, resume: split, evaluation: { splitRecords.append($0) })
        #expect(second.steps == 3)
        // Resuming a finished run takes no step and repeats its final evaluation.
        var again: [TrainEvaluationRecord] = []
        let third = try TrainTool.train(
            settings: resumedSettings, output: split, resume: split, evaluation: { again.append($0) })
        #expect(third.steps == 0)
        #expect(again == [second.final])
        #expect(try Self.stateParameters(split) == Self.stateParameters(straight))
        #expect(splitRecords.map(\.eval) == straightRecords.map(\.eval))
        let history = try JSONDecoder().decode(
            TrainHistory.self, from: Data(contentsOf: URL(fileURLWithPath: split + "/history.json")))
        let straightHistory = try JSONDecoder().decode(
            TrainHistory.self, from: Data(contentsOf: URL(fileURLWithPath: straight + "/history.json")))
        #expect(history.losses == straightHistory.losses)
        #expect(history.evaluations.map(\.steps) == [0, 3, 6])
        for name in ["config.json", "model.safetensors", "run.json", "loss.svg", "accuracy.svg"] {
            #expect(FileManager.default.fileExists(atPath: split + "/" + name), "\(name)")
        }
        #expect(try String(contentsOfFile: split + "/accuracy.svg", encoding: .utf8).contains("<polyline"))

        // lrnn eval on the saved model reproduces the run's last evaluation.
        let evaluated = try TrainTool.evaluate(directory: split, task: "cyclic-2")
        #expect(evaluated.eval == second.final.eval)
        #expect(
            throws: TrainToolError.usage(
                TrainUsageError(flag: "--task", message: "'s3' has 6 token ids, the model in \(split) has 2"))
        ) { try TrainTool.evaluate(directory: split, task: "s3") }
        #expect(evaluated.steps == 6)
        #expect(evaluated.model == "delta_net" && evaluated.eigenvalues == "negative")
    }

    @Test func resumeRefusesAMissingHistoryOrState() throws {
        let s = try Self.tiny(steps: 4)
        let dir = Self.directory("resume-missing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try TrainTool.train(settings: s, output: dir, stopAfter: 2)
        try FileManager.default.removeItem(atPath: dir + "/history.json")
        #expect(
            throws: TrainToolError.file(
                path: dir + "/history.json", reason: "missing: --out writes it with the checkpoint")
        ) { try TrainTool.train(settings: s, output: dir, resume: dir) }
        try FileManager.default.removeItem(atPath: dir + "/trainer_state.safetensors")
        do {
            _ = try TrainTool.train(settings: s, output: dir, resume: dir)
            Issue.record("resumed without a trainer state")
        } catch let TrainToolError.file(path, _) {
            #expect(path == dir)
        }
    }

    @Test func aNewRunRefusesADirectoryHoldingARun() throws {
        let s = try Self.tiny(steps: 2)
        let dir = Self.directory("new-over-old")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TrainTool.checkNewOutput(dir)  // absent: accepted
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try TrainTool.checkNewOutput(dir)  // empty: accepted
        _ = try TrainTool.train(settings: s, output: dir)
        #expect(
            throws: TrainToolError.file(
                path: dir + "/run.json",
                reason:
                    "exists: \(dir) already holds a run; continue it with --resume \(dir), or give --out a new directory"
            )
        ) { try TrainTool.checkNewOutput(dir) }
        try FileManager.default.removeItem(atPath: dir + "/run.json")
        #expect(
            throws: TrainToolError.file(
                path: dir + "/trainer_state.safetensors",
                reason:
                    "exists: \(dir) already holds a run; continue it with --resume \(dir), or give --out a new directory"
            )
        ) { try TrainTool.checkNewOutput(dir) }
    }

    @Test func aResumeMustStopPastTheStepsTaken() throws {
        let s = try Self.tiny(steps: 6)
        let dir = Self.directory("stop-before")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try TrainTool.train(settings: s, output: dir, stopAfter: 3)
        #expect(
            throws: TrainToolError.usage(
                TrainUsageError(flag: "--stop-after", message: "2 is not past the 3 steps the run has taken"))
        ) { try TrainTool.train(settings: s, output: dir, resume: dir, stopAfter: 2) }
        _ = try TrainTool.train(settings: s, output: dir, resume: dir, stopAfter: 4)  // past them: continues
    }

    @Test func anEditedRunJSONIsBlamedOnItself() throws {
        let s = try Self.tiny(steps: 2)
        let dir = Self.directory("edited-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try TrainTool.train(settings: s, output: dir)
        let path = dir + "/run.json"
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        object["eval_examples"] = 0
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        #expect(throws: TrainToolError.file(path: path, reason: "eval_examples 0, expected 1...100000")) {
            try TrainTool.settings(ofRun: dir)
        }
    }

    @Test func evalRefusesWhatItCannotRead() throws {
        #expect(
            throws: TrainToolError.usage(
                TrainUsageError(
                    flag: "--task",
                    message: "'z9' is not a task; expected one of \(Self.tasks)"))
        ) { try TrainTool.evaluate(directory: "/nonexistent", task: "z9") }
        #expect(
            throws: TrainToolError.file(
                path: "/nonexistent/run.json",
                reason: "cannot be read; expected the run.json of a lrnn train --out directory")
        ) { try TrainTool.settings(ofRun: "/nonexistent") }
    }

    @Test func jsonRecordHasExactlyTheIssuesKeys() throws {
        let s = try Self.tiny(steps: 1)
        let outcome = try TrainTool.train(settings: s, output: nil)
        let object = try #require(
            JSONSerialization.jsonObject(with: Data(outcome.final.json().utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "task", "model", "eigenvalues", "householder", "seed", "steps", "seconds", "eval", "summary",
            ])
        let eval = try #require(object["eval"] as? [[String: Any]])
        #expect(eval.count == 2)
        for bucket in eval {
            #expect(
                Set(bucket.keys) == ["length_min", "length_max", "accuracy", "scaled_accuracy", "sequence_accuracy"])
        }
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(Set(summary.keys) == ["scaled_accuracy", "sequence_accuracy"])
        #expect(object["task"] as? String == "cyclic-2")
        #expect(object["steps"] as? Int == 1)
        #expect(!outcome.final.json().contains("\n"))
    }
}
