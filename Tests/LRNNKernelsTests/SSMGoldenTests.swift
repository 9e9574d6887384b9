import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("SSM golden cases")
struct SSMGoldenTests {
    static func s4d<T: LRNNScalar>(_ f: SafeTensorsFile, _: T.Type) throws -> S4DParameters<T> {
        let d: Tensor<T> =
            f.contains("D") ? try f.tensor("D", as: T.self) : Tensor(shape: [try f.info("log_dt").count], repeating: 0)
        return try S4DParameters(
            logDt: f.tensor("log_dt", as: T.self), aRe: f.tensor("A_re", as: T.self), aIm: f.tensor("A_im", as: T.self),
            bRe: f.tensor("B_re", as: T.self), bIm: f.tensor("B_im", as: T.self), cRe: f.tensor("C_re", as: T.self),
            cIm: f.tensor("C_im", as: T.self), d: d)
    }

    static func tolerance<T: LRNNScalar>(_: T.Type) -> Double { T.self == Double.self ? 1e-9 : 1e-4 }

    @Test(
        "s4d_kernel", .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["s4d_kernel_zoh", "s4d_kernel_bilinear"])
    func kernel(_ name: String) throws {
        let f = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        let disc = try #require(SSMDiscretization(rawValue: f.metadata["discretization"] ?? ""))
        let l = Int(try #require(f.metadataNumber("L")))
        let ref = try f.tensor("K", as: Double.self)
        let k64 = try S4D.kernel(Self.s4d(f, Double.self), length: l, discretization: disc)
        #expect(k64.relativeError(to: ref) <= 1e-9)
        let k32 = try S4D.kernel(Self.s4d(f, Float.self), length: l, discretization: disc)
        #expect(k32.converted(to: Double.self).relativeError(to: ref) <= 1e-4)
    }

    @Test(
        "s4d_conv (chunked and recurrent)", .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["s4d_conv_zoh", "s4d_conv_long"])
    func conv(_ name: String) throws {
        let f = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        let disc = try #require(SSMDiscretization(rawValue: f.metadata["discretization"] ?? ""))
        let ref = try f.tensor("y", as: Double.self)
        func run<T: LRNNScalar>(_: T.Type) throws {
            let p = try Self.s4d(f, T.self)
            let u = try f.tensor("u", as: T.self)
            let chunk = try S4D.chunked(u, parameters: p, discretization: disc).output
            #expect(chunk.converted(to: Double.self).relativeError(to: ref) <= Self.tolerance(T.self))
            let rec = try S4D.recurrent(S4D.Inputs(u: u, parameters: p), discretization: disc).output
            #expect(rec.converted(to: Double.self).relativeError(to: ref) <= Self.tolerance(T.self))
        }
        try run(Double.self)
        try run(Float.self)
    }

    @Test(
        "s5 (chunked and step)", .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: ["s5_zoh", "s5_bilinear_full"])
    func s5(_ name: String) throws {
        let f = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
        let disc = try #require(SSMDiscretization(rawValue: f.metadata["discretization"] ?? ""))
        let ref = try f.tensor("y", as: Double.self)
        func run<T: LRNNScalar>(_: T.Type) throws {
            let p = try S5Parameters(
                lambdaRe: f.tensor("Lambda_re", as: T.self), lambdaIm: f.tensor("Lambda_im", as: T.self),
                bRe: f.tensor("B_re", as: T.self), bIm: f.tensor("B_im", as: T.self), cRe: f.tensor("C_re", as: T.self),
                cIm: f.tensor("C_im", as: T.self), logStep: f.tensor("log_step", as: T.self),
                d: f.tensor("D", as: T.self),
                conjugateSymmetric: f.metadataBool("conj_sym") ?? false)
            let u = try f.tensor("u", as: T.self)
            let system = S5System(p, discretization: disc)
            let y = try S5.chunked(u, system: system, chunkSize: 64).output
            #expect(y.converted(to: Double.self).relativeError(to: ref) <= Self.tolerance(T.self))
            let naive = try S5.reference(S5.Inputs(u: u, parameters: p), discretization: disc).output
            #expect(naive.converted(to: Double.self).relativeError(to: ref) <= Self.tolerance(T.self))
        }
        try run(Double.self)
        try run(Float.self)
    }
}
