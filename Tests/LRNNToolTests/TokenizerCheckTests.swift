import Foundation
import LRNNTestSupport
import LRNNTool
import Testing

/// `lrnn check` on tokenizer directories: one line per case file, every case exact.
@Suite struct TokenizerCheckTests {
    @Test(.enabled(if: Golden.isAvailable, Golden.skipMessage))
    func goldenTokenizerDirectoriesPass() throws {
        let cases = try GoldenDiscovery.cases(in: [Golden.directory.path]).filter {
            if case .tokenizerDirectory = $0 { return true }
            return false
        }
        #expect(
            cases.map(\.name) == [
                "byte_level_bpe", "byte_level_bpe_merges_list", "sentencepiece_bpe", "sentencepiece_bpe_legacy",
            ])
        let report = GoldenCheck.run(cases)
        // byte_level_bpe has chat cases too: 3 + 2 + 2 + 2 lines.
        #expect(report.lines.count == 9)
        #expect(report.lines.map(\.path).filter { $0 == "chat_cases" }.count == 1)
        for l in report.lines {
            #expect(l.status == .pass && l.op == "tokenizer" && l.error == 0, "\(l.name) \(l.path): \(l.note ?? "")")
        }
        #expect(report.skipped == 0)
    }

    /// A copy of a golden tokenizer directory in a scratch directory.
    static func copy(_ name: String, into d: ScratchDirectory) throws -> String {
        let target = d.path(name)
        try FileManager.default.copyItem(
            atPath: Golden.directory.appendingPathComponent("tokenizers/" + name).path, toPath: target)
        for f in try FileManager.default.contentsOfDirectory(atPath: target) {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target + "/" + f)
        }
        return target
    }

    @Test(.enabled(if: Golden.isAvailable, Golden.skipMessage))
    func aWrongExpectationFailsNamingTheCase() throws {
        let d = try ScratchDirectory()
        let dir = try Self.copy("sentencepiece_bpe", into: d)
        let path = dir + "/decode_cases.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // plain_skip decodes to "Hello world"; expect something else.
        try text.replacingOccurrences(of: #""text": "Hello world""#, with: #""text": "Hello there""#)
            .write(toFile: path, atomically: true, encoding: .utf8)
        let lines = GoldenCheck.run(.tokenizerDirectory(path: dir))
        #expect(lines.map(\.path) == ["cases", "decode_cases"])
        #expect(lines[0].status == .pass)
        #expect(lines[1].status == .fail && lines[1].error == 1)
        #expect(lines[1].note == "1 of 20 cases differ; first: plain_skip (text)")
    }

    @Test(.enabled(if: Golden.isAvailable, Golden.skipMessage))
    func malformedFilesFailWithTheirErrors() throws {
        let d = try ScratchDirectory()
        let dir = try Self.copy("byte_level_bpe", into: d)
        try "[{\"name\": 1}]".write(toFile: dir + "/chat_cases.json", atomically: true, encoding: .utf8)
        let lines = GoldenCheck.run(.tokenizerDirectory(path: dir))
        #expect(lines.map(\.status) == [.pass, .pass, .fail])
        #expect(lines[2].note == "\(dir)/chat_cases.json: case 0 has no valid 'messages'")
        try "{\"model\": {\"type\": \"WordPiece\"}}".write(
            toFile: dir + "/tokenizer.json", atomically: true, encoding: .utf8)
        let broken = GoldenCheck.run(.tokenizerDirectory(path: dir))
        #expect(broken.count == 1 && broken[0].status == .fail)
        #expect(broken[0].note == "\(dir)/tokenizer.json: model of type 'WordPiece' is not supported")
    }
}
