import ArgumentParser
import Foundation
import LRNNTool

/// `lrnn tokenize`: the token ids and token strings of a text.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode a text with a Hugging Face tokenizer (tokenizer.json) and print the ids and tokens.",
        discussion: """
            Prints the comma-separated ids, then one line per token: the id, a tab and the token string as \
            a JSON string literal (byte-level tokens are in GPT-2's byte alphabet: Ġ is a space, Ċ a newline; \
            SentencePiece tokens use ▁ for a space). Special tokens written in the text are recognised; the \
            post-processor's (a BOS for Llama-style tokenizers) are added unless --no-special-tokens. \
            Exits 2 when the tokenizer cannot be loaded (the message names the file and field).

            Example:
              lrnn tokenize --tokenizer ../shared/golden/tokenizers/byte_level_bpe "Hello world"
              lrnn tokenize --tokenizer MODEL_DIR --json "<|im_start|>user"
            """
    )

    @Option(help: ArgumentHelp("The directory holding tokenizer.json.", valueName: "dir"))
    var tokenizer: String

    @Argument(help: "The text to encode.")
    var text: String

    @Flag(help: "Do not add the post-processor's special tokens.")
    var noSpecialTokens = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        do {
            let r = try TokenizeTool.run(directory: tokenizer, text: text, addSpecialTokens: !noSpecialTokens)
            print(json ? TokenizeTool.json(r) : TokenizeTool.text(r), terminator: json ? "\n" : "")
        } catch {
            FileHandle.standardError.write(Data("lrnn tokenize: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
