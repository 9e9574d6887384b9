import Foundation
import LRNNTestSupport
import LRNNTokenizers
import Testing

/// The UTF-8 bytes of strings, so that expectations compare bytes: Swift's `==` on `String` is
/// canonical equivalence, under which an NFD and an NFC spelling would pass as equal.
func utf8(_ s: String?) -> [UInt8]? { s.map { Array($0.utf8) } }

/// The UTF-8 bytes of each string.
func utf8(_ s: [String]?) -> [[UInt8]]? { s.map { $0.map { Array($0.utf8) } } }

/// One tokenizer case directory's case files, read with Foundation's parser (independent of the
/// module's own).
struct GoldenTokenizerCases {
    let directory: URL
    let cases: [[String: Any]]
    let decodeCases: [[String: Any]]
    let chatCases: [[String: Any]]

    init(_ directory: URL) throws {
        self.directory = directory
        func list(_ name: String) throws -> [[String: Any]] {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { return [] }
            return try #require(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]])
        }
        cases = try list("cases.json")
        decodeCases = try list("decode_cases.json")
        chatCases = try list("chat_cases.json")
    }
}

@Suite("tokenizer golden cases")
struct TokenizerGoldenTests {
    static var directories: [URL] { Golden.tokenizerDirectories }

    @Test("the golden directory holds the four tokenizer cases", .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func present() {
        #expect(
            Self.directories.map(\.lastPathComponent) == [
                "byte_level_bpe", "byte_level_bpe_merges_list", "sentencepiece_bpe", "sentencepiece_bpe_legacy",
            ])
    }

    @Test(
        "every case of cases.json: ids, ids with special tokens, tokens, both decodes",
        .enabled(if: Golden.isAvailable, Golden.skipMessage), arguments: Golden.tokenizerDirectories)
    func encodeCases(_ directory: URL) throws {
        let tokenizer = try Tokenizer.load(directory: directory.path)
        let golden = try GoldenTokenizerCases(directory)
        #expect(golden.cases.count >= 50)
        for c in golden.cases {
            let name = c["name"] as? String ?? "?"
            let text = try #require(c["text"] as? String)
            let ids = try #require(c["ids"] as? [Int])
            let withSpecial = try #require(c["ids_with_special"] as? [Int])
            #expect(tokenizer.encode(text, addSpecialTokens: false) == ids, "\(name)")
            #expect(tokenizer.encode(text, addSpecialTokens: true) == withSpecial, "\(name)")
            #expect(utf8(tokenizer.tokens(ids)) == utf8(c["tokens"] as? [String]), "\(name)")
            #expect(
                utf8(tokenizer.decode(withSpecial, skipSpecialTokens: true)) == utf8(c["decoded"] as? String), "\(name)"
            )
            #expect(
                utf8(tokenizer.decode(withSpecial, skipSpecialTokens: false))
                    == utf8(c["decoded_with_special"] as? String),
                "\(name)")
        }
    }

    @Test(
        "every case of decode_cases.json, invalid UTF-8 included",
        .enabled(if: Golden.isAvailable, Golden.skipMessage), arguments: Golden.tokenizerDirectories)
    func decodeCases(_ directory: URL) throws {
        let tokenizer = try Tokenizer.load(directory: directory.path)
        let golden = try GoldenTokenizerCases(directory)
        #expect(golden.decodeCases.count >= 15)
        for c in golden.decodeCases {
            let name = c["name"] as? String ?? "?"
            let ids = try #require(c["ids"] as? [Int])
            let skip = try #require(c["skip_special_tokens"] as? Bool)
            #expect(utf8(tokenizer.decode(ids, skipSpecialTokens: skip)) == utf8(c["text"] as? String), "\(name)")
            #expect(utf8(tokenizer.tokens(ids)) == utf8(c["tokens"] as? [String]), "\(name)")
        }
    }
}

@Suite("tokenizer golden chat cases")
struct ChatTemplateGoldenTests {
    @Test(
        "byte_level_bpe/chat_cases.json: the ChatML template renders and encodes as transformers does",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func chatCases() throws {
        let directory = Golden.directory.appendingPathComponent("tokenizers/byte_level_bpe")
        let tokenizer = try Tokenizer.load(directory: directory.path)
        let golden = try GoldenTokenizerCases(directory)
        #expect(golden.chatCases.count >= 3)
        for c in golden.chatCases {
            let raw = try #require(c["messages"] as? [[String: String]])
            let messages = raw.map { ChatMessage(role: $0["role"] ?? "", content: $0["content"] ?? "") }
            let prompt = try #require(c["add_generation_prompt"] as? Bool)
            let text = try tokenizer.applyChatTemplate(messages, addGenerationPrompt: prompt)
            #expect(utf8(text) == utf8(c["text"] as? String))
            #expect(tokenizer.encode(text, addSpecialTokens: false) == (c["ids"] as? [Int]))
        }
    }
}
