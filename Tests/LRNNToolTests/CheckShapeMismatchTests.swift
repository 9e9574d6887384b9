import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

/// A golden file rewritten with one tensor replaced (or metadata changed), everything else as stored.
func rewritten(
    _ source: String, to target: String, replacing name: String? = nil, with replacement: Tensor<Double>? = nil,
    dropping dropped: String? = nil, metadata edit: (inout [String: String]) -> Void = { _ in }
) throws {
    let file = try SafeTensorsFile(path: source)
    var metadata = file.metadata
    edit(&metadata)
    var w = SafeTensorsWriter(metadata: metadata)
    for n in file.names where n != dropped {
        let info = try file.info(n)
        if n == name, let replacement {
            w.add(n, replacement, as: .float64)
        } else if info.dtype.isFloatingPoint {
            w.add(n, try file.tensor(n, as: Double.self), as: info.dtype)
        } else {
            w.add(n, integers: try file.integerTensor(n), as: info.dtype)
        }
    }
    try w.write(to: target)
}

/// The same tensor with one more entry along `axis` (zeros), or one fewer.
func resized(_ t: Tensor<Double>, axis: Int, by delta: Int) -> Tensor<Double> {
    var shape = t.shape
    shape[axis] += delta
    let outer = t.shape[..<axis].reduce(1, *)
    let inner = t.shape[(axis + 1)...].reduce(1, *)
    var out = Tensor<Double>(zeros: shape)
    for o in 0..<outer {
        for a in 0..<min(t.shape[axis], shape[axis]) {
            for i in 0..<inner {
                out.scalars[(o * shape[axis] + a) * inner + i] = t.scalars[(o * t.shape[axis] + a) * inner + i]
            }
        }
    }
    return out
}

/// A well-formed case whose expected tensor has another size than the computed one is a FAIL
/// line naming the tensor and both shapes, in every checker, and never stops the run.
@Suite("lrnn check: expected tensors of the wrong shape", .enabled(if: Golden.isAvailable, Golden.skipMessage))
struct CheckShapeMismatchTests {
    /// (golden case, expected tensor, axis to grow or shrink).
    static let cases: [(String, String, Int)] = [
        ("s4d_kernel_zoh", "K", 1),
        ("s4d_kernel_bilinear", "K", 0),
        ("s4d_conv_zoh", "y", 1),
        ("s5_zoh", "y", 2),
        ("hippo_legs_16", "B", 0),
        ("hippo_legt_16", "A", 1),
        ("delta_rule_varlen", "ht", 0),
        ("delta_rule_basic", "o", 1),
        ("delta_product_nh2", "ht", 3),
        ("gated_delta_rule_basic", "o", 3),
        ("gla_h0_varlen", "ht", 0),
        ("gla_basic", "o", 2),
    ]

    @Test("every op checker", arguments: [1, -1])
    func opCheckers(delta: Int) throws {
        let d = try ScratchDirectory()
        var paths: [String] = []
        for (name, tensor, axis) in Self.cases {
            let source = Golden.path(name + ".safetensors")
            let expected = try SafeTensorsFile(path: source).tensor(tensor, as: Double.self)
            let bad = resized(expected, axis: axis, by: delta)
            let target = d.path(name + "_bad.safetensors")
            try rewritten(source, to: target, replacing: tensor, with: bad)
            paths.append(target)
            let lines = GoldenCheck.run(.file(path: target))
            #expect(!lines.isEmpty)
            for l in lines {
                #expect(l.status == .fail, "\(name) \(l.precision) \(l.path)")
                #expect(
                    l.note == "tensor '\(tensor)': computed shape \(expected.shape), golden shape \(bad.shape)",
                    "\(name): \(l.note ?? "")")
            }
        }
        // One run over every file (and a good case) reports each of them.
        let good = Golden.path("hippo_lagt_16.safetensors")
        let report = GoldenCheck.run(try GoldenDiscovery.cases(in: [d.url.path, good]))
        #expect(Set(report.lines.map(\.name)) == Set(Self.cases.map { $0.0 + "_bad" } + ["hippo_lagt_16"]))
        #expect(report.passed == 2 && report.failed == report.lines.count - 2)
    }

    @Test("model cases: logits of another shape, and malformed token-id tensors")
    func modelChecker() throws {
        let d = try ScratchDirectory()
        let source = Golden.path("model_gla")
        func copyModel(_ target: String) throws -> String {
            try copyGoldenModel("model_gla", files: ["config.json", "model.safetensors"], into: d, as: target).directory
        }
        let logits = try SafeTensorsFile(path: source + "/golden.safetensors").tensor("logits", as: Double.self)
        let wrongLogits = try copyModel("wrong_logits")
        try rewritten(
            source + "/golden.safetensors", to: wrongLogits + "/golden.safetensors", replacing: "logits",
            with: resized(logits, axis: 2, by: 3))
        let lines = GoldenCheck.run(.modelDirectory(path: wrongLogits))
        let wrongShape =
            "tensor 'logits': computed shape \(logits.shape), golden shape \(resized(logits, axis: 2, by: 3).shape)"
        #expect(lines.filter { $0.path != "generate" }.map(\.note) == Array(repeating: wrongShape, count: 4))
        #expect(lines.filter { $0.path == "generate" }.allSatisfy { $0.status == .pass })

        // input_ids of rank 1: a FAIL line naming it (not an index out of range).
        let flatIds = try copyModel("flat_ids")
        var w = SafeTensorsWriter(metadata: ["op": "model"])
        let golden = try SafeTensorsFile(path: source + "/golden.safetensors")
        w.add("input_ids", integers: Tensor(shape: [4], scalars: [1, 2, 3, 4]))
        w.add("logits", logits, as: .float32)
        w.add("prompt_ids", integers: try golden.integerTensor("prompt_ids"))
        w.add("generated_ids", integers: try golden.integerTensor("generated_ids"))
        try w.write(to: flatIds + "/golden.safetensors")
        let flat = GoldenCheck.run(.modelDirectory(path: flatIds))
        #expect(flat.count == 6 && flat.allSatisfy { $0.status == .fail })
        #expect(flat.allSatisfy { $0.note?.contains("input_ids has shape [4], expected [B, T]") == true })
    }

    @Test("impossible metadata integers are FAIL lines, not traps")
    func metadataIntegers() throws {
        let d = try ScratchDirectory()
        for (name, key, value) in [
            ("s4d_kernel_zoh", "L", "1e300"), ("s4d_kernel_zoh", "L", "nan"), ("s4d_kernel_zoh", "L", "-3"),
            ("delta_product_nh2", "num_householder", "9223372036854775808"),
            ("delta_product_nh2", "num_householder", "0.5"),
        ] {
            let target = d.path("\(name)_\(key).safetensors")
            try rewritten(Golden.path(name + ".safetensors"), to: target) { $0[key] = value }
            let lines = GoldenCheck.run(.file(path: target))
            #expect(lines.count == 1 && lines[0].status == .fail, "\(key) = \(value)")
            #expect(lines[0].note?.contains("metadata '\(key)' is '\(value)', expected an integer in") == true)
        }
    }

    @Test(
        "the reported files: FAIL lines naming the tensor and both shapes",
        .enabled(if: Golden.regressionsAvailable, Golden.regressionsSkipMessage))
    func regressionFiles() throws {
        let k = GoldenCheck.run(.file(path: Golden.regression("s4d_kernel_L_mismatch.safetensors")))
        #expect(k.count == 2 && k.allSatisfy { $0.status == .fail })
        #expect(k.allSatisfy { $0.note == "tensor 'K': computed shape [1, 10], golden shape [1, 11]" })
        let ht = GoldenCheck.run(.file(path: Golden.regression("delta_rule_varlen_ht_wrong_count.safetensors")))
        #expect(ht.count == 4 && ht.allSatisfy { $0.status == .fail })
        #expect(ht.allSatisfy { $0.note?.hasPrefix("tensor 'ht': computed shape [2,") == true })
        // A run over both and a good case reports all three.
        let report = GoldenCheck.run([
            .file(path: Golden.regression("s4d_kernel_L_mismatch.safetensors")),
            .file(path: Golden.regression("delta_rule_varlen_ht_wrong_count.safetensors")),
            .file(path: Golden.path("hippo_fout_16.safetensors")),
        ])
        #expect(report.failed == 6 && report.passed == 2)
    }
}
