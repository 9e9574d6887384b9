/// The added tokens of `tokenizer.json` (`added_tokens`): strings matched in the text before
/// normalization (or after it, for `normalized: true` tokens), each becoming one id.
struct AddedVocabulary: Sendable {
    /// One added token.
    struct Token: Sendable {
        var content: String
        var scalars: [UInt32]
        var id: Int32
        var special: Bool
        var normalized: Bool
        var singleWord: Bool
        var leftStrip: Bool
        var rightStrip: Bool
    }

    private(set) var tokens: [Token] = []
    /// Content (byte-exact) to id.
    private(set) var idOfContent: [ExactString: Int32] = [:]
    /// Id to token index.
    private(set) var indexOfId: [Int32: Int] = [:]
    /// Token indices by first scalar, longest first, for the raw and the normalized matching.
    private var raw: [UInt32: [Int]] = [:]
    private var normalizedTokens: [UInt32: [Int]] = [:]
    /// The ASCII first scalars of the raw and the normalized tokens, as bitmaps, so that most
    /// scalars are passed over without a dictionary lookup.
    private var rawFirstASCII: (UInt64, UInt64) = (0, 0)
    private var normalizedFirstASCII: (UInt64, UInt64) = (0, 0)

    var hasNormalizedTokens: Bool { !normalizedTokens.isEmpty }

    /// Reads `added_tokens`, giving each token the model's id for its content, or else the next
    /// id after the model's vocabulary and the tokens added before it (`tokenizers` does not read
    /// the files' `id` fields).
    init(_ field: JSONField?, model: BPEModel) throws(TokenizerError) {
        guard let field else { return }
        let modelSize = model.vocabulary.count
        for entry in try field.array() {
            try entry.onlyKeys(
                ["id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"], component: "added token")
            let contentField = try entry.required("content")
            let content = try contentField.string()
            guard !content.isEmpty else {
                throw .invalidValue(file: entry.file, field: contentField.path, reason: "an empty added token")
            }
            if idOfContent[ExactString(content)] != nil { continue }
            let special = try entry.bool("special", default: false)
            let id: Int32
            if let m = model.vocabulary[ExactString(content)] {
                id = m
            } else if let maxAdded = idOfContent.values.max(), Int(maxAdded) >= modelSize || modelSize == 0 {
                id = maxAdded + 1
            } else {
                id = Int32(modelSize)
            }
            let t = Token(
                content: content, scalars: content.scalarValues, id: id, special: special,
                normalized: try entry.bool("normalized", default: !special),
                singleWord: try entry.bool("single_word", default: false),
                leftStrip: try entry.bool("lstrip", default: false),
                rightStrip: try entry.bool("rstrip", default: false))
            idOfContent[ExactString(content)] = id
            indexOfId[id] = tokens.count
            let first = t.scalars[0]
            if t.normalized {
                normalizedTokens[first, default: []].append(tokens.count)
                Self.mark(first, in: &normalizedFirstASCII)
            } else {
                raw[first, default: []].append(tokens.count)
                Self.mark(first, in: &rawFirstASCII)
            }
            tokens.append(t)
        }
        for k in raw.keys { raw[k]!.sort { tokens[$0].scalars.count > tokens[$1].scalars.count } }
        for k in normalizedTokens.keys {
            normalizedTokens[k]!.sort { tokens[$0].scalars.count > tokens[$1].scalars.count }
        }
    }

    private static func mark(_ c: UInt32, in bits: inout (UInt64, UInt64)) {
        if c < 64 { bits.0 |= 1 << UInt64(c) } else if c < 128 { bits.1 |= 1 << UInt64(c - 64) }
    }

    /// The added token with id `id`.
    func token(id: Int32) -> Token? { indexOfId[id].map { tokens[$0] } }

    /// The largest id an added token has, or -1.
    var maxId: Int { tokens.map { Int($0.id) }.max() ?? -1 }

    /// Splits `s` at the added tokens it holds (leftmost-longest matches; raw or normalized
    /// ones), calling `text` for the stretches between them and `token` for each match.
    func split(
        _ s: [UInt32], normalizedStage: Bool, text: (Range<Int>) -> Void, token: (Int32) -> Void
    ) {
        let table = normalizedStage ? normalizedTokens : raw
        if table.isEmpty {
            if !s.isEmpty { text(0..<s.count) }
            return
        }
        let ascii = normalizedStage ? normalizedFirstASCII : rawFirstASCII
        var segmentStart = 0
        var i = 0
        let n = s.count
        while i < n {
            let c = s[i]
            if c < 128, (c < 64 ? ascii.0 >> UInt64(c) : ascii.1 >> UInt64(c - 64)) & 1 == 0 {
                i += 1
                continue
            }
            guard let candidates = table[c] else {
                i += 1
                continue
            }
            var found: Token? = nil
            for k in candidates {
                let t = tokens[k]
                let m = t.scalars.count
                guard i + m <= n, s[i..<(i + m)].elementsEqual(t.scalars) else { continue }
                if t.singleWord {
                    let before = i > 0 && Self.isWordScalar(s[i - 1])
                    let after = i + m < n && Self.isWordScalar(s[i + m])
                    if before || after { continue }
                }
                found = t
                break
            }
            guard let t = found else {
                i += 1
                continue
            }
            var start = i
            var stop = i + t.scalars.count
            if t.leftStrip { while start > segmentStart, ScalarClass.isWhitespace(s[start - 1]) { start -= 1 } }
            if t.rightStrip { while stop < n, ScalarClass.isWhitespace(s[stop]) { stop += 1 } }
            if start > segmentStart { text(segmentStart..<start) }
            token(t.id)
            segmentStart = stop
            i = stop
        }
        if segmentStart < n { text(segmentStart..<n) }
    }

    private static func isWordScalar(_ c: UInt32) -> Bool {
        guard let s = Unicode.Scalar(c) else { return false }
        return s.properties.isAlphabetic || ScalarClass.categoryBit(c) & ScalarClass.numberMask != 0
    }
}
