import Foundation
import LRNNModels

extension GenerateTool {
    /// The `lrnn generate --json` object: `model`, `precision`, `tokens` (the new ids of each
    /// prompt) and `prefill` / `decode` (`tokens`, `seconds`, `tokens_per_second`),
    /// pretty-printed with sorted keys; with a text prompt also `prompt_ids` and `text` (the
    /// decoded new tokens of each prompt). The schema is documented in docs/cli.md.
    /// - Parameters:
    ///   - request: what was asked for (the model directory and precision are echoed).
    ///   - result: the generated tokens and timings.
    ///   - text: the decoded text of each prompt's new tokens, for a text prompt.
    package static func json(request: GenerateRequest, result: GenerationResult, text: [String]? = nil) -> String {
        let payload = GenerateJSON(
            model: request.modelDirectory, precision: request.precision, tokens: result.tokens,
            promptIds: text == nil ? nil : request.prompts, text: text,
            prefill: .init(
                tokens: result.prefillTokenCount, seconds: result.prefillSeconds,
                tokensPerSecond: result.prefillTokensPerSecond),
            decode: .init(
                tokens: result.decodeTokenCount, seconds: result.decodeSeconds,
                tokensPerSecond: result.decodeTokensPerSecond))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(payload)) ?? Data(), as: UTF8.self)
    }
}

/// The encoded form of ``GenerateTool/json(request:result:)``.
private struct GenerateJSON: Encodable {
    /// Token count, wall time and rate of one phase.
    struct Phase: Encodable {
        var tokens: Int
        var seconds: Double
        var tokensPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case tokens, seconds
            case tokensPerSecond = "tokens_per_second"
        }
    }

    var model: String
    var precision: String
    var tokens: [[Int]]
    var promptIds: [[Int]]?
    var text: [String]?
    var prefill: Phase
    var decode: Phase

    enum CodingKeys: String, CodingKey {
        case model, precision, tokens, text, prefill, decode
        case promptIds = "prompt_ids"
    }
}
