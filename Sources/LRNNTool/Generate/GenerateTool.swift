import Foundation
import LRNNLinearAlgebra
import LRNNModels

/// What `lrnn generate` asks for.
package struct GenerateRequest: Sendable, Equatable {
    /// The model directory (fla layout).
    package var modelDirectory: String
    /// One prompt per sequence.
    package var prompts: [[Int]]
    /// The sampling and stopping options set by the caller, over the model's
    /// `generation_config.json` defaults.
    package var overrides: GenerationOverrides
    /// `"f32"` or `"f64"`.
    package var precision: String

    /// Creates a request whose unset options come from the model directory's
    /// `generation_config.json` (``/LRNNModels/CausalLM/defaultGenerationOptions``).
    ///
    /// - Parameters:
    ///   - modelDirectory: the model directory.
    ///   - prompts: one prompt per sequence.
    ///   - overrides: the options the caller sets.
    ///   - precision: `"f32"` or `"f64"`.
    package init(modelDirectory: String, prompts: [[Int]], overrides: GenerationOverrides, precision: String) {
        self.modelDirectory = modelDirectory
        self.prompts = prompts
        self.overrides = overrides
        self.precision = precision
    }

    /// Creates a request with fully specified options (the model's end-of-sequence ids still
    /// apply when `options.eosTokenIds` is nil).
    ///
    /// - Parameters:
    ///   - modelDirectory: the model directory.
    ///   - prompts: one prompt per sequence.
    ///   - options: the sampling and stopping options.
    ///   - precision: `"f32"` or `"f64"`.
    package init(modelDirectory: String, prompts: [[Int]], options: GenerationOptions, precision: String) {
        self.init(
            modelDirectory: modelDirectory, prompts: prompts, overrides: GenerationOverrides(options),
            precision: precision)
    }
}

/// A problem `lrnn generate` reports on one line before exiting with code 2.
package struct GenerateToolError: Error, CustomStringConvertible, Sendable {
    /// The message.
    package let description: String
}

/// The library half of `lrnn generate`: parses prompt ids, loads the model, generates and
/// formats the report.
package enum GenerateTool {
    /// Parses `"1,2,3"` (spaces allowed) into token ids.
    /// - Throws: ``GenerateToolError`` naming the bad entry.
    package static func parseIds(_ text: String) throws(GenerateToolError) -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var ids: [Int] = []
        for p in parts {
            guard let v = Int(p) else {
                throw GenerateToolError(description: "--prompt-ids: '\(p)' is not an integer token id (in '\(text)')")
            }
            ids.append(v)
        }
        return ids
    }

    /// Loads the model in the requested precision and generates.
    ///
    /// - Parameters:
    ///   - r: the request.
    ///   - onToken: called with the sequence index and token as each token is chosen (for
    ///     streaming); nil by default.
    /// - Throws: ``GenerateToolError`` carrying the load or model error's one-line message.
    package static func run(_ r: GenerateRequest, onToken: ((_ sequence: Int, _ token: Int) -> Void)? = nil)
        throws(GenerateToolError) -> GenerationResult
    {
        switch r.precision {
        case "f32": return try run(r, as: Float.self, onToken: onToken)
        case "f64": return try run(r, as: Double.self, onToken: onToken)
        default: throw GenerateToolError(description: "--precision must be f32 or f64, got '\(r.precision)'")
        }
    }

    private static func run<T: LRNNScalar>(
        _ r: GenerateRequest, as: T.Type, onToken: ((_ sequence: Int, _ token: Int) -> Void)?
    ) throws(GenerateToolError) -> GenerationResult {
        let model: CausalLM<T>
        do { model = try CausalLM<T>.load(directory: r.modelDirectory) } catch {
            throw GenerateToolError(description: error.description)
        }
        let options = r.overrides.applied(to: model.defaultGenerationOptions)
        do { return try model.generate(prompts: r.prompts, options: options, onToken: onToken) } catch {
            throw GenerateToolError(description: error.description)
        }
    }

    /// The report: one line of comma-separated new ids per prompt, then the prefill and decode
    /// throughput lines.
    package static func report(_ g: GenerationResult) -> String {
        var out = ""
        for t in g.tokens { out += t.map(String.init).joined(separator: ",") + "\n" }
        return out + throughput(g)
    }

    /// The prefill and decode throughput lines (`prefill: N tokens in S s, R tokens/s`, then the
    /// same for decode).
    package static func throughput(_ g: GenerationResult) -> String {
        var out = ""
        out += String(
            format: "prefill: %d tokens in %.4f s, %.1f tokens/s\n", g.prefillTokenCount, g.prefillSeconds,
            g.prefillTokensPerSecond)
        out += String(
            format: "decode: %d tokens in %.4f s, %.1f tokens/s\n", g.decodeTokenCount, g.decodeSeconds,
            g.decodeTokensPerSecond)
        return out
    }
}
