import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

@Suite("lrnn check: pararnn_gru, pararnn_lstm", .enabled(if: Golden.isAvailable, Golden.skipMessage))
struct ParaRNNCheckTests {
    static let cases = [
        "pararnn_gru_init", "pararnn_gru_strong", "pararnn_gru_strong_h0", "pararnn_lstm_init", "pararnn_lstm_strong",
        "pararnn_lstm_strong_h0",
    ]

    /// Every case yields newton and naive lines in both precisions, all passing, the newton lines with
    /// the iterations their forward used.
    @Test(arguments: cases)
    func casesPass(name: String) throws {
        let file = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        let op = try #require(file.metadata["op"])
        let checker = try #require(CheckRegistry.ops[op])
        let lines = try checker(file, name)
        #expect(
            lines.map { "\($0.precision)/\($0.path)" }.sorted()
                == ["Float32/naive", "Float32/newton", "Float64/naive", "Float64/newton"])
        for line in lines {
            #expect(line.status == .pass, "\(name) \(line.precision) \(line.path): \(line.note ?? "")")
            #expect((line.error ?? 1) <= (line.precision == "Float64" ? 1e-12 : 1e-5))
            if line.path == "newton" {
                let info = try #require(line.info)
                #expect(info.hasPrefix("newton ") && info.hasSuffix(" iterations"), "\(info)")
            } else {
                #expect(line.info == nil)
            }
        }
        #expect(CheckReport(lines: lines).text().contains("PASS [newton "))
    }

    /// A case that keeps h0 but drops dh0, or whose cotangent has the wrong shape, is a FAIL line on
    /// every path naming what is wrong.
    @Test func malformedCasesFail() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pararnn-check-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let gru = Golden.path("pararnn_gru_strong_h0.safetensors")
        let noDh0 = dir.appendingPathComponent("no_dh0.safetensors").path
        try rewritten(gru, to: noDh0, dropping: "dh0")
        let lines = try ParaRNNCheck.gru(try SafeTensorsFile(path: noDh0), "no_dh0")
        #expect(lines.count == 4)
        for line in lines {
            #expect(line.status == .fail)
            #expect(line.note == "no_dh0: h0 is present but the case has no dh0")
        }
        let lstm = Golden.path("pararnn_lstm_init.safetensors")
        let dh = try SafeTensorsFile(path: lstm).tensor("dh", as: Double.self)
        let badDh = dir.appendingPathComponent("bad_dh.safetensors").path
        try rewritten(lstm, to: badDh, replacing: "dh", with: resized(dh, axis: 2, by: 1))
        for line in try ParaRNNCheck.lstm(try SafeTensorsFile(path: badDh), "bad_dh") {
            #expect(line.status == .fail)
            #expect(line.note?.contains("outputGradient") == true, "\(line.note ?? "")")
        }
    }
}
