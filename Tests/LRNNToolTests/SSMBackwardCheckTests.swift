import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

@Suite("state-space backward golden checks")
struct SSMBackwardCheckTests {
    @Test(
        "every s4d_conv_backward and s5_backward case passes: chunk and naive, Float64 and Float32",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func goldens() throws {
        let ops: Set<String> = ["s4d_conv_backward", "s5_backward"]
        let names = try Golden.caseFiles.filter {
            try SafeTensorsFile(path: Golden.path($0)).metadata["op"].map(ops.contains) ?? false
        }
        #expect(names.count >= 4)
        let report = GoldenCheck.run(names.map { .file(path: Golden.path($0)) })
        #expect(report.failed == 0 && report.skipped == 0)
        #expect(Set(report.lines.map(\.op)) == ops)
        #expect(report.lines.count == 4 * names.count)
        for precision in ["Float64", "Float32"] {
            for path in ["chunk", "naive"] {
                #expect(report.lines.filter { $0.precision == precision && $0.path == path }.count == names.count)
            }
        }
    }

    @Test("a cotangent of the wrong shape is a FAIL line naming outputGradient")
    func wrongCotangent() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ssm-backward-check-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let zeros = { (shape: [Int]) in Tensor<Double>(zeros: shape) }
        var writer = SafeTensorsWriter()
        for (key, shape) in [
            ("Lambda_re", [2]), ("Lambda_im", [2]), ("log_step", [2]), ("B_re", [2, 3]), ("B_im", [2, 3]),
            ("C_re", [3, 2]), ("C_im", [3, 2]), ("D", [3]), ("u", [1, 4, 3]), ("y", [1, 4, 3]), ("dy", [1, 5, 3]),
            ("du", [1, 4, 3]), ("dLambda_re", [2]), ("dLambda_im", [2]), ("dlog_step", [2]), ("dB_re", [2, 3]),
            ("dB_im", [2, 3]), ("dC_re", [3, 2]), ("dC_im", [3, 2]), ("dD", [3]),
        ] {
            writer.add(key, zeros(shape))
        }
        writer.metadata = ["op": "s5_backward", "discretization": "zoh", "conj_sym": "true"]
        let path = dir.appendingPathComponent("s5_backward_bad_dy.safetensors").path
        try writer.write(to: path)
        let report = GoldenCheck.run([.file(path: path)])
        #expect(report.failed == 4 && report.lines.count == 4)
        #expect(report.lines.allSatisfy { $0.note?.contains("'outputGradient' has shape [1, 5, 3]") == true })
    }
}
