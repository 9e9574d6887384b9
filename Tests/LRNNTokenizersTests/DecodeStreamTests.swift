import Foundation
import LRNNTestSupport
import LRNNTokenizers
import Testing

@Suite("decode stream")
struct DecodeStreamTests {
    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer.load(directory: Golden.directory.appendingPathComponent("tokenizers/" + name).path)
    }

    /// Streams `ids` and returns the pieces given out (the last one from `finish()`).
    static func stream(_ t: Tokenizer, _ ids: [Int], skip: Bool = true) -> [String] {
        var s = DecodeStream(tokenizer: t, skipSpecialTokens: skip)
        return ids.map { s.step($0) } + [s.finish()]
    }

    @Test(
        "byte-level: a character split over byte tokens comes out whole, once complete",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func byteLevelSplitCharacter() throws {
        let t = try Self.tokenizer("byte_level_bpe")
        // 中 = E4 B8 AD, three byte tokens ("ä", "¸", "Ń"), between two words.
        let ids =
            t.encode("Hello", addSpecialTokens: false) + [160, 116, 255] + t.encode(" world", addSpecialTokens: false)
        let pieces = Self.stream(t, ids)
        let firstByte = ids.count - t.encode(" world", addSpecialTokens: false).count - 3
        #expect(pieces[firstByte] == "" && pieces[firstByte + 1] == "")
        #expect(pieces[firstByte + 2] == "中")
        #expect(utf8(pieces.joined()) == utf8(t.decode(ids, skipSpecialTokens: true)))
        #expect(pieces.allSatisfy { !$0.contains("\u{FFFD}") })
    }

    @Test(
        "byte fallback: <0xNN> runs are held back until the character is complete; Strip keeps inner spaces",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func byteFallbackSplitCharacter() throws {
        let t = try Self.tokenizer("sentencepiece_bpe")
        let text = "Hello 中文 world 😀!"
        let ids = t.encode(text)
        let pieces = Self.stream(t, ids)
        #expect(utf8(pieces.joined()) == utf8(text))
        #expect(utf8(pieces.joined()) == utf8(t.decode(ids, skipSpecialTokens: true)))
        #expect(pieces.allSatisfy { !$0.contains("\u{FFFD}") })
        // Every piece but the held-back ones is whole characters: the emoji arrives in one piece.
        #expect(pieces.contains { $0.contains("😀") })
        #expect(pieces.filter { $0.isEmpty }.count >= 3)
    }

    @Test(
        "every golden text streams to its whole decode in both families",
        .enabled(if: Golden.isAvailable, Golden.skipMessage), arguments: Golden.tokenizerDirectories)
    func streamsEqualWholeDecode(_ directory: URL) throws {
        let t = try Tokenizer.load(directory: directory.path)
        let golden = try GoldenTokenizerCases(directory)
        for c in golden.cases {
            let ids = try #require(c["ids_with_special"] as? [Int])
            for skip in [true, false] {
                #expect(
                    utf8(Self.stream(t, ids, skip: skip).joined()) == utf8(t.decode(ids, skipSpecialTokens: skip)),
                    "\(c["name"] ?? "?") skip=\(skip)")
            }
        }
    }

    @Test(
        "an incomplete character at the end comes out as U+FFFD from finish()",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func incompleteAtEnd() throws {
        let t = try Self.tokenizer("byte_level_bpe")
        let pieces = Self.stream(t, [39, 160, 116])
        #expect(pieces == ["H", "", "", "\u{FFFD}"])
    }
}
