/// A `tokenizer.json` decoder: turns token strings back into text. Supported: `ByteLevel`,
/// `Replace` (string patterns), `ByteFallback`, `Fuse`, `Strip`, `Metaspace`, `Sequence`.
/// Each works on the list of token strings as `tokenizers`' `decode_chain` does, and the
/// results are joined.
enum Decoder: Sendable {
    case byteLevel
    case replace(pattern: [UInt32], content: [UInt32])
    case byteFallback
    case fuse
    case strip(content: UInt32, start: Int, stop: Int)
    case metaspace(replacement: UInt32, prependScheme: PreTokenizer.PrependScheme)
    case sequence([Decoder])

    /// Reads the component at `field`.
    /// - Throws: ``TokenizerError`` for an unknown type or a malformed field.
    init(_ field: JSONField) throws(TokenizerError) {
        let type = try field.type()
        switch type {
        case "ByteLevel":
            try field.onlyKeys(["type", "add_prefix_space", "trim_offsets", "use_regex"], component: "ByteLevel")
            self = .byteLevel
        case "Replace":
            try field.onlyKeys(["type", "pattern", "content"], component: "Replace")
            let (p, c) = try readReplace(field)
            self = .replace(pattern: p, content: c)
        case "ByteFallback":
            try field.onlyKeys(["type"], component: "ByteFallback")
            self = .byteFallback
        case "Fuse":
            try field.onlyKeys(["type"], component: "Fuse")
            self = .fuse
        case "Strip":
            try field.onlyKeys(["type", "content", "start", "stop"], component: "Strip")
            let c = try field.required("content")
            let s = try c.string().scalarValues
            guard s.count == 1 else {
                throw .invalidValue(file: field.file, field: c.path, reason: "expected one character")
            }
            let start = try field.required("start").integer()
            let stop = try field.required("stop").integer()
            guard start >= 0, stop >= 0 else {
                throw .invalidValue(file: field.file, field: field.path, reason: "start and stop must be non-negative")
            }
            self = .strip(content: s[0], start: start, stop: stop)
        case "Metaspace":
            guard case let .metaspace(r, scheme, _) = try PreTokenizer(field) else {
                throw .unsupportedComponent(file: field.file, field: field.path, type: type)
            }
            self = .metaspace(replacement: r, prependScheme: scheme)
        case "Sequence":
            try field.onlyKeys(["type", "decoders"], component: "Sequence")
            self = .sequence(
                try field.required("decoders").array().map { (f) throws(TokenizerError) in try Decoder(f) })
        default:
            throw .unsupportedComponent(file: field.file, field: field.path, type: type)
        }
    }

    /// One step of the chain.
    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                let start = bytes.count
                var mapped = true
                for s in t.unicodeScalars {
                    guard let b = ByteLevelAlphabet.byte(of: s.value) else {
                        mapped = false
                        break
                    }
                    bytes.append(b)
                }
                if !mapped {
                    bytes.removeSubrange(start...)
                    bytes += Array(t.utf8)
                }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .replace(pattern, content):
            return tokens.map { String(scalarValues: replaceAll($0.scalarValues, pattern, content)) }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    out += Array(repeating: "\u{FFFD}", count: pending.count)
                }
                pending.removeAll()
            }
            for t in tokens {
                if let b = Self.byteToken(t) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { t in
                let s = t.scalarValues
                var lo = 0
                while lo < min(start, s.count), s[lo] == content { lo += 1 }
                var hi = s.count
                var k = 0
                while k < stop, hi > lo, s[hi - 1] == content {
                    hi -= 1
                    k += 1
                }
                return String(scalarValues: s[lo..<hi])
            }
        case let .metaspace(replacement, scheme):
            return tokens.enumerated().map { i, t in
                var out = String.UnicodeScalarView()
                for s in t.unicodeScalars {
                    if s.value == replacement {
                        if i == 0, scheme != .never { continue }
                        out.append(" ")
                    } else {
                        out.append(s)
                    }
                }
                return String(out)
            }
        case let .sequence(items):
            return items.reduce(tokens) { $1.decodeChain($0) }
        }
    }

    /// The byte of a `<0xNN>` token (six characters, two hexadecimal digits), or nil.
    static func byteToken(_ t: String) -> UInt8? {
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }
}
