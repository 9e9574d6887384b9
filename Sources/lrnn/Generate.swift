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
            throughput. Decoding stops at eos_token_id (included) or after --max-new-tokens. Temperature 0 is \
            greedy; a positive temperature samples, with optional top-k / top-p filtering, from a generator seeded \
            by --seed. Exits 2 with a one-line message for a missing or malformed model or bad ids.

            Example:
              lrnn generate --model ../shared/golden/model_gla --prompt-ids 5,17,42
              lrnn generate --model DIR --prompt-ids 1,2,3 --max-new-tokens 64 --ignore-eos
              lrnn generate --model DIR --prompt-ids 1,2 --temperature 0.8 --seed 7
            """
    )

    @Option(help: "The model directory (config.json and model.safetensors).")
    var model: String

    @Option(help: "Comma-separated prompt token ids; repeat for a batch of prompts.")
    var promptIds: [String]

    @Option(help: "The most new tokens per prompt.")
    var maxNewTokens: Int = 12

    @Option(help: "Sampling temperature (0 = greedy).")
    var temperature: Double = 0

    @Option(help: "Sample only among the k most likely tokens.")
    var topK: Int?

    @Option(help: "Sample only among the most likely tokens whose probability reaches p.")
    var topP: Double?

    @Option(help: "Sampling seed.")
    var seed: UInt64 = 0

    @Option(help: "Run precision: f32 or f64.")
    var precision: String = "f32"

    @Flag(help: "Do not stop at eos_token_id (always generate --max-new-tokens tokens; for measuring).")
    var ignoreEos = false

    func run() throws {
        do {
            let prompts = try promptIds.map { (s: String) throws(GenerateToolError) in try GenerateTool.parseIds(s) }
            let options = GenerationOptions(
                maxNewTokens: maxNewTokens, temperature: temperature, topK: topK, topP: topP, seed: seed,
                eosTokenIds: ignoreEos ? [] : nil)
            let request = GenerateRequest(
                modelDirectory: model, prompts: prompts, options: options, precision: precision)
            let result = try GenerateTool.run(request)
            print(GenerateTool.report(result), terminator: "")
        } catch {
            FileHandle.standardError.write(Data("lrnn generate: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
