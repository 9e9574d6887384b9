import ArgumentParser
import Foundation
import LRNNModels
import LRNNTool

/// `lrnn generate`: continue a text prompt or token-id prompts with a model directory.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate tokens from an fla model directory (greedy or sampled).",
        discussion: """
            With --prompt, the text is encoded with the tokenizer of the model directory (tokenizer.json, or \
            --tokenizer DIR), the decoded text is streamed to stdout as tokens arrive (a character split over \
            several tokens is written once complete), and the prefill and decode throughput go to stderr. With \
            --prompt-ids, prints the new ids of each prompt (comma-separated, one line per prompt), then the \
            prefill and decode throughput. Decoding stops at eos_token_id (included; generation_config.json's when the directory has one, else \
            config.json's) or after --max-new-tokens. Unset options take generation_config.json's defaults \
            (max_new_tokens, do_sample, temperature, top_k, top_p), as transformers does. Temperature 0 is \
            greedy; a positive temperature samples, with optional top-k / top-p filtering, from a generator seeded \
            by --seed. Exits 2 with a one-line message for a missing or malformed model or bad ids.

            Example:
              lrnn generate --model MODEL_DIR --prompt "Once upon a time" --max-new-tokens 64
              lrnn generate --model MODEL_DIR --prompt "Why is the sky blue?" --chat
              lrnn generate --model ../shared/golden/model_gla --prompt-ids 5,17,42
              lrnn generate --model DIR --prompt-ids 1,2,3 --max-new-tokens 64 --ignore-eos
              lrnn generate --model DIR --prompt-ids 1,2 --temperature 0.8 --seed 7
              lrnn generate --model DIR --prompt-ids 1,2,3 --prompt-ids 4,5 --json
            """
    )

    @Option(help: "The model directory (config.json and model.safetensors).")
    var model: String

    @Option(help: "The prompt text (encoded with the model directory's tokenizer.json).")
    var prompt: String?

    @Option(
        help: ArgumentHelp("The tokenizer directory for --prompt (default: the model directory).", valueName: "dir"))
    var tokenizer: String?

    @Flag(help: "With --prompt: render the text as a user message with tokenizer_config.json's chat template.")
    var chat = false

    @Option(
        parsing: .unconditionalSingleValue, help: "Comma-separated prompt token ids; repeat for a batch of prompts.")
    var promptIds: [String] = []

    @Option(
        parsing: .unconditional,
        help: "The most new tokens per prompt (default: generation_config.json's max_new_tokens, else 12).")
    var maxNewTokens: Int?

    @Option(
        parsing: .unconditional,
        help: "Sampling temperature, 0 = greedy (default: generation_config.json's, greedy unless do_sample).")
    var temperature: Double?

    @Option(
        parsing: .unconditional,
        help:
            "Sample only among the k most likely tokens (0: no top-k filter, even if generation_config.json sets one).")
    var topK: Int?

    @Option(parsing: .unconditional, help: "Sample only among the most likely tokens whose probability reaches p.")
    var topP: Double?

    @Option(parsing: .unconditional, help: "Sampling seed (default 0).")
    var seed: UInt64?

    @Option(help: "Run precision: f32 or f64.")
    var precision: String = "f32"

    @Flag(help: "Do not stop at eos_token_id (always generate --max-new-tokens tokens; for measuring).")
    var ignoreEos = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard (prompt != nil) != !promptIds.isEmpty else {
            throw ValidationError("give either --prompt or --prompt-ids (one of them)")
        }
        if prompt == nil && (tokenizer != nil || chat) {
            throw ValidationError("--tokenizer and --chat apply to --prompt")
        }
        // The sampling flags by their own names and ranges (the library would name its fields).
        if let n = maxNewTokens, n < 0 { throw ValidationError("--max-new-tokens must be ≥ 0, got \(n)") }
        if let t = temperature, !(t >= 0 && t.isFinite) {
            throw ValidationError("--temperature must be finite and ≥ 0, got \(t)")
        }
        if let k = topK, k < 0 { throw ValidationError("--top-k must be ≥ 0 (0: no top-k filter), got \(k)") }
        if let p = topP, !(p > 0 && p <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(p)") }
    }

    func run() throws {
        if let prompt {
            try runText(prompt)
            return
        }
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

    /// `--prompt`: encode, generate with the text streamed to stdout, throughput on stderr.
    func runText(_ prompt: String) throws {
        do {
            let text = try TextGeneration(directory: tokenizer ?? model)
            let ids = try text.promptIds(prompt, chat: chat)
            let overrides = GenerationOverrides(
                maxNewTokens: maxNewTokens, temperature: temperature, topK: topK, topP: topP, seed: seed,
                eosTokenIds: ignoreEos ? [] : nil)
            let request = GenerateRequest(
                modelDirectory: model, prompts: [ids], overrides: overrides, precision: precision)
            var stream = text.stream()
            let stdout = FileHandle.standardOutput
            let result = try GenerateTool.run(request) { _, token in
                guard !json else { return }
                let piece = stream.step(token)
                if !piece.isEmpty { stdout.write(Data(piece.utf8)) }
            }
            if json {
                print(GenerateTool.json(request: request, result: result, text: result.tokens.map(text.text)))
            } else {
                stdout.write(Data((stream.finish() + "\n").utf8))
                FileHandle.standardError.write(Data(GenerateTool.throughput(result).utf8))
            }
        } catch let error as TokenizeToolError {
            FileHandle.standardError.write(Data("lrnn generate: \(error.description)\n".utf8))
            throw ExitCode(2)
        } catch let error as GenerateToolError {
            FileHandle.standardError.write(Data("lrnn generate: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
