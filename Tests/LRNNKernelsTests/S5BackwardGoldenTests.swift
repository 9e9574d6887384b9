import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("S5 backward golden cases")
struct S5BackwardGoldenTests {
    @Test(
        "s5_backward: chunked and reference, Float64 (1e-9) and Float32 (1e-4)",
        .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["s5_backward_zoh_conjsym", "s5_backward_bilinear_full"])
    func golden(_ name: String) throws {
        let f = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        let disc = try #require(SSMDiscretization(rawValue: f.metadata["discretization"] ?? ""))
        let keys = ["du", "dLambda_re", "dLambda_im", "dB_re", "dB_im", "dC_re", "dC_im", "dlog_step", "dD"]
        let expected = try keys.map { try f.tensor($0, as: Double.self) }
        func run<T: LRNNScalar>(_: T.Type) throws {
            let p = try S5Parameters(
                lambdaRe: f.tensor("Lambda_re", as: T.self), lambdaIm: f.tensor("Lambda_im", as: T.self),
                bRe: f.tensor("B_re", as: T.self), bIm: f.tensor("B_im", as: T.self), cRe: f.tensor("C_re", as: T.self),
                cIm: f.tensor("C_im", as: T.self), logStep: f.tensor("log_step", as: T.self),
                d: f.tensor("D", as: T.self), conjugateSymmetric: f.metadata["conj_sym"] == "true")
            let inputs = S5.Inputs(u: try f.tensor("u", as: T.self), parameters: p)
            let dy = try f.tensor("dy", as: T.self)
            let paths = [
                ("chunk", try S5.backward(inputs, discretization: disc, outputGradient: dy, finalStateGradient: nil)),
                (
                    "naive",
                    try S5.referenceBackward(
                        inputs, discretization: disc, outputGradient: dy, finalStateGradient: nil)
                ),
            ]
            for (path, g) in paths {
                let q = g.parameters
                #expect(g.initialState == nil)
                let computed = [g.u, q.lambdaRe, q.lambdaIm, q.bRe, q.bIm, q.cRe, q.cIm, q.logStep, q.d]
                for (key, (x, ref)) in zip(keys, zip(computed, expected)) {
                    let e = x.converted(to: Double.self).relativeError(to: ref)
                    #expect(e <= SSMGoldenTests.tolerance(T.self), "\(name) \(T.self) \(path) \(key): \(e)")
                }
            }
        }
        try run(Double.self)
        try run(Float.self)
    }
}
