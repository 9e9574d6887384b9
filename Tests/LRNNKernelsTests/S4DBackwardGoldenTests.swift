import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("S4D backward golden cases")
struct S4DBackwardGoldenTests {
    @Test(
        "s4d_conv_backward: chunked and reference, Float64 (1e-9) and Float32 (1e-4)",
        .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["s4d_conv_backward_zoh", "s4d_conv_backward_bilinear"])
    func golden(_ name: String) throws {
        let f = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        let disc = try #require(SSMDiscretization(rawValue: f.metadata["discretization"] ?? ""))
        let keys = ["du", "dlog_dt", "dA_re", "dA_im", "dB_re", "dB_im", "dC_re", "dC_im", "dD"]
        let expected = try keys.map { try f.tensor($0, as: Double.self) }
        func run<T: LRNNScalar>(_: T.Type) throws {
            let inputs = S4D.Inputs(u: try f.tensor("u", as: T.self), parameters: try SSMGoldenTests.s4d(f, T.self))
            let dy = try f.tensor("dy", as: T.self)
            let paths = [
                ("chunk", try S4D.backward(inputs, discretization: disc, outputGradient: dy, finalStateGradient: nil)),
                (
                    "naive",
                    try S4D.referenceBackward(
                        inputs, discretization: disc, outputGradient: dy, finalStateGradient: nil)
                ),
            ]
            for (path, g) in paths {
                let q = g.parameters
                #expect(g.initialState == nil)
                for (key, (x, ref)) in zip(
                    keys, zip([g.u, q.logDt, q.aRe, q.aIm, q.bRe, q.bIm, q.cRe, q.cIm, q.d], expected))
                {
                    let e = x.converted(to: Double.self).relativeError(to: ref)
                    #expect(e <= SSMGoldenTests.tolerance(T.self), "\(name) \(T.self) \(path) \(key): \(e)")
                }
            }
        }
        try run(Double.self)
        try run(Float.self)
    }
}
