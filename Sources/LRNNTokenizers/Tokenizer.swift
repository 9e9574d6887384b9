import Foundation

/// A Hugging Face tokenizer read from `tokenizer.json` (and `tokenizer_config.json` for the
/// names of its special tokens and its chat template), encoding text to token ids and decoding
/// ids to text exactly as the `tokenizers` library does for the supported components.
///
/// Two families are supported, which between them cover the causal language models that ship
/// with a BPE tokenizer:
/// - byte-level BPE (GPT-2, Llama-3, Qwen2): an optional `NFC` normalizer, a `Split`
///   pre-tokenizer with a regex over Unicode classes, `ByteLevel` mapping every UTF-8 byte to one
///   of 256 printable characters, and the `ByteLevel` decoder;
/// - SentencePiece-style BPE (Llama-2, Mistral): `Metaspace` with `prepend_scheme`, or the older
///   `Prepend` + `Replace` normalizer; byte fallback to `<0xNN>` tokens; the decoder chain
///   `Replace`, `ByteFallback`, `Fuse`, `Strip`.
///
/// Added tokens (special or not) are matched in the text before anything else, and
/// `addSpecialTokens` applies the post-processor (`TemplateProcessing`, …). A component or a
/// setting outside what is implemented is refused when loading with
/// ``TokenizerError/unsupportedComponent(file:field:type:)`` or
/// ``TokenizerError/unsupportedValue(file:field:value:reason:)``, never encoded differently.
///
/// ## Thread safety
///
/// `Tokenizer` is an immutable `Sendable` value: any number of threads may encode and decode
/// with one instance at once. Each call keeps its scratch space (the regex backtracking stack,
/// the BPE merge heap, the cache of words already encoded) to itself, so calls never wait for
/// each other and their results do not depend on what other threads do.
public struct Tokenizer: Sendable {
    let model: BPEModel
    let added: AddedVocabulary
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: Decoder?

    /// The settings of `tokenizer_config.json` (empty when the directory has none).
    public let configuration: TokenizerConfiguration

    /// The number of ids: the model's vocabulary and the added tokens beyond it.
    public let vocabularySize: Int

    /// Loads `tokenizer.json` and, when present, `tokenizer_config.json` from a directory (a
    /// Hugging Face model directory or a tokenizer directory).
    ///
    /// - Parameter directory: the directory.
    /// - Throws: ``TokenizerError`` naming the file and field: an unreadable or malformed file,
    ///   an unsupported component, a token the vocabulary does not hold.
    public static func load(directory: String) throws(TokenizerError) -> Tokenizer {
        let tokenizerPath = (directory as NSString).appendingPathComponent("tokenizer.json")
        let configPath = (directory as NSString).appendingPathComponent("tokenizer_config.json")
        let tokenizerBytes = try readFile(tokenizerPath)
        var configBytes: [UInt8]? = nil
        if FileManager.default.fileExists(atPath: configPath) { configBytes = try readFile(configPath) }
        return try Tokenizer(
            tokenizerJSON: tokenizerBytes, configurationJSON: configBytes, tokenizerFile: tokenizerPath,
            configurationFile: configPath)
    }

    /// Reads a tokenizer from the contents of its files.
    ///
    /// - Parameters:
    ///   - tokenizerJSON: the bytes of `tokenizer.json`.
    ///   - configurationJSON: the bytes of `tokenizer_config.json`, or nil when there is none.
    ///   - tokenizerFile: the name errors give the first file.
    ///   - configurationFile: the name errors give the second file.
    /// - Throws: ``TokenizerError`` naming the file and field.
    public init(
        tokenizerJSON: [UInt8], configurationJSON: [UInt8]? = nil, tokenizerFile: String = "tokenizer.json",
        configurationFile: String = "tokenizer_config.json"
    ) throws(TokenizerError) {
        let root = JSONField(try JSONParser.parse(tokenizerJSON, file: tokenizerFile), file: tokenizerFile)
        try root.onlyKeys(
            [
                "version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor",
                "decoder", "model",
            ], component: "tokenizer.json")
        for key in ["truncation", "padding"] {
            if let f = try root.nonNull(key) {
                throw .unsupportedValue(
                    file: tokenizerFile, field: f.path, value: "set",
                    reason: "\(key) changes the ids of one text; only null is supported")
            }
        }
        var model = try BPEModel(try root.required("model"))
        added = try AddedVocabulary(try root.nonNull("added_tokens"), model: model)
        normalizer = try root.nonNull("normalizer").map { (f) throws(TokenizerError) in try Normalizer(f) }
        preTokenizer = try root.nonNull("pre_tokenizer").map { (f) throws(TokenizerError) in try PreTokenizer(f) }
        // SentencePiece's word-boundary scalar (Metaspace's replacement, or the legacy normalizer's
        // replacement of the space), when cutting words before it provably keeps the ids.
        let candidates = (preTokenizer?.metaspaceReplacements ?? []) + (normalizer?.spaceReplacements ?? [])
        if let c = candidates.first(where: { model.splitsWords(before: $0) }) { model.splitWords(before: c) }
        self.model = model
        postProcessor = try root.nonNull("post_processor").map { (f) throws(TokenizerError) in try PostProcessor(f) }
        decoder = try root.nonNull("decoder").map { (f) throws(TokenizerError) in try Decoder(f) }
        vocabularySize = max(model.tokens.count, added.maxId + 1)
        if let configurationJSON {
            let c = JSONField(try JSONParser.parse(configurationJSON, file: configurationFile), file: configurationFile)
            configuration = try TokenizerConfiguration(c)
        } else {
            configuration = TokenizerConfiguration()
        }
    }

    private static func readFile(_ path: String) throws(TokenizerError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileUnreadable(file: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw .fileUnreadable(file: path, reason: "a directory, not a file") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard (attributes?[.type] as? FileAttributeType) == .typeRegular else {
            throw .fileUnreadable(file: path, reason: "not a regular file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .fileUnreadable(file: path, reason: "permission denied or I/O error")
        }
        return [UInt8](data)
    }

    // MARK: Encoding

    /// The token ids of `text`.
    ///
    /// Added tokens written in the text are recognised whatever `addSpecialTokens` says (as in
    /// `tokenizers`); `addSpecialTokens` runs the post-processor, which adds a BOS token for
    /// Llama-style tokenizers and nothing for byte-level ones.
    ///
    /// - Parameters:
    ///   - text: the text.
    ///   - addSpecialTokens: whether to apply the post-processor (`tokenizers`' default: true).
    /// - Returns: the ids, each in `0..<vocabularySize`.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var scratch = EncodeScratch()
        var ids: [Int32] = []
        let scalars = text.scalarValues
        added.split(
            scalars, normalizedStage: false,
            text: { r in encodePiece(scalars[r], atStart: r.lowerBound == 0, into: &ids, scratch: &scratch) },
            token: { ids.append($0) })
        if addSpecialTokens, let postProcessor { ids = postProcessor.apply(ids) }
        return ids.map(Int.init)
    }

    /// Normalizes, pre-tokenizes and encodes one stretch of text between added tokens.
    private func encodePiece(
        _ piece: ArraySlice<UInt32>, atStart: Bool, into ids: inout [Int32], scratch: inout EncodeScratch
    ) {
        let normalized = normalizer?.apply(Array(piece)) ?? Array(piece)
        if added.hasNormalizedTokens {
            added.split(
                normalized, normalizedStage: true,
                text: { r in
                    encodeWords(normalized, r, atStart: atStart && r.lowerBound == 0, into: &ids, scratch: &scratch)
                },
                token: { ids.append($0) })
        } else if !normalized.isEmpty {
            encodeWords(normalized, 0..<normalized.count, atStart: atStart, into: &ids, scratch: &scratch)
        }
    }

    /// Pre-tokenizes `range` of `scalars` (not empty) and encodes its words.
    private func encodeWords(
        _ scalars: [UInt32], _ range: Range<Int>, atStart: Bool, into ids: inout [Int32],
        scratch: inout EncodeScratch
    ) {
        var list = WordList(
            scalars: scalars, words: [WordSpan(start: range.lowerBound, end: range.upperBound, atStart: atStart)])
        preTokenizer?.apply(&list, scratch: &scratch)
        list.scalars.withUnsafeBufferPointer { text in
            for w in list.words {
                model.encode(UnsafeBufferPointer(rebasing: text[w.start..<w.end]), into: &ids, scratch: &scratch.bpe)
            }
        }
    }

    // MARK: Decoding

    /// The token string of an id (an added token's content, or the model's token), or nil for
    /// an id outside the vocabulary.
    ///
    /// - Parameter id: the token id.
    public func token(forId id: Int) -> String? {
        guard id >= 0, id <= Int(Int32.max) else { return nil }
        if let t = added.token(id: Int32(id)) { return t.content }
        guard id < model.tokens.count, model.vocabulary[ExactString(model.tokens[id])] == Int32(id) else { return nil }
        return model.tokens[id]
    }

    /// The id of a token string (an added token or a vocabulary entry), or nil.
    ///
    /// - Parameter token: the token string as `tokenizer.json` spells it (`<s>`, `Ġthe`, `▁the`).
    public func id(forToken token: String) -> Int? {
        let key = ExactString(token)
        if let id = added.idOfContent[key] { return Int(id) }
        return model.vocabulary[key].map(Int.init)
    }

    /// The token strings of ids (for reading; ids outside the vocabulary are left out).
    ///
    /// - Parameter ids: the token ids.
    public func tokens(_ ids: [Int]) -> [String] { ids.compactMap { token(forId: $0) } }

    /// Whether `id` is a special added token (one that `skipSpecialTokens` drops).
    ///
    /// - Parameter id: the token id.
    public func isSpecial(_ id: Int) -> Bool {
        guard id >= 0, id <= Int(Int32.max) else { return false }
        return added.token(id: Int32(id))?.special ?? false
    }

    /// The text of token ids, as `tokenizers`' `decode`: ids outside the vocabulary are dropped,
    /// special tokens too when `skipSpecialTokens` is set, and the decoder turns the token
    /// strings into text. Bytes that are not valid UTF-8 become U+FFFD the way each decoder does
    /// it (`ByteLevel`: one per maximal invalid subsequence of all the bytes; `ByteFallback`: one
    /// per byte of a run of `<0xNN>` tokens that is not valid as a whole).
    ///
    /// - Parameters:
    ///   - ids: the token ids.
    ///   - skipSpecialTokens: whether to leave out special added tokens (`tokenizers`' default: false).
    /// - Returns: the text.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        let strings = ids.compactMap { id -> String? in
            if skipSpecialTokens, isSpecial(id) { return nil }
            return token(forId: id)
        }
        guard let decoder else { return strings.joined(separator: " ") }
        return decoder.decodeChain(strings).joined()
    }

    // MARK: Special tokens

    /// The id of `tokenizer_config.json`'s `bos_token`, when it names a token of the vocabulary.
    public var bosTokenId: Int? { configuration.bosToken.flatMap { id(forToken: $0) } }

    /// The id of `tokenizer_config.json`'s `eos_token`, when it names a token of the vocabulary.
    public var eosTokenId: Int? { configuration.eosToken.flatMap { id(forToken: $0) } }
}
