import Foundation
import LRNNTestSupport
import LRNNTokenizers
import Testing

/// The shortcuts of encoding leave the ids unchanged: the cut of SentencePiece's single word
/// before each `▁` (taken only when the merges allow it) and the bounded cache of words.
@Suite("encoding shortcuts")
struct EncodingShortcutTests {
    /// A SentencePiece-style tokenizer (`Metaspace`, `split: false`) with the given merges.
    static func metaspaceFile(vocab: String, merges: String) -> [UInt8] {
        Array(
            #"""
            {"pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": false},
             "model": {"type": "BPE", "unk_token": "<unk>", "vocab": \#(vocab), "merges": \#(merges)}}
            """#.utf8)
    }

    @Test("a merge that joins a token to a following ▁ turns the cut off: the merge still applies")
    func mergeAcrossBoundary() throws {
        let vocab = #"{"<unk>": 0, "\u2581": 1, "a": 2, "b": 3, "\u2581b": 4, "a\u2581b": 5}"#
        let across = try Tokenizer(
            tokenizerJSON: Self.metaspaceFile(vocab: vocab, merges: #"["\u2581 b", "a \u2581b"]"#))
        #expect(across.encode("a b") == [5])
        #expect(across.encode("a bb a b") == [5, 3, 1, 5])
        // Without the merge across ▁ the cut applies and the word parts stay apart.
        let within = try Tokenizer(tokenizerJSON: Self.metaspaceFile(vocab: vocab, merges: #"["\u2581 b"]"#))
        #expect(within.encode("a b") == [2, 4])
    }

    /// `text` of `length` scalars drawn from `pool`.
    static func randomText(_ rng: inout SeededRandom, pool: [String], length: Int) -> String {
        (0..<length).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }.joined()
    }

    @Test(
        "SentencePiece golden tokenizers: the same ids as with the cut turned off, on seeded random texts",
        .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["sentencepiece_bpe", "sentencepiece_bpe_legacy"])
    func cutKeepsIds(_ name: String) throws {
        let path = Golden.path("tokenizers/\(name)/tokenizer.json")
        let file = try String(contentsOfFile: path, encoding: .utf8)
        let cut = try Tokenizer(tokenizerJSON: Array(file.utf8))
        // `ignore_merges` turns the cut off; it changes nothing else for a word (here a whole
        // text) that is not itself a token, as every text of 40 scalars or more is not.
        let flag = #""ignore_merges": false"#
        try #require(file.components(separatedBy: flag).count == 2)
        let uncut = try Tokenizer(
            tokenizerJSON: Array(file.replacingOccurrences(of: flag, with: #""ignore_merges": true"#).utf8))
        let pool = [
            "e", "t", "a", "o", "n", "s", "h", "r", "T", "I", " ", " ", " ", "  ", "\n", "\u{2581}", "\u{2581}\u{2581}",
            "1", "0", ".", ",", "'", "\u{4E2D}", "\u{1F600}", "\u{301}", "<s>", "\t",
        ]
        var rng = SeededRandom(seed: 29)
        for k in 0..<400 {
            let text = Self.randomText(&rng, pool: pool, length: 40 + Int(rng.next() % 160))
            #expect(cut.encode(text, addSpecialTokens: false) == uncut.encode(text, addSpecialTokens: false), "\(k)")
        }
    }

    @Test(
        "byte-level golden tokenizer: a text of more distinct words than the cache holds, each twice, gives each word's own ids",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func boundedCacheKeepsIds() throws {
        let t = try Tokenizer.load(directory: Golden.path("tokenizers/byte_level_bpe"))
        var rng = SeededRandom(seed: 31)
        let letters = Array("abcdefghijklmnopqrstuvwxyzAEIOU")
        var seen = Set<String>()
        var words: [String] = []
        while words.count < 40_000 {
            let w = String(
                (0..<(3 + Int(rng.next() % 8))).map { _ in letters[Int(rng.next() % UInt64(letters.count))] })
            if seen.insert(w).inserted { words.append(w) }
        }
        var expected: [Int] = []
        for w in words { expected += t.encode(" " + w, addSpecialTokens: false) }
        let once = words.map { " " + $0 }.joined()
        #expect(t.encode(once + once, addSpecialTokens: false) == expected + expected)
    }
}
