/// A `tokenizer.json` post-processor, applied when special tokens are added to a single
/// sequence. Supported: `TemplateProcessing` (its `single` template), `ByteLevel` (ids
/// unchanged), `RobertaProcessing` and `BertProcessing` (`cls`, the sequence, `sep`),
/// `Sequence`.
enum PostProcessor: Sendable {
    /// One item of a template.
    enum Item: Sendable {
        case special([Int32])
        case sequence
    }

    case template([Item])
    case identity
    case sequence([PostProcessor])

    /// Reads the component at `field`.
    /// - Throws: ``TokenizerError`` for an unknown type or a template naming a special token it
    ///   does not define.
    init(_ field: JSONField) throws(TokenizerError) {
        let type = try field.type()
        switch type {
        case "TemplateProcessing":
            try field.onlyKeys(["type", "single", "pair", "special_tokens"], component: "TemplateProcessing")
            var specials: [ExactString: [Int32]] = [:]
            if let st = try field.nonNull("special_tokens") {
                for (name, v) in try st.object() {
                    let ids = try v.required("ids").array()
                    specials[ExactString(name)] = try ids.map { (f) throws(TokenizerError) in
                        let id = try f.integer()
                        guard id >= 0, id <= Int(Int32.max) else {
                            throw .invalidValue(file: f.file, field: f.path, reason: "id \(id) is not a valid token id")
                        }
                        return Int32(id)
                    }
                }
            }
            var items: [Item] = []
            for entry in try field.required("single").array() {
                if let s = try entry.optional("SpecialToken") {
                    let idField = try s.required("id")
                    let name = try idField.string()
                    guard let ids = specials[ExactString(name)] else {
                        throw .unknownToken(file: field.file, field: idField.path, token: name)
                    }
                    items.append(.special(ids))
                } else if let s = try entry.optional("Sequence") {
                    let idField = try s.required("id")
                    guard try idField.string() == "A" else {
                        throw .invalidValue(
                            file: field.file, field: idField.path,
                            reason: "a single-sequence template holds sequence A only")
                    }
                    items.append(.sequence)
                } else {
                    throw .wrongType(
                        file: field.file, field: entry.path, expected: "{\"SpecialToken\": …} or {\"Sequence\": …}")
                }
            }
            self = .template(items)
        case "ByteLevel":
            try field.onlyKeys(["type", "add_prefix_space", "trim_offsets", "use_regex"], component: "ByteLevel")
            self = .identity
        case "RobertaProcessing", "BertProcessing":
            try field.onlyKeys(["type", "sep", "cls", "trim_offsets", "add_prefix_space"], component: type)
            func id(_ key: String) throws(TokenizerError) -> Int32 {
                let pair = try field.required(key).array()
                guard pair.count == 2 else {
                    throw .wrongType(file: field.file, field: field.path + "." + key, expected: "[token, id]")
                }
                let v = try pair[1].integer()
                guard v >= 0, v <= Int(Int32.max) else {
                    throw .invalidValue(
                        file: field.file, field: pair[1].path, reason: "id \(v) is not a valid token id")
                }
                return Int32(v)
            }
            self = .template([.special([try id("cls")]), .sequence, .special([try id("sep")])])
        case "Sequence":
            try field.onlyKeys(["type", "processors"], component: "Sequence")
            self = .sequence(
                try field.required("processors").array().map { (f) throws(TokenizerError) in try PostProcessor(f) })
        default:
            throw .unsupportedComponent(file: field.file, field: field.path, type: type)
        }
    }

    /// The ids with the special tokens added.
    func apply(_ ids: [Int32]) -> [Int32] {
        switch self {
        case .identity: return ids
        case let .template(items):
            var out: [Int32] = []
            for item in items {
                switch item {
                case let .special(s): out += s
                case .sequence: out += ids
                }
            }
            return out
        case let .sequence(items): return items.reduce(ids) { $1.apply($0) }
        }
    }

    /// Every id the processor may add.
    var specialIds: [Int32] {
        switch self {
        case .identity: []
        case let .template(items): items.flatMap { if case let .special(s) = $0 { s } else { [Int32]() } }
        case let .sequence(items): items.flatMap(\.specialIds)
        }
    }
}
