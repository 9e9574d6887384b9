import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// The `pararnn_gru` and `pararnn_lstm` golden cases: outputs and every gradient, on the Newton path
/// (chunked forward and backward) and the reference, Float64 within 1e-9 and Float32 within 1e-4.
@Suite("ParaRNN golden cases")
struct ParaRNNGoldenTests {
    @Test(
        .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["pararnn_gru_init", "pararnn_gru_strong", "pararnn_gru_strong_h0"])
    func gru(name: String) throws {
        let file = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        #expect(file.metadata["op"] == "pararnn_gru")
        func expected(_ key: String) throws -> Tensor<Double> { try file.tensor(key, as: Double.self) }
        func check<T: LRNNScalar>(_: T.Type, newton: Bool, bound: Double) throws {
            let x = ParaGRU.Inputs<T>(
                x: try file.tensor("x", as: T.self), A: try file.tensor("A", as: T.self),
                B: try file.tensor("B", as: T.self), b: try file.tensor("b", as: T.self),
                initialState: file.contains("h0") ? try file.tensor("h0", as: T.self) : nil)
            let dh = try file.tensor("dh", as: T.self)
            let label = "\(name) \(T.precisionName) \(newton ? "newton" : "reference")"
            let h: Tensor<T>
            let g: ParaGRU.Inputs<T>
            if newton {
                let r = try ParaGRU.chunked(x, chunkSize: 16)
                #expect(r.newton.converged, "\(label): \(r.newton)")
                h = r.output
                g = try ParaGRU.backward(x, chunkSize: 16, outputGradient: dh, finalStateGradient: nil)
            } else {
                h = try ParaGRU.reference(x).output
                g = try ParaGRU.referenceBackward(x, outputGradient: dh, finalStateGradient: nil)
            }
            var errors = [
                ("h", paraRNNError(h, try expected("h"))), ("dx", paraRNNError(g.x, try expected("dx"))),
                ("dA", paraRNNError(g.A, try expected("dA"))), ("dB", paraRNNError(g.B, try expected("dB"))),
                ("db", paraRNNError(g.b, try expected("db"))),
            ]
            if file.contains("dh0") {
                errors.append(("dh0", paraRNNError(try #require(g.initialState), try expected("dh0"))))
            }
            for (tensor, e) in errors { #expect(e <= bound, "\(label) \(tensor): \(e)") }
        }
        for newton in [true, false] {
            try check(Double.self, newton: newton, bound: 1e-9)
            try check(Float.self, newton: newton, bound: 1e-4)
        }
    }

    @Test(
        .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["pararnn_lstm_init", "pararnn_lstm_strong", "pararnn_lstm_strong_h0"])
    func lstm(name: String) throws {
        let file = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        #expect(file.metadata["op"] == "pararnn_lstm")
        func expected(_ key: String) throws -> Tensor<Double> { try file.tensor(key, as: Double.self) }
        func check<T: LRNNScalar>(_: T.Type, newton: Bool, bound: Double) throws {
            let x = ParaLSTM.Inputs<T>(
                x: try file.tensor("x", as: T.self), A: try file.tensor("A", as: T.self),
                B: try file.tensor("B", as: T.self), C: try file.tensor("C", as: T.self),
                b: try file.tensor("b", as: T.self),
                initialState: file.contains("h0")
                    ? ParaLSTM.State(c: try file.tensor("c0", as: T.self), h: try file.tensor("h0", as: T.self)) : nil)
            let dh = try file.tensor("dh", as: T.self)
            let label = "\(name) \(T.precisionName) \(newton ? "newton" : "reference")"
            let (h, c): (Tensor<T>, Tensor<T>)
            let g: ParaLSTM.Inputs<T>
            if newton {
                let r = try ParaLSTM.chunked(x, chunkSize: 16)
                #expect(r.newton.converged, "\(label): \(r.newton)")
                (h, c) = (r.output, r.cell)
                g = try ParaLSTM.backward(x, chunkSize: 16, outputGradient: dh, finalStateGradient: nil)
            } else {
                let r = try ParaLSTM.reference(x)
                (h, c) = (r.output, r.cell)
                g = try ParaLSTM.referenceBackward(x, outputGradient: dh, finalStateGradient: nil)
            }
            var errors = [
                ("h", paraRNNError(h, try expected("h"))), ("c", paraRNNError(c, try expected("c"))),
                ("dx", paraRNNError(g.x, try expected("dx"))), ("dA", paraRNNError(g.A, try expected("dA"))),
                ("dB", paraRNNError(g.B, try expected("dB"))), ("dC", paraRNNError(g.C, try expected("dC"))),
                ("db", paraRNNError(g.b, try expected("db"))),
            ]
            if file.contains("dh0") {
                let d0 = try #require(g.initialState)
                errors.append(("dc0", paraRNNError(d0.c, try expected("dc0"))))
                errors.append(("dh0", paraRNNError(d0.h, try expected("dh0"))))
            }
            for (tensor, e) in errors { #expect(e <= bound, "\(label) \(tensor): \(e)") }
        }
        for newton in [true, false] {
            try check(Double.self, newton: newton, bound: 1e-9)
            try check(Float.self, newton: newton, bound: 1e-4)
        }
    }
}
