/// A `tokenizer.json` pre-tokenizer: splits normalized text into words for the model.
/// Supported: `Split` (regex or string pattern, every behaviour, `invert`), `ByteLevel`,
/// `Metaspace`, `Digits`, `Whitespace`, `WhitespaceSplit`, `Sequence`.
enum PreTokenizer: Sendable {
    /// The pattern of a `Split`.
    enum Pattern: Sendable {
        case regex(ScalarRegex)
        case string([UInt32])
    }

    /// Metaspace's `prepend_scheme`.
    enum PrependScheme: String, Sendable {
        case always, never, first
    }

    case split(Pattern, SplitBehavior, invert: Bool)
    case byteLevel(addPrefixSpace: Bool, regex: ScalarRegex?)
    case metaspace(replacement: UInt32, prependScheme: PrependScheme, split: Bool)
    case digits(individual: Bool)
    case whitespace(ScalarRegex)
    case whitespaceSplit
    case sequence([PreTokenizer])

    /// GPT-2's pattern, which `ByteLevel` applies when `use_regex` is true.
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    /// Reads the component at `field`.
    /// - Throws: ``TokenizerError`` for an unknown type, an unsupported regex or a malformed field.
    init(_ field: JSONField) throws(TokenizerError) {
        let type = try field.type()
        switch type {
        case "Split":
            try field.onlyKeys(["type", "pattern", "behavior", "invert"], component: "Split")
            let pattern = try field.required("pattern")
            let p: Pattern
            if let r = try pattern.optional("Regex") {
                p = .regex(try Self.compile(try r.string(), field: r))
            } else {
                let s = try pattern.required("String").string().scalarValues
                guard !s.isEmpty else {
                    throw .invalidValue(file: field.file, field: pattern.path + ".String", reason: "an empty pattern")
                }
                p = .string(s)
            }
            let b = try field.required("behavior")
            guard let behavior = SplitBehavior(rawValue: try b.string()) else {
                throw .unsupportedValue(
                    file: field.file, field: b.path, value: try b.string(),
                    reason: "expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous")
            }
            self = .split(p, behavior, invert: try field.bool("invert", default: false))
        case "ByteLevel":
            try field.onlyKeys(["type", "add_prefix_space", "trim_offsets", "use_regex"], component: "ByteLevel")
            let useRegex = try field.bool("use_regex", default: true)
            self = .byteLevel(
                addPrefixSpace: try field.bool("add_prefix_space", default: true),
                regex: useRegex ? try Self.compile(Self.gpt2Pattern, field: field) : nil)
        case "Metaspace":
            try field.onlyKeys(
                ["type", "replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep"],
                component: "Metaspace")
            let r = try field.required("replacement")
            let rep = try r.string().scalarValues
            guard rep.count == 1 else {
                throw .invalidValue(file: field.file, field: r.path, reason: "expected one character")
            }
            var scheme: PrependScheme
            if let s = try field.nonNull("prepend_scheme") {
                guard let v = PrependScheme(rawValue: try s.string()) else {
                    throw .unsupportedValue(
                        file: field.file, field: s.path, value: try s.string(),
                        reason: "expected always, never or first")
                }
                scheme = v
            } else {
                scheme = try field.bool("add_prefix_space", default: true) ? .always : .never
            }
            self = .metaspace(replacement: rep[0], prependScheme: scheme, split: try field.bool("split", default: true))
        case "Digits":
            try field.onlyKeys(["type", "individual_digits"], component: "Digits")
            self = .digits(individual: try field.bool("individual_digits", default: false))
        case "Whitespace":
            try field.onlyKeys(["type"], component: "Whitespace")
            self = .whitespace(try Self.compile(#"\w+|[^\w\s]+"#, field: field))
        case "WhitespaceSplit":
            try field.onlyKeys(["type"], component: "WhitespaceSplit")
            self = .whitespaceSplit
        case "Sequence":
            try field.onlyKeys(["type", "pretokenizers"], component: "Sequence")
            self = .sequence(
                try field.required("pretokenizers").array().map { (f) throws(TokenizerError) in try PreTokenizer(f) })
        default:
            throw .unsupportedComponent(file: field.file, field: field.path, type: type)
        }
    }

    private static func compile(_ pattern: String, field: JSONField) throws(TokenizerError) -> ScalarRegex {
        do { return try ScalarRegex(pattern) } catch {
            throw .unsupportedValue(file: field.file, field: field.path, value: "'\(pattern)'", reason: error.reason)
        }
    }

    /// Splits every piece; the output replaces the input.
    func apply(_ pieces: [Piece], scratch: inout EncodeScratch) -> [Piece] {
        var out: [Piece] = []
        out.reserveCapacity(pieces.count)
        for p in pieces { apply(p, into: &out, scratch: &scratch) }
        return out
    }

    private func apply(_ piece: Piece, into out: inout [Piece], scratch: inout EncodeScratch) {
        switch self {
        case let .split(pattern, behavior, invert):
            var segments = Self.segments(piece.scalars, pattern, scratch: &scratch)
            if invert { segments = segments.map { ($0.0, !$0.1) } }
            behavior.apply(segments, to: piece, into: &out)
        case let .byteLevel(addPrefixSpace, regex):
            var p = piece
            if addPrefixSpace, p.scalars.first != 0x20 { p.scalars.insert(0x20, at: 0) }
            let ranges: [Range<Int>] =
                regex.map { Self.segments(p.scalars, .regex($0), scratch: &scratch).map(\.0) } ?? [0..<p.scalars.count]
            for r in ranges where !r.isEmpty {
                var mapped: [UInt32] = []
                mapped.reserveCapacity(r.count)
                for v in p.scalars[r] {
                    if v < 0x80 {
                        mapped.append(ByteLevelAlphabet.scalarOfByte[Int(v)])
                    } else {
                        Unicode.UTF8.encode(Unicode.Scalar(v)!) {
                            mapped.append(ByteLevelAlphabet.scalarOfByte[Int($0)])
                        }
                    }
                }
                out.append(Piece(scalars: mapped, atStart: p.atStart && r.lowerBound == 0))
            }
        case let .metaspace(replacement, scheme, split):
            var s = replaceAll(piece.scalars, [0x20], [replacement])
            let prepend: Bool =
                switch scheme {
                case .always: s.first != replacement
                case .first: s.first != replacement && piece.atStart
                case .never: false
                }
            if prepend { s.insert(replacement, at: 0) }
            let p = Piece(scalars: s, atStart: piece.atStart)
            if split {
                SplitBehavior.mergedWithNext.apply(
                    Self.segments(s, .string([replacement]), scratch: &scratch), to: p, into: &out)
            } else if !s.isEmpty {
                out.append(p)
            }
        case let .digits(individual):
            let segments = Self.runs(piece.scalars) { $0 >= 0x30 && $0 <= 0x39 }
            (individual ? SplitBehavior.isolated : .contiguous).apply(
                individual ? segments.flatMap { r, m in m ? r.map { ($0..<($0 + 1), true) } : [(r, m)] } : segments,
                to: piece, into: &out)
        case let .whitespace(regex):
            let segments = Self.segments(piece.scalars, .regex(regex), scratch: &scratch).map { ($0.0, !$0.1) }
            SplitBehavior.removed.apply(segments, to: piece, into: &out)
        case .whitespaceSplit:
            SplitBehavior.removed.apply(Self.runs(piece.scalars, ScalarClass.isWhitespace), to: piece, into: &out)
        case let .sequence(items):
            var current = [piece]
            for item in items { current = item.apply(current, scratch: &scratch) }
            out += current
        }
    }

    /// Maximal runs of scalars for which `test` holds (flagged true) and the gaps between them.
    private static func runs(_ s: [UInt32], _ test: (UInt32) -> Bool) -> [(Range<Int>, Bool)] {
        var out: [(Range<Int>, Bool)] = []
        var i = 0
        while i < s.count {
            let m = test(s[i])
            var j = i + 1
            while j < s.count, test(s[j]) == m { j += 1 }
            out.append((i..<j, m))
            i = j
        }
        return out
    }

    /// The matches of `pattern` in `s` (flagged true) and the gaps between them, in order.
    static func segments(_ s: [UInt32], _ pattern: Pattern, scratch: inout EncodeScratch) -> [(Range<Int>, Bool)] {
        var out: [(Range<Int>, Bool)] = []
        var previous = 0
        switch pattern {
        case let .string(p):
            var i = 0
            while i + p.count <= s.count {
                if s[i] == p[0], s[i..<(i + p.count)].elementsEqual(p) {
                    if previous != i { out.append((previous..<i, false)) }
                    out.append((i..<(i + p.count), true))
                    i += p.count
                    previous = i
                } else {
                    i += 1
                }
            }
        case let .regex(regex):
            s.withUnsafeBufferPointer { text in
                var i = 0
                while i < text.count {
                    if let end = regex.match(text, at: i, stack: &scratch.stack) {
                        if previous != i { out.append((previous..<i, false)) }
                        out.append((i..<end, true))
                        previous = end
                        i = end > i ? end : i + 1
                    } else {
                        i += 1
                    }
                }
            }
        }
        if previous != s.count { out.append((previous..<s.count, false)) }
        return out
    }
}
