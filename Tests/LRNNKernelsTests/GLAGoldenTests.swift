import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("GLA golden cases")
struct GLAGoldenTests {
    /// The chunked kernel reproduces `o` and `ht` in Float64 (≤ 1e-9) and Float32 (≤ 1e-5, the
    /// golden tolerance being 1e-4); the reference loop agrees in Float64.
    @Test(
        .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["gla_basic", "gla_h0_varlen", "gla_strong_decay"])
    func goldenCase(name: String) throws {
        let file = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        #expect(file.metadata["op"] == "gla")
        let oRef = try file.tensor("o", as: Double.self)
        let htRef = try file.tensor("ht", as: Double.self)
        let cu = file.contains("cu_seqlens") ? try file.integerTensor("cu_seqlens").scalars : nil
        let scale = try #require(file.metadataNumber("scale"))

        func run<T: LRNNScalar>(_: T.Type, reference: Bool) throws -> (Double, Double) {
            let q = try file.tensor("q", as: T.self)
            let k = try file.tensor("k", as: T.self)
            let v = try file.tensor("v", as: T.self)
            let gk = try file.tensor("gk", as: T.self)
            let h0 = file.contains("h0") ? try file.tensor("h0", as: T.self) : nil
            let r =
                reference
                ? try GLA.reference(q: q, k: k, v: v, gk: gk, scale: T(scale), initialState: h0, cuSeqlens: cu)
                : try GLA.chunked(q: q, k: k, v: v, gk: gk, scale: T(scale), initialState: h0, cuSeqlens: cu)
            return (
                r.output.converted(to: Double.self).relativeError(to: oRef),
                r.finalState.converted(to: Double.self).relativeError(to: htRef)
            )
        }
        let (o64, ht64) = try run(Double.self, reference: false)
        #expect(o64 <= 1e-9 && ht64 <= 1e-9)
        let (o32, ht32) = try run(Float.self, reference: false)
        #expect(o32 <= 1e-5 && ht32 <= 1e-5)
        let (oRef64, htRef64) = try run(Double.self, reference: true)
        #expect(oRef64 <= 1e-9 && htRef64 <= 1e-9)
    }
}
