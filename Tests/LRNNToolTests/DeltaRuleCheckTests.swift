import Foundation
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

/// `lrnn check` for the delta-rule family: four lines per case, real verdicts, failures reported.
@Suite("delta-rule golden checker")
struct DeltaRuleCheckTests {
    @Test(
        "every delta-family golden passes on both paths in both precisions",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func goldens() throws {
        var seen = 0
        for name in Golden.caseFiles {
            let file = try SafeTensorsFile(path: Golden.path(name))
            guard let op = file.metadata["op"], DeltaRuleCheck.ops.contains(op) else { continue }
            seen += 1
            let lines = GoldenCheck.run(.file(path: Golden.path(name)))
            #expect(lines.count == 4, "\(name)")
            #expect(
                Set(lines.map { "\($0.precision)/\($0.path)" }) == [
                    "Float64/chunk", "Float64/recurrent", "Float32/chunk", "Float32/recurrent",
                ])
            for l in lines {
                #expect(l.status == .pass, "\(name) \(l.precision) \(l.path): error \(l.error ?? .nan)")
                #expect(l.op == op && l.tolerance == GoldenCheck.opTolerance(l.precision))
            }
        }
        #expect(seen >= 6)
    }

    /// A small synthetic case (B = 1, T = 5, H = 1, K = 3, V = 2, n = 2) with outputs from the reference.
    static func writeCase(at path: String, corruptOutput: Bool = false, badKeyRows: Bool = false) throws {
        var rng = SeededRandom(seed: 99)
        let n = 2
        let q: Tensor<Double> = rng.tensor([1, 5, 1, 3])
        let k: Tensor<Double> = rng.tensor([1, 5 * n, 1, 3], -0.5...0.5)
        let v: Tensor<Double> = rng.tensor([1, 5 * n, 1, 2])
        let beta: Tensor<Double> = rng.tensor([1, 5 * n, 1], 0.1...1.9)
        var (o, ht) = try DeltaRule.reference(
            DeltaRule.Inputs(q: q, k: k, v: v, beta: beta), scale: 0.5, numHouseholder: n)
        if corruptOutput { o.scalars[3] += 1 }
        var w = SafeTensorsWriter(metadata: ["op": "delta_product", "scale": "0.5", "num_householder": "2"])
        w.add("q", q, as: .float64)
        w.add("k", badKeyRows ? rng.tensor([1, 5, 1, 3]) : k, as: .float64)
        w.add("v", v, as: .float64)
        w.add("beta", beta, as: .float64)
        w.add("o", o, as: .float64)
        w.add("ht", ht, as: .float64)
        try w.write(to: path)
    }

    @Test("a wrong expected output fails, a malformed case fails with the kernel's error")
    func failures() throws {
        let d = try ScratchDirectory()
        let good = d.path("good.safetensors")
        try Self.writeCase(at: good)
        #expect(GoldenCheck.run(.file(path: good)).allSatisfy { $0.status == .pass })

        let wrong = d.path("wrong.safetensors")
        try Self.writeCase(at: wrong, corruptOutput: true)
        let wrongLines = GoldenCheck.run(.file(path: wrong))
        #expect(wrongLines.count == 4 && wrongLines.allSatisfy { $0.status == .fail && ($0.error ?? 0) > 0.01 })

        let malformed = d.path("malformed.safetensors")
        try Self.writeCase(at: malformed, badKeyRows: true)
        let badLines = GoldenCheck.run(.file(path: malformed))
        #expect(badLines.count == 4)
        #expect(badLines.allSatisfy { $0.status == .fail && ($0.note ?? "").contains("'k'") })
    }
}
