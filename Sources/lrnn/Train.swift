import ArgumentParser
import Foundation
import LRNNLinearAlgebra
import LRNNTool

/// `lrnn train`: train a model on a state-tracking task and evaluate it on longer sequences.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a linear RNN on a state-tracking task (parity, modular arithmetic, group word problems).",
        discussion: """
            Fresh seeded examples every step (lengths uniform in --train-lengths), AdamW with a linear \
            warm-up and a cosine decay to 0.1 x --lr, global-norm clipping at 1.0; an evaluation on a fixed \
            seeded set over --test-lengths every --eval-every steps and at the end. Unset flags take the \
            task's CPU-sized defaults (docs/experiments.md). --json prints one JSON object per evaluation; \
            the last line is the final one (schema in docs/cli.md). --out DIR writes the model (fla layout), \
            the optimiser state, run.json, history.json, loss.svg and accuracy.svg at every evaluation; \
            --resume DIR continues that run exactly (its settings come from DIR/run.json).

            Tasks: parity, mod-arith, mod-arith-brackets, cyclic (Z_60) or cyclic-N, s3, s4, a5, s5, s5-swaps.

            Examples:
              lrnn train --task parity --model delta_net --eigenvalues negative
              lrnn train --task s3 --model gated_deltaproduct --householder 2 --eigenvalues negative --out runs/s3
              lrnn train --resume runs/s3
              lrnn train --task parity --steps 200 --train-lengths 3-10 --test-lengths 10-40 --json
            """
    )

    @Option(help: "The task (see below).")
    var task: String?
    @Option(help: "delta_net, gated_deltanet, gated_deltaproduct or gla (default delta_net).")
    var model: String?
    @Option(help: "negative (beta in (0, 2)) or positive (beta in (0, 1)) (default negative).")
    var eigenvalues: String?
    @Option(
        parsing: .unconditional, help: "Householder products per token, > 1 only with gated_deltaproduct (default 1).")
    var householder: Int?
    @Option(parsing: .unconditional, help: "Blocks (default: 2 for parity and arithmetic, 1 for the groups).")
    var layers: Int?
    @Option(parsing: .unconditional, help: "Model width d_model (default 128).")
    var hidden: Int?
    @Option(parsing: .unconditional, help: "Heads, dividing --hidden (default 4).")
    var heads: Int?
    @Option(parsing: .unconditional, help: "Optimiser steps.")
    var steps: Int?
    @Option(parsing: .unconditional, help: "Examples per step.")
    var batch: Int?
    @Option(parsing: .unconditional, help: "Peak learning rate.")
    var lr: Double?
    @Option(parsing: .unconditional, help: "Seed of the weights, the batches and the evaluation set (default 0).")
    var seed: UInt64?
    @Option(help: "float32 or float64 (default float32).")
    var precision: String?
    @Option(parsing: .unconditional, help: "Evaluate every this many steps.")
    var evalEvery: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Training lengths.", valueName: "a-b"))
    var trainLengths: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Test lengths.", valueName: "a-b"))
    var testLengths: String?
    @Option(parsing: .unconditional, help: "Worker threads (default: all cores, or LRNN_NUM_THREADS).")
    var threads: Int?
    @Option(help: ArgumentHelp("Write the checkpoint, state, settings and plots here.", valueName: "dir"))
    var out: String?
    @Option(help: ArgumentHelp("Continue the run of this --out directory.", valueName: "dir"))
    var resume: String?
    @Option(
        parsing: .unconditional, help: "Stop after this many steps of the run (checkpoint written; --resume continues)."
    )
    var stopAfter: Int?
    @Flag(help: "Print one JSON object per evaluation instead of text.")
    var json = false

    var options: TrainOptions {
        var o = TrainOptions()
        o.task = task
        o.model = model
        o.eigenvalues = eigenvalues
        o.householder = householder
        o.layers = layers
        o.hidden = hidden
        o.heads = heads
        o.steps = steps
        o.batch = batch
        o.lr = lr
        o.seed = seed
        o.precision = precision
        o.evalEvery = evalEvery
        o.trainLengths = trainLengths
        o.testLengths = testLengths
        return o
    }

    func validate() throws {
        if let threads, threads < 1 || threads > 1024 {
            throw ValidationError("--threads must be in 1...1024, got \(threads)")
        }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be ≥ 1, got \(stopAfter)") }
        if stopAfter != nil, out == nil, resume == nil {
            throw ValidationError("--stop-after needs --out DIR: the stopped run is continued from it with --resume")
        }
        if let resume {
            if let flag = TrainTool.resumeConflict(options) {
                throw ValidationError("\(flag): --resume \(resume) takes every setting from its run.json")
            }
            if let out, out != resume { throw ValidationError("--out: --resume writes back into \(resume)") }
        } else {
            do { _ = try options.resolve() } catch { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        if let threads { Threading.setWorkerCount(threads) }
        let settings: TrainSettings
        do {
            settings =
                try resume.map { (r: String) throws(TrainToolError) in try TrainTool.settings(ofRun: r) }
                ?? options.resolve()
        } catch let e as TrainToolError {
            fail(e.description, code: 2)
        }
        let directory = resume ?? out
        if resume == nil, let out {
            do { try TrainTool.checkNewOutput(out) } catch { fail(error.description, code: 2) }
        }
        if let directory {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                fail("--out \(directory): \((error as NSError).localizedDescription)", code: 2)
            }
        }
        let terminal = Progress.isTerminal
        do {
            let final = try TrainTool.train(
                settings: settings, output: directory, resume: resume, stopAfter: stopAfter,
                progress: { p in
                    guard terminal else { return }
                    var line = String(format: "\r\u{1B}[Kstep %d/%d  loss %.4f", p.step, p.steps, p.loss)
                    if let a = p.accuracy { line += String(format: "  test acc %.3f", a) }
                    line += String(format: "  %.0f tok/s", p.tokensPerSecond)
                    FileHandle.standardError.write(Data(line.utf8))
                },
                evaluation: { r in
                    Progress.finish()
                    FileHandle.standardOutput.write(Data(((json ? r.json() : TrainTool.text(r)) + "\n").utf8))
                })
            let summary = String(
                format: "lrnn train: %d steps, %d tokens in %.1f s of steps (%.0f tokens/s), %.1f s in all\n",
                final.steps, final.tokens, final.trainingSeconds, final.tokensPerSecond, final.seconds)
            FileHandle.standardError.write(Data(summary.utf8))
        } catch {
            Progress.finish()
            switch error {
            case .usage, .file, .modelLoad: fail(error.description, code: 2)
            case .training: fail(error.description, code: 1)
            }
        }
    }

    private func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("lrnn train: \(message)\n".utf8))
        Foundation.exit(code)
    }
}

/// `lrnn eval`: evaluate a saved model on a task.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a saved model directory on a state-tracking task.",
        discussion: """
            The evaluation set is seeded (--seed, default the run's) with the lengths of --test-lengths \
            (default the run's, from DIR/run.json, else the task's). Prints the accuracy, scaled accuracy and \
            sequence accuracy per length bucket and over the whole range; --json prints one object with the \
            keys of lrnn train --json.

            Examples:
              lrnn eval --model runs/parity --task parity
              lrnn eval --model runs/s3 --task s3 --test-lengths 128-512 --json
            """
    )

    @Option(help: ArgumentHelp("The model directory (a lrnn train --out directory).", valueName: "dir"))
    var model: String
    @Option(help: "The task.")
    var task: String
    @Option(parsing: .unconditional, help: ArgumentHelp("Test lengths.", valueName: "a-b"))
    var testLengths: String?
    @Option(parsing: .unconditional, help: "Seed of the evaluation set.")
    var seed: UInt64?
    @Option(help: "float32 or float64.")
    var precision: String?
    @Option(parsing: .unconditional, help: "Worker threads (default: all cores, or LRNN_NUM_THREADS).")
    var threads: Int?
    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if let threads, threads < 1 || threads > 1024 {
            throw ValidationError("--threads must be in 1...1024, got \(threads)")
        }
    }

    func run() throws {
        if let threads { Threading.setWorkerCount(threads) }
        do {
            let r = try Progress.whileRunning("eval") { () throws(TrainToolError) in
                try TrainTool.evaluate(
                    directory: model, task: task, testLengths: testLengths, seed: seed, precision: precision)
            }
            print(json ? r.json() : TrainTool.text(r))
        } catch {
            FileHandle.standardError.write(Data("lrnn eval: \(error.description)\n".utf8))
            switch error {
            case .usage, .file, .modelLoad: throw ExitCode(2)
            case .training: throw ExitCode(1)
            }
        }
    }
}
