/// The parts of `tokenizer_config.json` (transformers' side of a tokenizer) this library reads:
/// the names of the special tokens, whether transformers adds BOS/EOS, and the chat template.
///
/// The ids of an encoding never depend on this file: the BOS a Llama-style tokenizer adds comes
/// from `tokenizer.json`'s post-processor. Other fields of the file are not read.
public struct TokenizerConfiguration: Sendable, Equatable {
    /// `bos_token`: the beginning-of-sequence token's string (a string or an object with `content`).
    public var bosToken: String?
    /// `eos_token`: the end-of-sequence token's string.
    public var eosToken: String?
    /// `unk_token`: the unknown token's string.
    public var unknownToken: String?
    /// `pad_token`: the padding token's string.
    public var padToken: String?
    /// `add_bos_token`, when the file sets it.
    public var addBosToken: Bool?
    /// `add_eos_token`, when the file sets it.
    public var addEosToken: Bool?
    /// `chat_template`: the Jinja template (a string, or the one named `default` in a list of
    /// `{name, template}` objects).
    public var chatTemplate: String?

    /// An empty configuration (no file).
    public init() {}

    init(_ root: JSONField) throws(TokenizerError) {
        _ = try root.object()
        func tokenName(_ key: String) throws(TokenizerError) -> String? {
            guard let f = try root.nonNull(key) else { return nil }
            if case .string = f.value { return try f.string() }
            return try f.required("content").string()
        }
        bosToken = try tokenName("bos_token")
        eosToken = try tokenName("eos_token")
        unknownToken = try tokenName("unk_token")
        padToken = try tokenName("pad_token")
        addBosToken = try root.nonNull("add_bos_token")?.bool()
        addEosToken = try root.nonNull("add_eos_token")?.bool()
        if let t = try root.nonNull("chat_template") {
            if case .string = t.value {
                chatTemplate = try t.string()
            } else {
                var found: String? = nil
                for entry in try t.array() where try entry.required("name").string() == "default" {
                    found = try entry.required("template").string()
                }
                guard let found else {
                    throw .invalidValue(file: t.file, field: t.path, reason: "no template named 'default'")
                }
                chatTemplate = found
            }
        }
    }
}
