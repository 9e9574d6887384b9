import Foundation

extension TrainTool {
    /// The first flag `--resume` does not take (every setting comes from the run's `run.json`).
    ///
    /// - Parameter options: the flags given with `--resume`.
    /// - Returns: the flag, or nil when none conflicts.
    package static func resumeConflict(_ options: TrainOptions) -> String? {
        let flags: [(String, Bool)] = [
            ("--task", options.task != nil), ("--model", options.model != nil),
            ("--eigenvalues", options.eigenvalues != nil), ("--householder", options.householder != nil),
            ("--layers", options.layers != nil), ("--hidden", options.hidden != nil),
            ("--heads", options.heads != nil), ("--steps", options.steps != nil), ("--batch", options.batch != nil),
            ("--lr", options.lr != nil), ("--seed", options.seed != nil), ("--precision", options.precision != nil),
            ("--eval-every", options.evalEvery != nil), ("--train-lengths", options.trainLengths != nil),
            ("--test-lengths", options.testLengths != nil),
        ]
        return flags.first { $0.1 }?.0
    }

    /// An evaluation as text: one header line, then one line per bucket and the whole range.
    ///
    /// - Parameter r: the evaluation.
    /// - Returns: the lines.
    package static func text(_ r: TrainEvaluationRecord) -> String {
        var out = String(
            format: "%@ %@ (%@ eigenvalues, householder %d, seed %llu): step %d, %.1f s\n", r.task, r.model,
            r.eigenvalues, r.householder, r.seed, r.steps, r.seconds)
        func pad(_ s: String) -> String { s + String(repeating: " ", count: Swift.max(0, 11 - s.count)) }
        out += "  lengths      accuracy    scaled  sequence\n"
        for b in r.eval {
            out +=
                "  " + pad("\(b.length_min)-\(b.length_max)")
                + String(format: "  %8.4f  %8.4f  %8.4f\n", b.accuracy, b.scaled_accuracy, b.sequence_accuracy)
        }
        out +=
            "  " + pad("all") + "            "
            + String(format: "%8.4f  %8.4f", r.summary.scaled_accuracy, r.summary.sequence_accuracy)
        return out
    }
}
