import ArgumentParser
import Foundation

/// `lrnn`: LinearRNN's command-line tool.
@main
struct LRNN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lrnn",
        abstract: "Linear recurrent sequence models on the CPU, over OpenBLAS.",
        discussion: """
            Exit codes: 0 success; 1 a check or target failed; 2 bad usage or input (unknown \
            option, invalid value, a path that does not exist or cannot be read). Progress goes \
            to stderr, and only when stderr is a terminal; results go to stdout. --json prints \
            one JSON object (schemas in docs/cli.md).

            Examples:
              lrnn info
              lrnn check ../shared/golden
              lrnn bench --quick
              lrnn generate --model ../shared/golden/model_gla --prompt-ids 5,17,42
              lrnn generate --model MODEL_DIR --prompt "Once upon a time"
              lrnn tokenize --tokenizer ../shared/golden/tokenizers/byte_level_bpe "Hello world"
              lrnn ptd --n 64 --method optimize
            """,
        subcommands: [
            Info.self, Check.self, PTDCommand.self, Generate.self, Tokenize.self, Bench.self, Train.self, Eval.self,
        ]
    )

    /// Parses and runs the command, mapping ArgumentParser's usage-error code (64) to 2 so the
    /// exit codes are the documented 0 / 1 / 2.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
