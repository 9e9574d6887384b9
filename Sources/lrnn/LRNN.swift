import ArgumentParser

/// `lrnn`: LinearRNN's command-line tool.
@main
struct LRNN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lrnn",
        abstract: "Linear recurrent sequence models on the CPU, over OpenBLAS.",
        discussion: """
            Exit codes: 0 success; 1 a check or target failed; 2 bad usage or input.
            """,
        subcommands: [Info.self, Check.self, PTDCommand.self, Generate.self]
    )
}
