import Foundation
import LRNNTokenizers

/// A problem `lrnn tokenize` (or the text side of `lrnn generate`) reports on one line before
/// exiting with code 2.
package struct TokenizeToolError: Error, CustomStringConvertible, Sendable {
    /// The message.
    package let description: String
}

/// The result of `lrnn tokenize`: the ids of a text and their token strings.
package struct TokenizeResult: Sendable, Equatable, Encodable {
    /// The tokenizer directory.
    package var tokenizer: String
    /// Whether the post-processor's special tokens were added.
    package var addSpecialTokens: Bool
    /// The token ids.
    package var ids: [Int]
    /// The token string of each id (byte-level tokens in GPT-2's byte alphabet, `Ġ` = space).
    package var tokens: [String]

    enum CodingKeys: String, CodingKey {
        case tokenizer, ids, tokens
        case addSpecialTokens = "add_special_tokens"
    }
}

/// The library half of `lrnn tokenize`.
package enum TokenizeTool {
    /// Loads the tokenizer of a directory, with the load error as a one-line message.
    ///
    /// - Parameter directory: a directory holding `tokenizer.json`.
    /// - Throws: ``TokenizeToolError`` carrying the ``/LRNNTokenizers/TokenizerError`` message.
    package static func load(_ directory: String) throws(TokenizeToolError) -> Tokenizer {
        do { return try Tokenizer.load(directory: directory) } catch {
            throw TokenizeToolError(description: error.description)
        }
    }

    /// Encodes `text` with the tokenizer of `directory`.
    ///
    /// - Parameters:
    ///   - directory: the tokenizer directory.
    ///   - text: the text.
    ///   - addSpecialTokens: whether to apply the post-processor.
    /// - Throws: ``TokenizeToolError`` when the tokenizer cannot be loaded.
    package static func run(directory: String, text: String, addSpecialTokens: Bool) throws(TokenizeToolError)
        -> TokenizeResult
    {
        let tokenizer = try load(directory)
        let ids = tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
        return TokenizeResult(
            tokenizer: directory, addSpecialTokens: addSpecialTokens, ids: ids,
            tokens: ids.map { tokenizer.token(forId: $0) ?? "" })
    }

    /// The text report: the comma-separated ids, then one line per token (`id`, a tab, the token
    /// as a JSON string literal so that spaces and control characters show), then the count.
    ///
    /// - Parameter r: the result.
    package static func text(_ r: TokenizeResult) -> String {
        var out = "ids: " + r.ids.map(String.init).joined(separator: ",") + "\n"
        for (id, token) in zip(r.ids, r.tokens) { out += "\(id)\t\(jsonString(token))\n" }
        return out + "\(r.ids.count) tokens\n"
    }

    /// The `--json` object: `tokenizer`, `add_special_tokens`, `ids`, `tokens`.
    ///
    /// - Parameter r: the result.
    package static func json(_ r: TokenizeResult) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(r)) ?? Data(), as: UTF8.self)
    }

    static func jsonString(_ s: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(s)) ?? Data(), as: UTF8.self)
    }
}
