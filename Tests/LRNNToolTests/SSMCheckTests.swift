import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

@Suite("state-space golden checks and the PTD report")
struct SSMCheckTests {
    @Test(
        "every state-space golden case passes in every precision and path",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func goldens() throws {
        let ops: Set<String> = ["s4d_kernel", "s4d_conv", "s5", "hippo", "ptd"]
        let names = try Golden.caseFiles.filter {
            try SafeTensorsFile(path: Golden.path($0)).metadata["op"].map(ops.contains) ?? false
        }
        #expect(names.count >= 11)
        let report = GoldenCheck.run(names.map { .file(path: Golden.path($0)) })
        #expect(report.failed == 0 && report.skipped == 0)
        #expect(Set(report.lines.map(\.op)) == ops)
        // Both precisions for the ops, Float64 only for PTD.
        #expect(report.lines.filter { $0.op == "ptd" }.allSatisfy { $0.precision == "Float64" && $0.tolerance == 1e-8 })
        #expect(report.lines.contains { $0.op == "s4d_conv" && $0.precision == "Float32" && $0.path == "recurrent" })
    }

    @Test("PTD report: variants, JSON keys, table and SVG")
    func report() throws {
        let r = try PTDReport.run(n: 8, method: .random, eps: 0.02, seed: 1)
        #expect(r.variants.map(\.key) == ["s4d_legs", "random", "ptd"])
        #expect(r.variants[1].figures == r.variants[2].figures)
        #expect(Swift.abs(r.variants[1].figures.perturbationRatio - 0.02) <= 1e-12)
        // Pretty-printed with sorted keys, like the other subcommands' --json.
        #expect(r.json().hasPrefix("{\n  \"eps\" : "))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.json().utf8)) as? [String: Any])
        #expect(json["n"] as? Int == 8 && json["method"] as? String == "random" && json["seconds"] is Double)
        let variants = try #require(json["variants"] as? [String: [String: Any]])
        for key in ["s4d_legs", "random", "ptd"] {
            let v = try #require(variants[key])
            for field in ["cond", "perturbation_ratio", "max_real_eig", "transfer_error"] {
                #expect(v[field] is Double)
            }
        }
        #expect(r.text().contains("S4D-LegS") && r.text().contains("random PTD"))
        let svg = r.svg()
        #expect(svg.hasPrefix("<svg") && svg.components(separatedBy: "<polyline").count == 4)
        #expect(throws: (any Error).self) { _ = try PTDReport.run(n: 1, method: .none, eps: 0.1, seed: 0) }
        #expect(throws: (any Error).self) { _ = try PTDReport.run(n: 8, method: .random, eps: -1, seed: 0) }
    }
}
