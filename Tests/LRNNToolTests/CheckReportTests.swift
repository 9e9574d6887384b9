import Foundation
import LRNNLinearAlgebra
import LRNNTool
import Testing

/// Lines of every status, including a NaN error.
let sampleLines: [CheckLine] = [
    .measured(name: "a", op: "gla", precision: "Float64", path: "chunk", error: 1e-12, tolerance: 1e-9),
    .measured(name: "a", op: "gla", precision: "Float32", path: "chunk", error: 1e-3, tolerance: 1e-4, note: "o"),
    .measured(name: "b", op: "gla", precision: "Float64", path: "recurrent", error: .nan, tolerance: 1e-9),
    CheckLine(
        name: "c", op: "mystery", precision: "-", path: "-", error: nil, tolerance: nil, status: .skip,
        note: "unsupported op: mystery"),
]

@Suite("check report")
struct CheckReportTests {
    @Test("measured lines: PASS at or under the tolerance, FAIL above it or on NaN")
    func verdicts() {
        #expect(sampleLines.map(\.status) == [.pass, .fail, .fail, .skip])
        #expect(
            CheckLine.measured(name: "x", op: "o", precision: "Float64", path: "p", error: 1e-9, tolerance: 1e-9).status
                == .pass)
        #expect(GoldenCheck.opTolerance("Float64") == 1e-9 && GoldenCheck.opTolerance("Float32") == 1e-4)
    }

    @Test("text() ends with 'N passed, M failed'; skipped lines say why", arguments: [0, 1, 2, 3, 4])
    func text(_ count: Int) throws {
        let report = CheckReport(lines: Array(sampleLines.prefix(count)))
        let lines = report.text().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "")
        let last = try #require(lines.dropLast().last)
        #expect(last == "\(report.passed) passed, \(report.failed) failed")
        #expect(lines.first?.hasPrefix("case") == true)
        if report.skipped > 0 {
            #expect(report.text().contains("skipped (unsupported op: mystery)"))
            #expect(lines.dropLast().dropLast().last == "\(report.skipped) skipped")
        }
        if count >= 2 { #expect(report.text().contains("FAIL (o)")) }
    }

    @Test("json(): one object with lines, passed, failed, skipped; NaN survives as a string")
    func json() throws {
        let report = CheckReport(lines: sampleLines)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["lines", "passed", "failed", "skipped"])
        #expect(object["passed"] as? Int == 1 && object["failed"] as? Int == 2 && object["skipped"] as? Int == 1)
        let lines = try #require(object["lines"] as? [[String: Any]])
        #expect(lines.count == 4)
        #expect(lines.map { $0["status"] as? String } == ["PASS", "FAIL", "FAIL", "SKIP"])
        #expect(Set(lines[0].keys) == ["name", "op", "precision", "path", "error", "tolerance", "status"])
        #expect(lines[0]["error"] as? Double == 1e-12 && lines[0]["tolerance"] as? Double == 1e-9)
        #expect(lines[2]["error"] as? String == "NaN")
        #expect(lines[3]["note"] as? String == "unsupported op: mystery" && lines[3]["error"] == nil)
    }
}

@Suite("golden check dispatch")
struct GoldenCheckTests {
    @Test("an op without a checker is one SKIP line naming the op")
    func unsupportedOp() throws {
        let d = try ScratchDirectory()
        let path = try d.file("odd.safetensors", op: "no_such_op")
        let lines = GoldenCheck.run(.file(path: path))
        #expect(lines.count == 1)
        #expect(lines.first?.status == .skip && lines.first?.op == "no_such_op" && lines.first?.name == "odd")
        #expect(lines.first?.note == "unsupported op: no_such_op")
        let report = GoldenCheck.run([.file(path: path)])
        #expect(report.skipped == 1 && report.passed == 0 && report.failed == 0)
        #expect(report.text().hasSuffix("1 skipped\n0 passed, 0 failed\n"))
    }

    @Test("a model directory without a model checker is a SKIP line", .enabled(if: CheckRegistry.model == nil))
    func unsupportedModel() throws {
        let d = try ScratchDirectory()
        try d.file("m/config.json", contents: "{}")
        let lines = GoldenCheck.run(.modelDirectory(path: d.path("m")))
        #expect(lines.map(\.status) == [.skip] && lines.first?.op == "model")
    }

    @Test("an unreadable file or one without an op is a FAIL line carrying the reason")
    func unreadable() throws {
        let d = try ScratchDirectory()
        let broken = try d.file("broken.safetensors", contents: "garbage")
        let noOp = try d.file("no_op.safetensors")
        let a = GoldenCheck.run(.file(path: broken))
        #expect(a.map(\.status) == [.fail] && a.first?.note?.contains("truncated") == true)
        let b = GoldenCheck.run(.file(path: noOp))
        #expect(b.map(\.status) == [.fail] && b.first?.note?.contains("no 'op'") == true)
        var progress: [String] = []
        let report = GoldenCheck.run([.file(path: broken), .file(path: noOp)]) { i, n, name in
            progress.append("\(i)/\(n) \(name)")
        }
        #expect(progress == ["0/2 broken", "1/2 no_op"])
        #expect(report.failed == 2 && report.text().hasSuffix("0 passed, 2 failed\n"))
    }

    @Test("goldenError: max|x − ref| / max|ref|, absolute against zeros, NaN propagates")
    func goldenErrorMeasure() throws {
        let ref = Tensor<Double>(shape: [3], scalars: [2, -4, 1])
        #expect(try goldenError(Tensor<Float>(shape: [3], scalars: [2, -3, 1]), ref, tensor: "y") == 0.25)
        #expect(
            try goldenError(Tensor<Double>(shape: [3], scalars: [0.5, 0, 0]), Tensor(zeros: [3]), tensor: "y") == 0.5)
        #expect(try goldenError(Tensor<Double>(shape: [3], scalars: [2, .nan, 1]), ref, tensor: "y").isNaN)
    }

    @Test("goldenError compares shapes first: same count, other shape is a mismatch naming the tensor")
    func goldenErrorShapes() {
        let ref = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(throws: GoldenShapeMismatch(tensor: "K", computed: [3, 2], expected: [2, 3])) {
            try goldenError(Tensor<Double>(shape: [3, 2], scalars: ref.scalars), ref, tensor: "K")
        }
        #expect(throws: GoldenShapeMismatch(tensor: "K", computed: [2, 2], expected: [2, 3])) {
            try goldenError(Tensor<Float>(zeros: [2, 2]), ref, tensor: "K")
        }
        #expect(
            GoldenShapeMismatch(tensor: "K", computed: [1, 10], expected: [1, 11]).description
                == "tensor 'K': computed shape [1, 10], golden shape [1, 11]")
    }
}
