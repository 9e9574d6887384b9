import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("GLA backward golden cases")
struct GLABackwardGoldenTests {
    /// Both backward paths reproduce dq, dk, dv, dgk (and dh0) of the `gla_backward` cases: Float64
    /// within 1e-9, Float32 within 1e-5 (the golden tolerance being 1e-4).
    @Test(
        .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["gla_backward_basic", "gla_backward_strong_varlen"])
    func goldenCase(name: String) throws {
        let file = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        #expect(file.metadata["op"] == "gla_backward")
        let scale = try #require(file.metadataNumber("scale"))
        let sequences =
            try file.contains("cu_seqlens") ? SequenceBoundaries(file.integerTensor("cu_seqlens").scalars) : nil
        let expected = GLA.Inputs(
            q: try file.tensor("dq", as: Double.self), k: try file.tensor("dk", as: Double.self),
            v: try file.tensor("dv", as: Double.self), gk: try file.tensor("dgk", as: Double.self),
            initialState: file.contains("dh0") ? try file.tensor("dh0", as: Double.self) : nil)

        func gradients<T: LRNNScalar>(_: T.Type, reference: Bool) throws -> GLA.Inputs<T> {
            let x = GLA.Inputs(
                q: try file.tensor("q", as: T.self), k: try file.tensor("k", as: T.self),
                v: try file.tensor("v", as: T.self), gk: try file.tensor("gk", as: T.self),
                initialState: file.contains("h0") ? try file.tensor("h0", as: T.self) : nil)
            let dO = try file.tensor("do", as: T.self)
            let dht = file.contains("dht") ? try file.tensor("dht", as: T.self) : nil
            return reference
                ? try GLA.referenceBackward(
                    x, scale: T(scale), sequences: sequences, outputGradient: dO, finalStateGradient: dht)
                : try GLA.backward(
                    x, scale: T(scale), sequences: sequences, outputGradient: dO, finalStateGradient: dht)
        }
        for reference in [false, true] {
            let path = reference ? "reference" : "chunk"
            let e64 = glaGradientError(try gradients(Double.self, reference: reference), expected)
            #expect(e64 <= 1e-9, "\(name) \(path) Float64: \(e64)")
            let e32 = glaGradientError(try gradients(Float.self, reference: reference), expected)
            #expect(e32 <= 1e-5, "\(name) \(path) Float32: \(e32)")
        }
    }
}
