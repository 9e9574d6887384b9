import Foundation
import LRNNTokenizers

/// Checks one golden tokenizer directory (`tokenizers/*/` in the golden cases: `tokenizer.json`
/// with its case files): loads the tokenizer and runs each case file present, one line per file
/// (path `cases`, `decode_cases` or `chat_cases`). Every case must match exactly, so the line's
/// error is the number of cases that differ (tolerance 0) and a failing line names the first.
///
/// - `cases.json`: `ids` (no special tokens), `ids_with_special`, `tokens`, `decoded` (special
///   tokens skipped) and `decoded_with_special`;
/// - `decode_cases.json`: `text` of `ids` with its `skip_special_tokens`, and `tokens`;
/// - `chat_cases.json`: the chat template's `text` and its `ids` (encoded without special tokens).
package enum TokenizerCheck {
    /// The case files, in the order checked.
    package static let caseFiles = ["cases.json", "decode_cases.json", "chat_cases.json"]

    /// The checker registered for tokenizer directories.
    package static let check: GoldenModelChecker = { directory, name in
        let tokenizer = try Tokenizer.load(directory: directory)
        var lines: [CheckLine] = []
        for file in caseFiles {
            let path = (directory as NSString).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let stem = (file as NSString).deletingPathExtension
            do {
                let cases = try readCases(path)
                var failures: [String] = []
                for (k, c) in cases.enumerated() {
                    let caseName = c["name"] as? String ?? "#\(k)"
                    if let field = try mismatch(c, file: stem, tokenizer: tokenizer, path: path, index: k) {
                        failures.append("\(caseName) (\(field))")
                    }
                }
                lines.append(
                    CheckLine(
                        name: name, op: "tokenizer", precision: "-", path: stem, error: Double(failures.count),
                        tolerance: 0, status: failures.isEmpty ? .pass : .fail,
                        note: failures.isEmpty
                            ? "\(cases.count) cases"
                            : "\(failures.count) of \(cases.count) cases differ; first: \(failures[0])"))
            } catch {
                lines.append(
                    CheckLine(
                        name: name, op: "tokenizer", precision: "-", path: stem, error: nil, tolerance: 0,
                        status: .fail,
                        note: "\(error)"))
            }
        }
        if lines.isEmpty {
            throw GoldenCaseError("\(directory): no case file (\(caseFiles.joined(separator: ", ")))")
        }
        return lines
    }

    /// Byte equality of strings (Swift's `==` on `String` is canonical equivalence, under which
    /// an NFD and an NFC spelling are equal; the cases must match byte for byte).
    static func exact(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    static func exact(_ a: [String], _ b: [String]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { exact($0, $1) }
    }

    private static func readCases(_ path: String) throws -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: path),
            let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else { throw GoldenCaseError("\(path): not a JSON list of objects") }
        return list
    }

    /// The first field of case `c` that the tokenizer does not reproduce, or nil.
    private static func mismatch(_ c: [String: Any], file: String, tokenizer: Tokenizer, path: String, index: Int)
        throws
        -> String?
    {
        func field<V>(_ key: String, _: V.Type) throws -> V {
            guard let v = c[key] as? V else {
                throw GoldenCaseError("\(path): case \(index) has no valid '\(key)'")
            }
            return v
        }
        switch file {
        case "cases":
            let text = try field("text", String.self)
            let ids = try field("ids", [Int].self)
            let withSpecial = try field("ids_with_special", [Int].self)
            if tokenizer.encode(text, addSpecialTokens: false) != ids { return "ids" }
            if tokenizer.encode(text, addSpecialTokens: true) != withSpecial { return "ids_with_special" }
            if let tokens = c["tokens"] as? [String], !exact(tokenizer.tokens(ids), tokens) { return "tokens" }
            if !exact(tokenizer.decode(withSpecial, skipSpecialTokens: true), try field("decoded", String.self)) {
                return "decoded"
            }
            if !exact(
                tokenizer.decode(withSpecial, skipSpecialTokens: false), try field("decoded_with_special", String.self))
            {
                return "decoded_with_special"
            }
        case "decode_cases":
            let ids = try field("ids", [Int].self)
            let skip = try field("skip_special_tokens", Bool.self)
            if !exact(tokenizer.decode(ids, skipSpecialTokens: skip), try field("text", String.self)) { return "text" }
            if let tokens = c["tokens"] as? [String], !exact(tokenizer.tokens(ids), tokens) { return "tokens" }
        default:
            let raw = try field("messages", [[String: String]].self)
            let messages = raw.map { ChatMessage(role: $0["role"] ?? "", content: $0["content"] ?? "") }
            let text = try tokenizer.applyChatTemplate(
                messages, addGenerationPrompt: try field("add_generation_prompt", Bool.self))
            if !exact(text, try field("text", String.self)) { return "text" }
            if tokenizer.encode(text, addSpecialTokens: false) != (try field("ids", [Int].self)) { return "ids" }
        }
        return nil
    }
}
