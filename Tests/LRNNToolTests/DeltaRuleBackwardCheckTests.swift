import Foundation
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

/// `lrnn check` for the delta-rule backward cases: six lines per case (Float64/Float32 ×
/// chunk/saved/naive), real verdicts, failures reported.
@Suite("delta-rule backward golden checker")
struct DeltaRuleBackwardCheckTests {
    @Test(
        "every delta-family backward golden passes on all three paths in both precisions",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func goldens() throws {
        var seen = 0
        for name in Golden.caseFiles {
            let file = try SafeTensorsFile(path: Golden.path(name))
            guard let op = file.metadata["op"], DeltaRuleBackwardCheck.ops.contains(op) else { continue }
            seen += 1
            let lines = GoldenCheck.run(.file(path: Golden.path(name)))
            #expect(
                Set(lines.map { "\($0.precision)/\($0.path)" }) == [
                    "Float64/chunk", "Float64/saved", "Float64/naive", "Float32/chunk", "Float32/saved",
                    "Float32/naive",
                ] && lines.count == 6, "\(name)")
            for l in lines {
                #expect(l.status == .pass, "\(name) \(l.precision) \(l.path): error \(l.error ?? .nan)")
                #expect(l.op == op && l.tolerance == GoldenCheck.opTolerance(l.precision))
            }
        }
        #expect(seen >= 5)
    }

    /// A small synthetic gated case (B = 1, T = 5, H = 1, K = 3, V = 2) with expectations from
    /// the reference paths; `corrupt` names an expected tensor to perturb, `drop` one to leave out.
    static func writeCase(at path: String, corrupt: String? = nil, drop: String? = nil) throws {
        var rng = SeededRandom(seed: 7)
        let x = DeltaRule.Inputs<Double>(
            q: rng.tensor([1, 5, 1, 3]), k: rng.tensor([1, 5, 1, 3], -0.5...0.5), v: rng.tensor([1, 5, 1, 2]),
            beta: rng.tensor([1, 5, 1], 0.1...1.9), g: rng.tensor([1, 5, 1], -1...(-0.1)),
            initialState: rng.tensor([1, 1, 3, 2]))
        let dO: Tensor<Double> = rng.tensor([1, 5, 1, 2])
        let dht: Tensor<Double> = rng.tensor([1, 1, 3, 2])
        let f = try DeltaRule.reference(
            q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, scale: 0.5, initialState: x.initialState)
        let grad = try DeltaRule.referenceBackward(x, scale: 0.5, outputGradient: dO, finalStateGradient: dht)
        var w = SafeTensorsWriter(metadata: ["op": "gated_delta_rule_backward", "scale": "0.5"])
        let tensors: [(String, Tensor<Double>)] = [
            ("q", x.q), ("k", x.k), ("v", x.v), ("beta", x.beta), ("g", x.g!), ("h0", x.initialState!),
            ("do", dO), ("dht", dht), ("o", f.output), ("ht", f.finalState), ("dq", grad.q), ("dk", grad.k),
            ("dv", grad.v), ("dbeta", grad.beta), ("dg", grad.g!), ("dh0", grad.initialState!),
        ]
        for (name, t) in tensors where name != drop {
            var t = t
            if name == corrupt { t.scalars[1] += 0.1 }
            w.add(name, t, as: .float64)
        }
        try w.write(to: path)
    }

    @Test("a wrong expected gradient fails every line; a missing cotangent is a FAIL line")
    func failures() throws {
        let d = try ScratchDirectory()
        let good = d.path("good.safetensors")
        try Self.writeCase(at: good)
        #expect(GoldenCheck.run(.file(path: good)).allSatisfy { $0.status == .pass })
        for tensor in ["dg", "dh0", "dbeta", "o"] {
            let bad = d.path("bad_\(tensor).safetensors")
            try Self.writeCase(at: bad, corrupt: tensor)
            let lines = GoldenCheck.run(.file(path: bad))
            #expect(lines.count == 6 && lines.allSatisfy { $0.status == .fail }, "\(tensor)")
        }
        let missing = d.path("missing_do.safetensors")
        try Self.writeCase(at: missing, drop: "do")
        let lines = GoldenCheck.run(.file(path: missing))
        #expect(!lines.isEmpty && lines.allSatisfy { $0.status == .fail })
        #expect(lines.first?.note?.contains("do") == true)
    }
}
