/// Decodes ids one at a time as a model generates them, giving the text each new id completes
/// (`tokenizers`' `DecodeStream`).
///
/// Each step decodes the new ids together with the ids of the previous step as context (so a
/// decoder that strips a leading space, or a word that depends on the token before, comes out
/// as in a whole decode) and returns what was added. When the added text ends with U+FFFD — an
/// incomplete UTF-8 character, its bytes spread over byte-level tokens or `<0xNN>` byte-fallback
/// tokens still to come — nothing is returned until the character is complete, so multi-byte
/// characters split across tokens come out whole. After ``maxPending`` ids without output the
/// text is given out as it stands (the bytes were not a character after all).
///
/// A `DecodeStream` is a `Sendable` value owned by one generation; the tokenizer it holds may
/// be shared.
public struct DecodeStream: Sendable {
    /// The tokenizer.
    public let tokenizer: Tokenizer
    /// Whether special added tokens are left out of the text.
    public let skipSpecialTokens: Bool
    /// Ids held back at most before the text is given out anyway (no UTF-8 character spans more
    /// than four bytes, so more pending ids mean invalid bytes, not an incomplete character).
    public static let maxPending = 8

    private var ids: [Int] = []
    private var readIndex = 0
    private var prefix = ""

    /// Creates a stream.
    ///
    /// - Parameters:
    ///   - tokenizer: the tokenizer that decodes.
    ///   - skipSpecialTokens: whether special added tokens are left out (default true).
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id and returns the text it completes ("" while a character is incomplete).
    ///
    /// - Parameter id: the next token id (an id outside the vocabulary adds nothing).
    /// - Returns: the new text.
    public mutating func step(_ id: Int) -> String {
        ids.append(id)
        let full = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        let pending = ids.count - readIndex
        guard full.utf8.count > prefix.utf8.count, !full.hasSuffix("\u{FFFD}") || pending >= Self.maxPending else {
            return ""
        }
        let added = Self.suffix(of: full, after: prefix)
        ids.removeFirst(readIndex)
        prefix = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        readIndex = ids.count
        return added
    }

    /// Returns the text still held back (an incomplete character comes out as U+FFFD, as a
    /// whole decode would give it) and empties the stream.
    public mutating func finish() -> String {
        let full = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        let rest = full.utf8.count > prefix.utf8.count ? Self.suffix(of: full, after: prefix) : ""
        ids = []
        readIndex = 0
        prefix = ""
        return rest
    }

    /// `full` after its longest common UTF-8 prefix with `prefix` (all of `prefix` for the
    /// decoders supported, whose text only grows at the end).
    private static func suffix(of full: String, after prefix: String) -> String {
        let f = Array(full.utf8)
        let p = Array(prefix.utf8)
        var k = 0
        while k < p.count, k < f.count, f[k] == p[k] { k += 1 }
        return String(decoding: f[k...], as: UTF8.self)
    }
}
