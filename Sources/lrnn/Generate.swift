import ArgumentParser
import Foundation
import LRNNModels
import LRNNTool

/// `lrnn generate`: continue token-id prompts with a model directory.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate tokens from an fla model directory (greedy or sampled).",
        discussion: """
            Prints the new ids of each prompt (comma-separated, one line per prompt), then the prefill and decode \
            throughput. Decoding stops at eos_token_id (included; generation_config.json's when the directory has one, else \
            config.json's) or after --max-new-tokens. Unset options take generation_config.json's defaults \
            (max_new_tokens, do_sample, temperature, top_k, top_p), as transformers does. Temperature 0 is \
            greedy; a positive temperature samples, with optional top-k / top-p filtering, from a generator seeded \
            by --seed. Exits 2 with a one-line message for a missing or malformed model or bad ids.

            Example:
              lrnn generate --model ../shared/golden/model_gla --prompt-ids 5,17,42
              lrnn generate --model DIR --prompt-ids 1,2,3 --max-new-tokens 64 --ignore-eos
              lrnn generate --model DIR --prompt-ids 1,2 --temperature 0.8 --seed 7
              lrnn generate --model DIR --prompt-ids 1,2,3 --prompt-ids 4,5 --json
            """
    )

    @Option(help: "The model directory (config.json and model.safetensors).")
    var model: String

    @Option(help: "Comma-separated prompt token ids; repeat for a batch of prompts.")
    var promptIds: [String]

    @Option(help: "The most new tokens per prompt (default: generation_config.json's max_new_tokens, else 12).")
    var maxNewTokens: Int?

    @Option(help: "Sampling temperature, 0 = greedy (default: generation_config.json's, greedy unless do_sample).")
    var temperature: Double?

    @Option(
        help:
            "Sample only among the k most likely tokens (0: no top-k filter, even if generation_config.json sets one).")
    var topK: Int?

    @Option(help: "Sample only among the most likely tokens whose probability reaches p.")
    var topP: Double?

    @Option(help: "Sampling seed (default 0).")
    var seed: UInt64?

    @Option(help: "Run precision: f32 or f64.")
    var precision: String = "f32"

    @Flag(help: "Do not stop at eos_token_id (always generate --max-new-tokens tokens; for measuring).")
    var ignoreEos = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        do {
            let prompts = try promptIds.map { (s: String) throws(GenerateToolError) in try GenerateTool.parseIds(s) }
            let overrides = GenerationOverrides(
                maxNewTokens: maxNewTokens, temperature: temperature, topK: topK, topP: topP, seed: seed,
                eosTokenIds: ignoreEos ? [] : nil)
            let request = GenerateRequest(
                modelDirectory: model, prompts: prompts, overrides: overrides, precision: precision)
            let result = try Progress.whileRunning("generate") { () throws(GenerateToolError) in
                try GenerateTool.run(request)
            }
            print(
                json ? GenerateTool.json(request: request, result: result) : GenerateTool.report(result),
                terminator: json ? "\n" : "")
        } catch {
            FileHandle.standardError.write(Data("lrnn generate: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
