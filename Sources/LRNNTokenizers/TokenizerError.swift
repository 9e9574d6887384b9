/// Why a tokenizer could not be loaded or a chat template not rendered.
///
/// Every case names the file (`tokenizer.json`, `tokenizer_config.json`) and, where one is
/// involved, the field as a path from the top of the file (`model.merges[12]`,
/// `pre_tokenizer.pretokenizers[0].pattern.Regex`). A component this library does not implement
/// is always an error, never a silently different encoding.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not exist, is not a regular file or cannot be read.
    case fileUnreadable(file: String, reason: String)
    /// The file is not JSON (the byte offset of the problem and what was expected there).
    case invalidJSON(file: String, offset: Int, reason: String)
    /// A key appears twice in one JSON object (a parser would silently keep one of the values).
    case duplicateKey(file: String, field: String, key: String)
    /// A required field is absent.
    case missingField(file: String, field: String)
    /// A field holds a JSON value of the wrong type.
    case wrongType(file: String, field: String, expected: String)
    /// A field has the right type but a value that cannot be used.
    case invalidValue(file: String, field: String, reason: String)
    /// A normalizer, pre-tokenizer, model, post-processor or decoder type this library does not
    /// implement (`field` is the component's place in the file, `type` its `type` value).
    case unsupportedComponent(file: String, field: String, type: String)
    /// A setting of a supported component that this library does not implement (a BPE
    /// `dropout`, a regex construct outside the supported subset, `single_word` added tokens).
    case unsupportedValue(file: String, field: String, value: String, reason: String)
    /// A token named in the file (a merge, a post-processor's special token, the unknown token)
    /// that the vocabulary does not hold.
    case unknownToken(file: String, field: String, token: String)
    /// A chat template that uses a construct outside the supported subset, or that failed to
    /// render (an undefined variable, a wrong type).
    case chatTemplate(reason: String)

    /// A one-line message naming the file and field.
    public var description: String {
        switch self {
        case let .fileUnreadable(file, reason): "\(file): cannot read: \(reason)"
        case let .invalidJSON(file, offset, reason): "\(file): invalid JSON at byte \(offset): \(reason)"
        case let .duplicateKey(file, field, key): "\(file): key '\(key)' appears twice in \(field)"
        case let .missingField(file, field): "\(file): missing field '\(field)'"
        case let .wrongType(file, field, expected): "\(file): field '\(field)' must be \(expected)"
        case let .invalidValue(file, field, reason): "\(file): field '\(field)': \(reason)"
        case let .unsupportedComponent(file, field, type): "\(file): \(field) of type '\(type)' is not supported"
        case let .unsupportedValue(file, field, value, reason):
            "\(file): field '\(field)' = \(value) is not supported: \(reason)"
        case let .unknownToken(file, field, token): "\(file): field '\(field)' names '\(token)', not in the vocabulary"
        case let .chatTemplate(reason): "chat template: \(reason)"
        }
    }
}
