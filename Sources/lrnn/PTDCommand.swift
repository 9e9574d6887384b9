import ArgumentParser
import Foundation
import LRNNTool

/// `lrnn ptd`: perturb-then-diagonalise HiPPO-LegS and compare with S4D-LegS.
struct PTDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ptd",
        abstract: "Perturb-then-diagonalize HiPPO-LegS: S4D-LegS vs random PTD vs the chosen PTD.",
        discussion: """
            For each variant prints cond2(V) of the eigenvector matrix, |E|/|A| (spectral norms),
            the largest real part of the eigenvalues, and the mean relative transfer error
            sup_w |G_diag - G_A| / sup_w |G_A| over w in {0} U logspace(-2, 5) and five seeded
            random unit output vectors C. --eps is the size of the random perturbation and the
            bound on the optimised one.

            Example:
              lrnn ptd --n 64 --method optimize --svg legs64.svg
              lrnn ptd --n 32 --method random --eps 0.01 --seed 3 --json
            """
    )

    @Option(parsing: .unconditional, help: "State size N (≥ 2).")
    var n: Int

    @Option(help: "How to choose E for the PTD variant: optimize, random or none.")
    var method: String = "optimize"

    @Option(parsing: .unconditional, help: "Perturbation size |E|_2/|A|_2 (> 0).")
    var eps: Double = 0.05

    @Option(
        parsing: .unconditional, help: "Seed of the random perturbation, the optimiser's start and the output vectors.")
    var seed: UInt64 = 0

    @Option(help: "Write a log-log plot of |G(iw)| to this SVG file.")
    var svg: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    /// Checks the arguments; a bad one prints ArgumentParser's usage error and exits with 2
    /// (the tool's code for bad input) instead of ArgumentParser's 64.
    func validate() throws {
        if let problem = problem() {
            let text = "Error: \(problem.message)\nSee 'lrnn ptd --help' for usage and an example.\n"
            FileHandle.standardError.write(Data(text.utf8))
            throw ExitCode(2)
        }
    }

    private func problem() -> ValidationError? {
        guard n >= 2 else { return ValidationError("--n must be ≥ 2, got \(n)") }
        guard n <= 1024 else { return ValidationError("--n must be ≤ 1024, got \(n)") }
        guard eps.isFinite, eps > 0 else { return ValidationError("--eps must be finite and > 0, got \(eps)") }
        guard PTDMethod(rawValue: method) != nil else {
            return ValidationError("--method must be optimize, random or none, got '\(method)'")
        }
        if let svg {
            let directory = (svg as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            if !directory.isEmpty
                && !(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory)
                    && isDirectory.boolValue)
            {
                return ValidationError("--svg: directory '\(directory)' does not exist")
            }
        }
        return nil
    }

    func run() throws {
        let report: PTDReport
        do {
            let chosen = PTDMethod(rawValue: method)!
            report = try Progress.whileRunning("ptd: N = \(n), \(method)") {
                try PTDReport.run(n: n, method: chosen, eps: eps, seed: seed)
            }
        } catch {
            FileHandle.standardError.write(Data("lrnn ptd: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if let path = svg {
            do { try report.svg().write(toFile: path, atomically: true, encoding: .utf8) } catch {
                let reason = (error as NSError).localizedDescription
                FileHandle.standardError.write(Data("lrnn ptd: cannot write \(path): \(reason)\n".utf8))
                throw ExitCode(2)
            }
        }
        print(json ? report.json() : report.text(), terminator: json ? "\n" : "")
    }
}
