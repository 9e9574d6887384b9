import Foundation
import LRNNTokenizers

/// The text side of `lrnn generate --prompt`: the prompt's ids from a tokenizer, and the
/// generated ids streamed back as text.
package struct TextGeneration: Sendable {
    /// The tokenizer.
    package let tokenizer: Tokenizer
    /// The tokenizer's directory.
    package let directory: String

    /// Loads the tokenizer of `directory` (a model directory holding `tokenizer.json`, or a
    /// tokenizer directory).
    ///
    /// - Parameter directory: the directory.
    /// - Throws: ``TokenizeToolError`` carrying the load error's message.
    package init(directory: String) throws(TokenizeToolError) {
        tokenizer = try TokenizeTool.load(directory)
        self.directory = directory
    }

    /// The ids of a prompt: the text encoded with the post-processor's special tokens (a BOS for
    /// Llama-style tokenizers), or, with `chat`, the text as one user message rendered by the
    /// chat template with the generation prompt and encoded without added special tokens.
    ///
    /// - Parameters:
    ///   - text: the prompt.
    ///   - chat: whether to apply the chat template.
    /// - Throws: ``TokenizeToolError`` for a chat template that cannot be rendered, or a prompt
    ///   that encodes to no token.
    package func promptIds(_ text: String, chat: Bool) throws(TokenizeToolError) -> [Int] {
        var ids: [Int]
        if chat {
            do {
                let rendered = try tokenizer.applyChatTemplate(
                    [ChatMessage(role: "user", content: text)], addGenerationPrompt: true)
                ids = tokenizer.encode(rendered, addSpecialTokens: false)
            } catch { throw TokenizeToolError(description: "--chat: \(error.description)") }
        } else {
            ids = tokenizer.encode(text, addSpecialTokens: true)
        }
        guard !ids.isEmpty else {
            throw TokenizeToolError(description: "--prompt: the text encodes to no token (give a non-empty prompt)")
        }
        return ids
    }

    /// A stream that turns generated ids into text (special tokens left out).
    package func stream() -> DecodeStream { DecodeStream(tokenizer: tokenizer, skipSpecialTokens: true) }

    /// The whole text of generated ids (special tokens left out).
    ///
    /// - Parameter ids: the generated ids.
    package func text(_ ids: [Int]) -> String { tokenizer.decode(ids, skipSpecialTokens: true) }
}
