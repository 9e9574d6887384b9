import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

@Suite("lrnn check: gla_backward", .enabled(if: Golden.isAvailable, Golden.skipMessage))
struct GLABackwardCheckTests {
    static let cases = ["gla_backward_basic", "gla_backward_strong_varlen"]

    /// Every gla_backward case yields chunk, saved and naive lines in both precisions, all passing.
    @Test(arguments: cases)
    func casesPass(name: String) throws {
        let checker = try #require(CheckRegistry.ops["gla_backward"])
        let lines = try checker(try SafeTensorsFile(path: Golden.path(name + ".safetensors")), name)
        #expect(
            lines.map { "\($0.precision)/\($0.path)" }.sorted()
                == [
                    "Float32/chunk", "Float32/naive", "Float32/saved", "Float64/chunk", "Float64/naive",
                    "Float64/saved",
                ])
        for line in lines {
            #expect(line.status == .pass, "\(name) \(line.precision) \(line.path): \(line.error ?? .nan)")
            #expect((line.error ?? 1) <= (line.precision == "Float64" ? 1e-12 : 1e-5))
        }
    }

    /// A case whose cotangent has the wrong shape, or that drops h0 while keeping dh0, or that drops
    /// an expected gradient, is a FAIL line on every path naming what is wrong; nothing traps.
    @Test func malformedCasesFail() throws {
        let source = Golden.path("gla_backward_strong_varlen.safetensors")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gla-backward-check-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try SafeTensorsFile(path: source)
        let dO = try file.tensor("do", as: Double.self)
        let variants: [(String, String, () throws -> Void)] = [
            (
                "do", "outputGradient",
                {
                    try rewritten(
                        source, to: dir.appendingPathComponent("do.safetensors").path, replacing: "do",
                        with: resized(dO, axis: 3, by: 1))
                }
            ),
            (
                "h0", "the case has dh0 but no h0",
                { try rewritten(source, to: dir.appendingPathComponent("h0.safetensors").path, dropping: "h0") }
            ),
            (
                "dgk", "dgk",
                { try rewritten(source, to: dir.appendingPathComponent("dgk.safetensors").path, dropping: "dgk") }
            ),
        ]
        for (variant, expectedNote, write) in variants {
            try write()
            let report = GoldenCheck.run([.file(path: dir.appendingPathComponent(variant + ".safetensors").path)])
            #expect(!report.lines.isEmpty && report.lines.allSatisfy { $0.status == .fail }, "\(variant)")
            for line in report.lines {
                #expect(line.note?.contains(expectedNote) == true, "\(variant): \(line.note ?? "-")")
            }
        }
    }
}
