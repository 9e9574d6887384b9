import Foundation

/// A `tokenizer.json` normalizer: rewrites the text between added tokens before it is split.
/// Supported: `NFC`, `NFD`, `NFKC`, `NFKD`, `Lowercase`, `Prepend`, `Replace` (string
/// patterns), `Strip`, `Sequence`.
enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd, lowercase
    case prepend([UInt32])
    case replace(pattern: [UInt32], content: [UInt32])
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    /// Reads the component at `field`.
    /// - Throws: ``TokenizerError`` for an unknown type or a malformed field.
    init(_ field: JSONField) throws(TokenizerError) {
        let type = try field.type()
        switch type {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "Prepend":
            try field.onlyKeys(["type", "prepend"], component: "Prepend")
            self = .prepend(try field.required("prepend").string().scalarValues)
        case "Replace":
            try field.onlyKeys(["type", "pattern", "content"], component: "Replace")
            let (pattern, content) = try readReplace(field)
            self = .replace(pattern: pattern, content: content)
        case "Strip":
            try field.onlyKeys(["type", "strip_left", "strip_right"], component: "Strip")
            self = .strip(
                left: try field.bool("strip_left", default: true), right: try field.bool("strip_right", default: true))
        case "Sequence":
            try field.onlyKeys(["type", "normalizers"], component: "Sequence")
            self = .sequence(
                try field.required("normalizers").array().map { (f) throws(TokenizerError) in try Normalizer(f) })
        default:
            throw .unsupportedComponent(file: field.file, field: field.path, type: type)
        }
    }

    /// NFC of `s`, computed only on the runs of scalars from U+0300 up with the scalar before each:
    /// every scalar below U+0300 is a starter that NFC keeps and that composes with nothing before
    /// it, so the text between such runs is already in NFC and independent of them.
    static func nfc(_ s: [UInt32]) -> [UInt32] {
        guard let first = s.firstIndex(where: { $0 >= 0x300 }) else { return s }
        var out = Array(s[..<max(0, first - 1)])
        out.reserveCapacity(s.count)
        var i = max(0, first - 1)
        while i < s.count {
            // A run: the starter before it (if any) and the scalars from U+0300 up.
            var j = i
            if s[j] < 0x300 { j += 1 }
            while j < s.count, s[j] >= 0x300 { j += 1 }
            out += String(scalarValues: s[i..<j]).precomposedStringWithCanonicalMapping.scalarValues
            // The text up to the next run's starter.
            var k = j
            while k < s.count, s[k] < 0x300 { k += 1 }
            let next = k < s.count ? k - 1 : k
            if next > j { out += s[j..<next] }
            i = max(next, j)
        }
        return out
    }

    /// The single scalars that `Replace` normalizers in this one put in place of a space.
    var spaceReplacements: [UInt32] {
        switch self {
        case let .replace(pattern, content) where pattern == [0x20] && content.count == 1: content
        case let .sequence(items): items.flatMap(\.spaceReplacements)
        default: []
        }
    }

    /// Applies the normalizer to one piece of text.
    func apply(_ s: [UInt32]) -> [UInt32] {
        switch self {
        case .nfc: return Self.nfc(s)
        case .nfd: return String(scalarValues: s).decomposedStringWithCanonicalMapping.scalarValues
        case .nfkc: return String(scalarValues: s).precomposedStringWithCompatibilityMapping.scalarValues
        case .nfkd: return String(scalarValues: s).decomposedStringWithCompatibilityMapping.scalarValues
        case .lowercase: return String(scalarValues: s).lowercased().scalarValues
        case let .prepend(p): return s.isEmpty ? s : p + s
        case let .replace(pattern, content): return replaceAll(s, pattern, content)
        case let .strip(left, right):
            var lo = 0
            var hi = s.count
            if left { while lo < hi, ScalarClass.isWhitespace(s[lo]) { lo += 1 } }
            if right { while hi > lo, ScalarClass.isWhitespace(s[hi - 1]) { hi -= 1 } }
            return Array(s[lo..<hi])
        case let .sequence(items): return items.reduce(s) { $1.apply($0) }
        }
    }
}

/// Reads a `Replace` component's `pattern` (`{"String": …}`) and `content`.
func readReplace(_ field: JSONField) throws(TokenizerError) -> ([UInt32], [UInt32]) {
    let pattern = try field.required("pattern")
    if let r = try pattern.optional("Regex") {
        throw .unsupportedValue(
            file: field.file, field: r.path, value: "\(try r.string())",
            reason: "Replace with a regex pattern is not implemented (only {\"String\": …})")
    }
    let p = try pattern.required("String").string().scalarValues
    guard !p.isEmpty else {
        throw .invalidValue(file: field.file, field: pattern.path + ".String", reason: "an empty pattern")
    }
    return (p, try field.required("content").string().scalarValues)
}

/// `s` with every non-overlapping occurrence of `pattern` (left to right) replaced.
func replaceAll(_ s: [UInt32], _ pattern: [UInt32], _ content: [UInt32]) -> [UInt32] {
    if pattern.count == 1 {
        let p = pattern[0]
        guard s.contains(p) else { return s }
        if content.count == 1 { return s.map { $0 == p ? content[0] : $0 } }
    }
    var out: [UInt32] = []
    out.reserveCapacity(s.count)
    var i = 0
    let m = pattern.count
    while i < s.count {
        if i + m <= s.count, s[i] == pattern[0], s[i..<(i + m)].elementsEqual(pattern) {
            out += content
            i += m
        } else {
            out.append(s[i])
            i += 1
        }
    }
    return out
}

extension String {
    /// The Unicode scalar values of the string.
    var scalarValues: [UInt32] { unicodeScalars.map(\.value) }

    /// A string from scalar values (a value that is not a scalar becomes U+FFFD).
    init(scalarValues: some Sequence<UInt32>) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalarValues.underestimatedCount)
        for v in scalarValues { Unicode.UTF8.encode(Unicode.Scalar(v) ?? "\u{FFFD}") { bytes.append($0) } }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
