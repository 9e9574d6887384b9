import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("pLSTM 1-D golden cases")
struct PLSTM1DGoldenTests {
    /// The chunked and reference paths reproduce `y`, `C_last` and every gradient of the `plstm_1d`
    /// cases: Float64 within 1e-9, Float32 within 1e-4.
    @Test(
        .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["plstm_1d_general_c0", "plstm_1d_matrix", "plstm_1d_scalar_c0"])
    func goldenCase(name: String) throws {
        let file = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        #expect(file.metadata["op"] == "plstm_1d")
        let scale = try #require(file.metadataNumber("scale"))
        var expected: [(String, Tensor<Double>)] = []
        for n in ["y", "C_last", "dq", "dk", "dv", "dS", "dT", "dM", "dD"] {
            expected.append((n, try file.tensor(n, as: Double.self)))
        }
        if file.contains("dC0") { expected.append(("dC0", try file.tensor("dC0", as: Double.self))) }

        func run<T: LRNNScalar>(_: T.Type, reference: Bool) throws -> [(String, Tensor<T>)] {
            let x = PLSTM1D.Inputs(
                q: try file.tensor("q", as: T.self), k: try file.tensor("k", as: T.self),
                v: try file.tensor("v", as: T.self), S: try file.tensor("S", as: T.self),
                T: try file.tensor("T", as: T.self), M: try file.tensor("M", as: T.self),
                D: try file.tensor("D", as: T.self), C0: file.contains("C0") ? try file.tensor("C0", as: T.self) : nil)
            let dy = try file.tensor("dy", as: T.self)
            let dC = file.contains("dC_last") ? try file.tensor("dC_last", as: T.self) : nil
            let forward =
                reference ? try PLSTM1D.reference(x, scale: T(scale)) : try PLSTM1D.chunked(x, scale: T(scale))
            let g =
                reference
                ? try PLSTM1D.referenceBackward(x, scale: T(scale), outputGradient: dy, finalStateGradient: dC)
                : try PLSTM1D.backward(x, scale: T(scale), outputGradient: dy, finalStateGradient: dC)
            return [("y", forward.output), ("C_last", forward.finalState)] + plstm1DFields(g)
        }
        for reference in [false, true] {
            let path = reference ? "reference" : "chunked"
            let r64 = try run(Double.self, reference: reference)
            let r32 = try run(Float.self, reference: reference)
            #expect(r64.map(\.0) == expected.map(\.0))
            for ((n, x64), ((_, x32), (_, ref))) in zip(r64, zip(r32, expected)) {
                #expect(plstmError(x64, ref) <= 1e-9, "\(name) \(path) Float64 \(n)")
                #expect(plstmError(x32, ref) <= 1e-4, "\(name) \(path) Float32 \(n)")
            }
        }
    }
}
