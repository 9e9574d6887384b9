import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

@Suite("lrnn check: gla")
struct GLACheckTests {
    /// Every gla golden case yields chunk and recurrent lines in both precisions, all passing.
    @Test(.enabled(if: Golden.isAvailable, Golden.skipMessage))
    func glaCasesPass() throws {
        let checker = try #require(CheckRegistry.ops["gla"])
        for name in ["gla_basic", "gla_h0_varlen", "gla_strong_decay"] {
            let lines = try checker(try SafeTensorsFile(path: Golden.path(name + ".safetensors")), name)
            #expect(
                lines.map { "\($0.precision)/\($0.path)" }.sorted()
                    == ["Float32/chunk", "Float32/recurrent", "Float64/chunk", "Float64/recurrent"])
            for line in lines {
                #expect(line.status == .pass, "\(name) \(line.precision) \(line.path): \(line.error ?? .nan)")
                #expect((line.error ?? 1) <= (line.precision == "Float64" ? 1e-12 : 1e-5))
            }
        }
    }
}
