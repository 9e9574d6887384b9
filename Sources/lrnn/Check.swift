import ArgumentParser
import Foundation
import LRNNTool

/// `lrnn check`: run golden cases against the engine.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the engine against golden cases (files or directories, searched recursively).",
        discussion: """
            Prints one line per case, path and precision, then `N passed, M failed`.
            Exits 1 if any line failed, 2 if a path cannot be read or holds no case.

            Example:
              lrnn check ../shared/golden
              lrnn check ../shared/golden/gla_basic.safetensors --json
            """
    )

    @Argument(help: "Golden case files or directories.")
    var paths: [String]

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func run() throws {
        let cases: [GoldenCase]
        do { cases = try GoldenDiscovery.cases(in: paths) } catch {
            FileHandle.standardError.write(Data("lrnn check: \(error)\n".utf8))
            throw ExitCode(2)
        }
        // A directory that holds no case is a wrong path, not a clean run.
        if cases.isEmpty {
            FileHandle.standardError.write(
                Data(
                    "lrnn check: no golden cases (*.safetensors files or model/tokenizer directories) below \(paths.joined(separator: ", "))\n"
                        .utf8))
            throw ExitCode(2)
        }
        let progress = Progress.reporter(label: "check")
        let report = GoldenCheck.run(cases) { i, n, name in progress?(i, n, name) }
        Progress.finish()
        print(json ? report.json() : report.text(), terminator: json ? "\n" : "")
        if report.failed > 0 { throw ExitCode(1) }
    }
}
