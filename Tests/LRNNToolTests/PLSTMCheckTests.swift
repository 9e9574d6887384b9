import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

@Suite("lrnn check: plstm_1d, plstm_2d", .enabled(if: Golden.isAvailable, Golden.skipMessage))
struct PLSTMCheckTests {
    static let cases = [
        ("plstm_1d_general_c0", "plstm_1d"), ("plstm_1d_matrix", "plstm_1d"), ("plstm_1d_scalar_c0", "plstm_1d"),
        ("plstm_2d_dmode", "plstm_2d"), ("plstm_2d_dmode_scalar", "plstm_2d"), ("plstm_2d_pmode", "plstm_2d"),
        ("plstm_2d_pmode_border", "plstm_2d"),
    ]

    /// Every pLSTM case yields chunk and naive lines in both precisions, all passing (outputs and every
    /// gradient within the golden tolerances).
    @Test(arguments: cases)
    func casesPass(name: String, op: String) throws {
        let lines = GoldenCheck.run(.file(path: Golden.path(name + ".safetensors")))
        #expect(lines.allSatisfy { $0.op == op })
        #expect(
            lines.map { "\($0.precision)/\($0.path)" }.sorted()
                == ["Float32/chunk", "Float32/naive", "Float64/chunk", "Float64/naive"])
        for line in lines {
            #expect(line.status == .pass, "\(name) \(line.precision) \(line.path): \(line.note ?? "")")
            #expect((line.error ?? 1) <= (line.precision == "Float64" ? 1e-9 : 1e-4))
        }
    }
}
