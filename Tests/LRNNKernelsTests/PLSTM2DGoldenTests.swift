import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("pLSTM 2-D golden cases")
struct PLSTM2DGoldenTests {
    /// The tiled and reference paths reproduce `y`, `C_right`, `C_bottom` and every gradient of the
    /// `plstm_2d` cases: Float64 within 1e-9, Float32 within 1e-4 (tiles of 3 cells, so that tiles
    /// split every grid).
    @Test(
        .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["plstm_2d_dmode", "plstm_2d_dmode_scalar", "plstm_2d_pmode", "plstm_2d_pmode_border"])
    func goldenCase(name: String) throws {
        let file = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        #expect(file.metadata["op"] == "plstm_2d")
        let scale = try #require(file.metadataNumber("scale"))
        var names = ["y", "C_right", "C_bottom", "dq", "dk", "dv", "dS_r", "dS_d", "dT_rl", "dT_du"]
        names += ["dT_ru", "dT_dl"].filter { file.contains($0) }
        names += ["dM_l", "dM_u", "dD"] + ["dC_left", "dC_top"].filter { file.contains($0) }
        let expected = try names.map { ($0, try file.tensor($0, as: Double.self)) }

        func run<T: LRNNScalar>(_: T.Type, reference: Bool) throws -> [(String, Tensor<T>)] {
            func optional(_ n: String) throws -> Tensor<T>? { file.contains(n) ? try file.tensor(n, as: T.self) : nil }
            let x = PLSTM2D.Inputs(
                q: try file.tensor("q", as: T.self), k: try file.tensor("k", as: T.self),
                v: try file.tensor("v", as: T.self), S_r: try file.tensor("S_r", as: T.self),
                S_d: try file.tensor("S_d", as: T.self), T_rl: try file.tensor("T_rl", as: T.self),
                T_du: try file.tensor("T_du", as: T.self), T_ru: try optional("T_ru"), T_dl: try optional("T_dl"),
                M_l: try file.tensor("M_l", as: T.self), M_u: try file.tensor("M_u", as: T.self),
                D: try file.tensor("D", as: T.self), C_left: try optional("C_left"), C_top: try optional("C_top"))
            let dy = try file.tensor("dy", as: T.self)
            let dC: PLSTM2D.BoundaryStates<T>? =
                file.contains("dC_right")
                ? PLSTM2D.BoundaryStates(
                    right: try file.tensor("dC_right", as: T.self), bottom: try file.tensor("dC_bottom", as: T.self))
                : nil
            let forward =
                reference
                ? try PLSTM2D.reference(x, scale: T(scale)) : try PLSTM2D.chunked(x, scale: T(scale), chunkSize: 3)
            let g =
                reference
                ? try PLSTM2D.referenceBackward(x, scale: T(scale), outputGradient: dy, finalStateGradient: dC)
                : try PLSTM2D.backward(x, scale: T(scale), chunkSize: 3, outputGradient: dy, finalStateGradient: dC)
            return [
                ("y", forward.output), ("C_right", forward.finalState.right), ("C_bottom", forward.finalState.bottom),
            ]
                + plstm2DFields(g)
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
