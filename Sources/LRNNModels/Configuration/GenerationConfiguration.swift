import Foundation
import LRNNLinearAlgebra

/// A model directory's `generation_config.json`, read as Hugging Face transformers reads it
/// (`GenerationConfig.from_pretrained`).
///
/// Every field is optional: nil means the file does not set it. The special tokens given here
/// take precedence over `config.json`'s (transformers generates with the generation config's
/// `eos_token_id` when the file sets one); the sampling fields are the defaults of
/// ``CausalLM/defaultGenerationOptions``, which command-line options and explicit
/// ``GenerationOptions`` override.
///
/// Fields (transformers' names): `eos_token_id` (an integer or a list of integers),
/// `bos_token_id`, `pad_token_id`, `max_new_tokens`, `max_length`, `do_sample`, `temperature`,
/// `top_k`, `top_p`. A setting that changes transformers' decoding and is not implemented here
/// (`repetition_penalty` ≠ 1, `num_beams` > 1, `min_new_tokens`, `no_repeat_ngram_size`, …) is
/// refused with ``ModelLoadError/unsupportedConfiguration(file:field:value:reason:)``, never
/// ignored; fields that do not change the tokens (`use_cache`, `transformers_version`, …) are
/// ignored. A key given twice is an error (a JSON parser would keep one of the two values silently).
public struct GenerationConfiguration: Sendable, Equatable, Decodable {
    /// `eos_token_id`: the ids that end generation (a single id is a list of one).
    public var eosTokenIds: [Int]?
    /// `bos_token_id`.
    public var bosTokenId: Int?
    /// `pad_token_id`.
    public var padTokenId: Int?
    /// `max_new_tokens`: the default budget of new tokens per sequence.
    public var maxNewTokens: Int?
    /// `max_length`: the most tokens per sequence, prompt included (used when `max_new_tokens`
    /// is not set, as in transformers).
    public var maxLength: Int?
    /// `do_sample`: sample (true) or decode greedily (false, transformers' default).
    public var doSample: Bool?
    /// `temperature` (transformers' default 1.0; used only when sampling).
    public var temperature: Double?
    /// `top_k` (transformers' default 50; 0 disables the filter; used only when sampling).
    public var topK: Int?
    /// `top_p` (transformers' default 1.0, which disables the filter; used only when sampling).
    public var topP: Double?

    /// Creates a configuration; every field defaults to "not set".
    ///
    /// - Parameters:
    ///   - eosTokenIds: `eos_token_id`.
    ///   - bosTokenId: `bos_token_id`.
    ///   - padTokenId: `pad_token_id`.
    ///   - maxNewTokens: `max_new_tokens`.
    ///   - doSample: `do_sample`.
    ///   - temperature: `temperature`.
    ///   - topK: `top_k`.
    ///   - topP: `top_p`.
    ///   - maxLength: `max_length`.
    public init(
        eosTokenIds: [Int]? = nil, bosTokenId: Int? = nil, padTokenId: Int? = nil, maxNewTokens: Int? = nil,
        doSample: Bool? = nil, temperature: Double? = nil, topK: Int? = nil, topP: Double? = nil,
        maxLength: Int? = nil
    ) {
        self.maxLength = maxLength
        self.eosTokenIds = eosTokenIds
        self.bosTokenId = bosTokenId
        self.padTokenId = padTokenId
        self.maxNewTokens = maxNewTokens
        self.doSample = doSample
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    enum CodingKeys: String, CodingKey {
        case eosTokenIds = "eos_token_id"
        case bosTokenId = "bos_token_id"
        case padTokenId = "pad_token_id"
        case maxNewTokens = "max_new_tokens"
        case maxLength = "max_length"
        case doSample = "do_sample"
        case temperature
        case topK = "top_k"
        case topP = "top_p"
    }

    /// Decodes the fields transformers reads; `eos_token_id` may be an integer, a list or null.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if !c.contains(.eosTokenIds) {
            eosTokenIds = nil
        } else if try c.decodeNil(forKey: .eosTokenIds) {
            eosTokenIds = nil
        } else if let one = try? c.decode(Int.self, forKey: .eosTokenIds) {
            eosTokenIds = [one]
        } else {
            eosTokenIds = try c.decode([Int].self, forKey: .eosTokenIds)
        }
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId)
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId)
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens)
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength)
        doSample = try c.decodeIfPresent(Bool.self, forKey: .doSample)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        topP = try c.decodeIfPresent(Double.self, forKey: .topP)
    }

    /// The generation options these defaults give: greedy unless `do_sample` is true; when
    /// sampling, transformers' defaults for what the file leaves out (temperature 1, top-k 50,
    /// top-p 1); the token budget from `max_new_tokens`, else from `max_length` (prompt
    /// included), else `fallbackMaxNewTokens`.
    ///
    /// - Parameter fallbackMaxNewTokens: the budget when the file sets no `max_new_tokens`.
    /// - Returns: options whose `eosTokenIds` is nil (the model's end-of-sequence ids apply).
    public func options(fallbackMaxNewTokens: Int = 12) -> GenerationOptions {
        var o = GenerationOptions(maxNewTokens: maxNewTokens ?? fallbackMaxNewTokens)
        if maxNewTokens == nil, let maxLength {
            // transformers: max_length bounds prompt plus new tokens when max_new_tokens is unset.
            o.maxNewTokens = .max
            o.maxLength = maxLength
        }
        if doSample == true {
            o.temperature = temperature ?? 1
            let k = topK ?? 50
            o.topK = k > 0 ? k : nil
            let p = topP ?? 1
            o.topP = p < 1 ? p : nil
        }
        return o
    }

    /// Parses `generation_config.json` bytes; `file` names the file in errors.
    ///
    /// - Throws: ``ModelLoadError/unsupportedConfiguration(file:field:value:reason:)`` for a decoding
    ///   setting this engine does not implement;
    ///   ``ModelLoadError/malformedJSON(file:reason:)`` when the JSON does not parse, a
    ///   field has the wrong type, or a value is impossible (`max_new_tokens` below 1, a
    ///   negative or non-finite `temperature`, `top_p` outside (0, 1], a negative `top_k`).
    public static func parse(_ data: Data, file: String) throws(ModelLoadError) -> GenerationConfiguration {
        let config: GenerationConfiguration
        do {
            guard try JSONSerialization.jsonObject(with: data) is [String: Any] else {
                throw ModelLoadError.malformedJSON(file: file, reason: "top level is not an object")
            }
            if let duplicate = JSONDuplicateKey.first(in: data) {
                throw ModelLoadError.malformedJSON(file: file, reason: "key \(duplicate.location) appears twice")
            }
            config = try JSONDecoder().decode(GenerationConfiguration.self, from: data)
        } catch let e as ModelLoadError {
            throw e
        } catch let DecodingError.typeMismatch(type, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw .malformedJSON(file: file, reason: "field '\(field)': expected \(type)")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw .malformedJSON(file: file, reason: "field '\(field)': \(context.debugDescription)")
        } catch {
            throw .malformedJSON(file: file, reason: "\(error.localizedDescription)")
        }
        // Settings that change what transformers generates and that this engine does not
        // implement: refused when they differ from transformers' defaults, never ignored.
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            for (field, neutral) in unsupportedFields {
                guard let value = object[field], !(value is NSNull) else { continue }
                let number = (value as? NSNumber).flatMap { n -> Double? in
                    String(cString: n.objCType) == "c" ? nil : n.doubleValue
                }
                if let neutral, number == neutral { continue }
                throw .unsupportedConfiguration(
                    file: file, field: field, value: "\(value)",
                    reason: "changes decoding in transformers and is not implemented by this engine")
            }
        }
        if let n = config.maxLength, n < 0 {
            throw .malformedJSON(file: file, reason: "field 'max_length': must be ≥ 0, got \(n)")
        }
        if config.doSample == true, config.temperature == 0 {
            throw .malformedJSON(
                file: file,
                reason: "field 'temperature': must be > 0 when do_sample is true (transformers refuses 0; "
                    + "set do_sample to false for greedy decoding)")
        }
        if let n = config.maxNewTokens, n < 1 {
            // transformers refuses a max_new_tokens below 1 as well.
            throw .malformedJSON(file: file, reason: "field 'max_new_tokens': must be ≥ 1, got \(n)")
        }
        if let t = config.temperature, !(t.isFinite && t >= 0) {
            throw .malformedJSON(file: file, reason: "field 'temperature': must be finite and ≥ 0, got \(t)")
        }
        if let k = config.topK, k < 0 {
            throw .malformedJSON(file: file, reason: "field 'top_k': must be ≥ 0, got \(k)")
        }
        if let p = config.topP, !(p > 0 && p <= 1) {
            throw .malformedJSON(file: file, reason: "field 'top_p': must be in (0, 1], got \(p)")
        }
        return config
    }

    /// transformers' decoding settings that this engine does not implement, with the value that
    /// leaves decoding unchanged (nil: any non-null value changes it).
    static let unsupportedFields: [(String, Double?)] = [
        ("repetition_penalty", 1), ("encoder_repetition_penalty", 1), ("num_beams", 1), ("num_beam_groups", 1),
        ("diversity_penalty", 0), ("min_new_tokens", 0), ("min_length", 0), ("no_repeat_ngram_size", 0),
        ("encoder_no_repeat_ngram_size", 0), ("typical_p", 1), ("epsilon_cutoff", 0), ("eta_cutoff", 0),
        ("min_p", nil), ("penalty_alpha", nil), ("bad_words_ids", nil), ("force_words_ids", nil),
        ("suppress_tokens", nil), ("begin_suppress_tokens", nil), ("forced_bos_token_id", nil),
        ("forced_eos_token_id", nil), ("sequence_bias", nil), ("guidance_scale", nil),
        ("exponential_decay_length_penalty", nil), ("constraints", nil),
    ]

    /// Reads `generation_config.json` in `directory`; a directory without one gives an empty
    /// configuration (every field nil).
    ///
    /// - Parameter directory: the model directory.
    /// - Throws: the errors of ``parse(_:file:)``.
    public static func load(directory: String) throws(ModelLoadError) -> GenerationConfiguration {
        let path = (directory as NSString).appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: path) else { return GenerationConfiguration() }
        guard let data = FileManager.default.contents(atPath: path) else { throw .fileNotFound(path: path) }
        return try parse(data, file: path)
    }
}
