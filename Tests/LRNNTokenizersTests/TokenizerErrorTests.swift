import Foundation
import LRNNTestSupport
import LRNNTokenizers
import Testing

/// Malformed and unsupported files: each is the exact typed error naming the file and field.
@Suite("tokenizer errors")
struct TokenizerErrorTests {
    /// A minimal valid byte-level tokenizer.json with `replacing` spliced into its top level.
    static func file(
        model: String = #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#,
        extra: String = ""
    ) -> [UInt8] {
        Array(#"{"model": \#(model)\#(extra.isEmpty ? "" : ", " + extra)}"#.utf8)
    }

    static func error(_ bytes: [UInt8], config: [UInt8]? = nil) -> TokenizerError? {
        do {
            _ = try Tokenizer(tokenizerJSON: bytes, configurationJSON: config)
            return nil
        } catch { return error }
    }

    @Test func minimalTokenizerEncodes() throws {
        let t = try Tokenizer(tokenizerJSON: Self.file())
        #expect(t.encode("abba") == [2, 1, 0])
        #expect(t.vocabularySize == 3)
        #expect(t.decode([2, 1, 0]) == "ab b a")  // no decoder: tokens joined with spaces
    }

    @Test("canonically equivalent tokens are distinct: U+212B and U+00C5 keep their own ids")
    func byteExactVocabulary() throws {
        let t = try Tokenizer(
            tokenizerJSON: Self.file(model: #"{"type": "BPE", "vocab": {"\u212b": 0, "\u00c5": 1}, "merges": []}"#))
        #expect(t.encode("\u{212B}\u{C5}") == [0, 1])
        #expect(t.id(forToken: "\u{212B}") == 0 && t.id(forToken: "\u{C5}") == 1)
        #expect(t.token(forId: 0).map { Array($0.utf8) } == Array("\u{212B}".utf8))
    }

    @Test func unsupportedComponentsAreNamed() {
        #expect(
            Self.error(Self.file(extra: #""normalizer": {"type": "Precompiled", "precompiled_charsmap": ""}"#))
                == .unsupportedComponent(file: "tokenizer.json", field: "normalizer", type: "Precompiled"))
        #expect(
            Self.error(
                Self.file(
                    extra: #""pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "BertPreTokenizer"}]}"#))
                == .unsupportedComponent(
                    file: "tokenizer.json", field: "pre_tokenizer.pretokenizers[0]", type: "BertPreTokenizer"))
        #expect(
            Self.error(Self.file(model: #"{"type": "Unigram", "vocab": []}"#))
                == .unsupportedComponent(file: "tokenizer.json", field: "model", type: "Unigram"))
        #expect(
            Self.error(Self.file(extra: #""decoder": {"type": "WordPiece", "prefix": "pre"}"#))
                == .unsupportedComponent(file: "tokenizer.json", field: "decoder", type: "WordPiece"))
        #expect(
            Self.error(Self.file(extra: #""post_processor": {"type": "Mystery"}"#))
                == .unsupportedComponent(file: "tokenizer.json", field: "post_processor", type: "Mystery"))
    }

    @Test func unsupportedValuesAreNamed() {
        #expect(
            Self.error(Self.file(model: #"{"type": "BPE", "dropout": 0.1, "vocab": {}, "merges": []}"#))
                == .unsupportedValue(
                    file: "tokenizer.json", field: "model.dropout", value: "0.1",
                    reason: "BPE dropout makes encoding random; only null is supported"))
        #expect(
            Self.error(Self.file(model: #"{"type": "BPE", "vocab": {}, "merges": [], "mystery": 1}"#))
                == .unsupportedValue(
                    file: "tokenizer.json", field: "model.mystery", value: "present",
                    reason: "BPE has no field 'mystery' this library reads"))
        #expect(
            Self.error(Self.file(extra: #""truncation": {"max_length": 8}"#))
                == .unsupportedValue(
                    file: "tokenizer.json", field: "truncation", value: "set",
                    reason: "truncation changes the ids of one text; only null is supported"))
        let anchored = Self.error(
            Self.file(
                extra:
                    #""pre_tokenizer": {"type": "Split", "pattern": {"Regex": "^a"}, "behavior": "Isolated", "invert": false}"#
            ))
        guard case let .unsupportedValue(file, field, value, reason) = anchored else {
            Issue.record("expected unsupportedValue, got \(String(describing: anchored))")
            return
        }
        #expect(file == "tokenizer.json" && field == "pre_tokenizer.pattern.Regex" && value == "'^a'")
        #expect(reason == "anchors (^, $) are not supported at character 0")
    }

    @Test func malformedFilesAreTypedErrors() {
        #expect(
            Self.error(Array(#"{"model": "#.utf8))
                == .invalidJSON(file: "tokenizer.json", offset: 10, reason: "unexpected end of file"))
        #expect(
            Self.error(Array("[1]".utf8))
                == .wrongType(file: "tokenizer.json", field: "top level", expected: "an object"))
        #expect(Self.error(Array("{}".utf8)) == .missingField(file: "tokenizer.json", field: "model"))
        #expect(
            Self.error(Self.file(model: #"{"type": "BPE", "vocab": {"a": 0, "a": 1}, "merges": []}"#))
                == .duplicateKey(file: "tokenizer.json", field: "model.vocab", key: "a"))
        #expect(
            Self.error(Self.file(model: #"{"type": "BPE", "vocab": {"a": "0"}, "merges": []}"#))
                == .wrongType(file: "tokenizer.json", field: "model.vocab.a", expected: "an integer"))
        #expect(
            Self.error(Self.file(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}"#))
                == .invalidValue(file: "tokenizer.json", field: "model.vocab.b", reason: "id 0 is given to 'a' and 'b'")
        )
        #expect(
            Self.error(Self.file(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a c"]}"#))
                == .unknownToken(file: "tokenizer.json", field: "model.merges[0]", token: "c"))
        #expect(
            Self.error(Self.file(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}"#))
                == .unknownToken(file: "tokenizer.json", field: "model.merges[0]", token: "ab"))
        #expect(
            Self.error(Self.file(model: #"{"type": "BPE", "vocab": {"a": 0}, "merges": ["a  a"]}"#))
                == .invalidValue(
                    file: "tokenizer.json", field: "model.merges[0]",
                    reason: "a merge must be two tokens separated by one space"))
        #expect(
            Self.error(Self.file(model: #"{"type": "BPE", "vocab": {"a": 1000000000}, "merges": []}"#))
                == .invalidValue(
                    file: "tokenizer.json", field: "model.vocab.a",
                    reason: "id 1000000000 outside 0...1026 (a vocabulary of 1 tokens)"))
        #expect(
            Self.error(Array(String(repeating: "[", count: 200).utf8))
                == .invalidJSON(file: "tokenizer.json", offset: 128, reason: "nesting deeper than 128 levels"))
        #expect(
            Self.error(Self.file(), config: Array(#"{"bos_token": 3}"#.utf8))
                == .wrongType(file: "tokenizer_config.json", field: "bos_token", expected: "an object"))
    }

    @Test func missingDirectoryNamesTheFile() {
        let error = #expect(throws: TokenizerError.self) { try Tokenizer.load(directory: "/nonexistent/tok") }
        #expect(error == .fileUnreadable(file: "/nonexistent/tok/tokenizer.json", reason: "no such file"))
    }

    @Test func unsupportedChatTemplateIsATypedError() throws {
        let config = Array(#"{"chat_template": "{% macro m() %}{% endmacro %}"}"#.utf8)
        let t = try Tokenizer(tokenizerJSON: Self.file(), configurationJSON: config)
        let error = #expect(throws: TokenizerError.self) {
            try t.applyChatTemplate([ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true)
        }
        #expect(error == .chatTemplate(reason: "statement 'macro' is not supported"))
        let none = try Tokenizer(tokenizerJSON: Self.file())
        #expect(throws: TokenizerError.chatTemplate(reason: "tokenizer_config.json has no chat_template")) {
            try none.applyChatTemplate([], addGenerationPrompt: false)
        }
    }

    @Test(
        "seeded byte mutations of a golden tokenizer.json load or throw, never trap",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func mutations() throws {
        let path = Golden.directory.appendingPathComponent("tokenizers/sentencepiece_bpe/tokenizer.json")
        let original = [UInt8](try Data(contentsOf: path))
        var rng = SeededRandom(seed: 16)
        var loaded = 0
        for _ in 0..<60 {
            var bytes = original
            for _ in 0..<3 {
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            if let t = try? Tokenizer(tokenizerJSON: bytes) {
                loaded += 1
                _ = t.decode(t.encode("Hello 中文 world"))
            }
        }
        #expect(loaded < 60)
    }
}
