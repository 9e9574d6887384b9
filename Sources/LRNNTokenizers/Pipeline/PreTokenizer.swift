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

    /// The replacement scalars of the `Metaspace` pre-tokenizers in this one.
    var metaspaceReplacements: [UInt32] {
        switch self {
        case let .metaspace(replacement, _, _): [replacement]
        case let .sequence(items): items.flatMap(\.metaspaceReplacements)
        default: []
        }
    }

    /// Splits the words of `list` (and rewrites their scalars, for ByteLevel and Metaspace).
    func apply(_ list: inout WordList, scratch: inout EncodeScratch) {
        switch self {
        case let .split(pattern, behavior, invert):
            splitWords(&list, scratch: &scratch, behavior: behavior) { text, range, out, scratch in
                Self.segments(text, range, pattern, into: &out, stack: &scratch.stack)
                if invert { for k in out.indices { out[k].isMatch.toggle() } }
            }
        case let .byteLevel(addPrefixSpace, regex):
            if addPrefixSpace { Self.addPrefixSpace(&list) }
            if let regex {
                splitWords(&list, scratch: &scratch, behavior: .isolated) { text, range, out, scratch in
                    Self.segments(text, range, .regex(regex), into: &out, stack: &scratch.stack)
                }
            }
            Self.mapToByteAlphabet(&list)
        case let .metaspace(replacement, scheme, split):
            var scalars: [UInt32] = []
            scalars.reserveCapacity(list.scalars.count + list.words.count)
            var words: [WordSpan] = []
            words.reserveCapacity(list.words.count)
            for w in list.words {
                let start = scalars.count
                let first = list.scalars[w.start]
                let prepend: Bool =
                    switch scheme {
                    case .always: first != 0x20 && first != replacement
                    case .first: first != 0x20 && first != replacement && w.atStart
                    case .never: false
                    }
                if prepend { scalars.append(replacement) }
                for k in w.start..<w.end {
                    let c = list.scalars[k]
                    scalars.append(c == 0x20 ? replacement : c)
                }
                words.append(WordSpan(start: start, end: scalars.count, atStart: w.atStart))
            }
            list = WordList(scalars: scalars, words: words)
            if split {
                splitWords(&list, scratch: &scratch, behavior: .mergedWithNext) { text, range, out, _ in
                    Self.stringSegments(text, range, [replacement], into: &out)
                }
            }
        case let .digits(individual):
            splitWords(&list, scratch: &scratch, behavior: individual ? .isolated : .contiguous) {
                text, range, out, _ in
                Self.runs(text, range, into: &out, single: individual) { $0 >= 0x30 && $0 <= 0x39 }
            }
        case let .whitespace(regex):
            splitWords(&list, scratch: &scratch, behavior: .removed) { text, range, out, scratch in
                Self.segments(text, range, .regex(regex), into: &out, stack: &scratch.stack)
                for k in out.indices { out[k].isMatch.toggle() }
            }
        case .whitespaceSplit:
            splitWords(&list, scratch: &scratch, behavior: .removed) { text, range, out, _ in
                Self.runs(text, range, into: &out, single: false, ScalarClass.isWhitespace)
            }
        case let .sequence(items):
            for item in items { item.apply(&list, scratch: &scratch) }
        }
    }

    /// Replaces every word of `list` by the words `behavior` makes of the segments that
    /// `segment` appends for it (absolute ranges of the scalar buffer).
    private func splitWords(
        _ list: inout WordList, scratch: inout EncodeScratch, behavior: SplitBehavior,
        _ segment: (UnsafeBufferPointer<UInt32>, Range<Int>, inout [Segment], inout EncodeScratch) -> Void
    ) {
        var words: [WordSpan] = []
        words.reserveCapacity(list.words.count)
        var segments = scratch.segments
        var merged = scratch.merged
        list.scalars.withUnsafeBufferPointer { text in
            for w in list.words {
                segments.removeAll(keepingCapacity: true)
                segment(text, w.start..<w.end, &segments, &scratch)
                behavior.apply(segments, wordStart: w.start, atStart: w.atStart, into: &words, merged: &merged)
            }
        }
        scratch.segments = segments
        scratch.merged = merged
        list.words = words
    }

    /// Writes the words of `list` to a new buffer, a space before each that does not begin with one.
    private static func addPrefixSpace(_ list: inout WordList) {
        var scalars: [UInt32] = []
        scalars.reserveCapacity(list.scalars.count + list.words.count)
        var words: [WordSpan] = []
        words.reserveCapacity(list.words.count)
        for w in list.words {
            let start = scalars.count
            if list.scalars[w.start] != 0x20 { scalars.append(0x20) }
            scalars += list.scalars[w.start..<w.end]
            words.append(WordSpan(start: start, end: scalars.count, atStart: w.atStart))
        }
        list = WordList(scalars: scalars, words: words)
    }

    /// Replaces every word by its UTF-8 bytes, each written as its ``ByteLevelAlphabet`` scalar.
    private static func mapToByteAlphabet(_ list: inout WordList) {
        var scalars: [UInt32] = []
        scalars.reserveCapacity(list.scalars.count + list.scalars.count / 4)
        var words: [WordSpan] = []
        words.reserveCapacity(list.words.count)
        ByteLevelAlphabet.scalarOfByte.withUnsafeBufferPointer { table in
            for w in list.words {
                let start = scalars.count
                for k in w.start..<w.end {
                    let v = list.scalars[k]
                    if v < 0x80 {
                        scalars.append(table[Int(v)])
                    } else {
                        Unicode.UTF8.encode(Unicode.Scalar(v)!) { scalars.append(table[Int($0)]) }
                    }
                }
                words.append(WordSpan(start: start, end: scalars.count, atStart: w.atStart))
            }
        }
        list = WordList(scalars: scalars, words: words)
    }

    /// Appends the maximal runs of scalars of `range` for which `test` holds (flagged true; one
    /// segment per scalar when `single`) and the gaps between them.
    private static func runs(
        _ s: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, into out: inout [Segment], single: Bool,
        _ test: (UInt32) -> Bool
    ) {
        var i = range.lowerBound
        while i < range.upperBound {
            let m = test(s[i])
            var j = i + 1
            while j < range.upperBound, test(s[j]) == m { j += 1 }
            if m, single {
                for k in i..<j { out.append(Segment(start: k, end: k + 1, isMatch: true)) }
            } else {
                out.append(Segment(start: i, end: j, isMatch: m))
            }
            i = j
        }
    }

    /// Appends the occurrences of `p` in `range` (flagged true, left to right, not overlapping)
    /// and the gaps between them.
    private static func stringSegments(
        _ s: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, _ p: [UInt32], into out: inout [Segment]
    ) {
        var previous = range.lowerBound
        var i = range.lowerBound
        while i + p.count <= range.upperBound {
            if s[i] == p[0], s[i..<(i + p.count)].elementsEqual(p) {
                if previous != i { out.append(Segment(start: previous, end: i, isMatch: false)) }
                out.append(Segment(start: i, end: i + p.count, isMatch: true))
                i += p.count
                previous = i
            } else {
                i += 1
            }
        }
        if previous != range.upperBound { out.append(Segment(start: previous, end: range.upperBound, isMatch: false)) }
    }

    /// Appends the matches of `pattern` in `range` (flagged true) and the gaps between them, in
    /// order; the regex sees the word alone (its end is the end of the text).
    static func segments(
        _ s: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, _ pattern: Pattern, into out: inout [Segment],
        stack: inout [(Int, Int)]
    ) {
        switch pattern {
        case let .string(p):
            stringSegments(s, range, p, into: &out)
        case let .regex(regex):
            let text = UnsafeBufferPointer(rebasing: s[range])
            let base = range.lowerBound
            var previous = 0
            var i = 0
            while i < text.count {
                if let end = regex.match(text, at: i, stack: &stack) {
                    if previous != i { out.append(Segment(start: base + previous, end: base + i, isMatch: false)) }
                    out.append(Segment(start: base + i, end: base + end, isMatch: true))
                    previous = end
                    i = end > i ? end : i + 1
                } else {
                    i += 1
                }
            }
            if previous != text.count {
                out.append(Segment(start: base + previous, end: base + text.count, isMatch: false))
            }
        }
    }
}
