import Foundation
import LRNNTestSupport
import LRNNTokenizers
import Testing

/// The NFC normalizer works on the runs of scalars from U+0300 up only; it must agree with NFC
/// of the whole text.
@Suite("NFC normalizer")
struct NormalizationTests {

    @Test("seeded random texts of starters, combining marks and jamo: the ids are those of the NFC text")
    func agreesWithWholeTextNFC() throws {
        // With an empty vocabulary and no unknown token every scalar is dropped, so compare
        // through a vocabulary holding every scalar of the pool and its compositions.
        let pool: [UInt32] = [
            0x61, 0x65, 0x20, 0x0A, 0x41, 0xE9, 0x301, 0x308, 0x323, 0x327, 0x1100, 0x1161, 0x11A8, 0xAC00, 0x4E2D,
            0x3099, 0x304B, 0x212B, 0x2F9, 0x2FF,
        ]
        var rng = SeededRandom(seed: 5)
        for _ in 0..<300 {
            let n = Int(rng.next() % 12)
            let scalars = (0..<n).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }
            let text = String(String.UnicodeScalarView(scalars.map { Unicode.Scalar($0)! }))
            let expected = text.precomposedStringWithCanonicalMapping
            // One token per distinct scalar (byte-exact: U+212B and U+00C5 are different tokens).
            var seen: [UInt32] = []
            for s in (text.unicodeScalars.map(\.value) + expected.unicodeScalars.map(\.value)) where !seen.contains(s) {
                seen.append(s)
            }
            let vocabJSON =
                "{" + seen.enumerated().map { "\"\\u\(String(format: "%04x", $1))\": \($0)" }.joined(separator: ", ")
                + "}"
            let file =
                #"{"normalizer": {"type": "NFC"}, "model": {"type": "BPE", "vocab": \#(vocabJSON), "merges": []}}"#
            let t = try Tokenizer(tokenizerJSON: Array(file.utf8))
            let ids = t.encode(text, addSpecialTokens: false)
            #expect(utf8(t.tokens(ids).joined()) == utf8(expected), "\(scalars.map { String($0, radix: 16) })")
        }
    }
}
