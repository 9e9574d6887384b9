import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("S5 chunked GEMM path and recurrence")
struct SSMS5Tests {
    static func params(seed: UInt64, conj: Bool) throws -> S5Parameters<Double> {
        var r = SeededRandom(seed: seed)
        let (p, h) = (9, 5)
        return try S5Parameters(
            lambdaRe: r.tensor([p], -1...(-0.05)), lambdaIm: r.tensor([p], -5...5), bRe: r.tensor([p, h]),
            bIm: r.tensor([p, h]), cRe: r.tensor([h, p]), cIm: r.tensor([h, p]), logStep: r.tensor([p], -4...(-1)),
            d: r.tensor([h]), conjugateSymmetric: conj)
    }

    @Test("chunked run equals the naive reference for every chunk size", arguments: [1, 7, 64, 1000])
    func chunkedMatchesReference(_ chunk: Int) throws {
        var r = SeededRandom(seed: 1)
        for disc in SSMDiscretization.allCases {
            for conj in [false, true] {
                let p = try Self.params(seed: 3, conj: conj)
                let u: Tensor<Double> = r.normalTensor([3, 101, 5])
                let y = try S5.chunked(u, system: S5System(p, discretization: disc), chunkSize: chunk).output
                #expect(
                    relErr(y, try S5.reference(S5.Inputs(u: u, parameters: p), discretization: disc).output) <= 1e-10)
            }
        }
    }

    @Test("prefill + steps equals the whole sequence")
    func prefillThenStep() throws {
        var r = SeededRandom(seed: 2)
        let p = try Self.params(seed: 4, conj: true)
        let system = S5System(p, discretization: .zoh)
        let u: Tensor<Double> = r.normalTensor([2, 40, 5])
        let whole = try S5.chunked(u, system: system, chunkSize: 16).output
        var (_, state) = try S5.chunked(slice(u, tokens: 0..<25), system: system, chunkSize: 16)
        for s in 25..<40 {
            let y = try S5.step(token(u, s), system: system, state: &state)
            #expect(relErr(y, token(whole, s)) <= 1e-10)
        }
    }

    @Test("bad inputs are typed errors")
    func badInputs() throws {
        let p = try Self.params(seed: 1, conj: false)
        #expect(
            throws: KernelError.invalidArgument(name: "Lambda_re", reason: "every real part must be ≤ 0, found 0.5")
        ) {
            _ = try S5Parameters(
                lambdaRe: Tensor(shape: [9], repeating: 0.5), lambdaIm: p.lambdaIm, bRe: p.bRe, bIm: p.bIm, cRe: p.cRe,
                cIm: p.cIm, logStep: p.logStep, d: p.d, conjugateSymmetric: false)
        }
        #expect(throws: KernelError.shapeMismatch(tensor: "C_re", shape: [9, 5], expected: "[5, 9]")) {
            _ = try S5Parameters(
                lambdaRe: p.lambdaRe, lambdaIm: p.lambdaIm, bRe: p.bRe, bIm: p.bIm, cRe: p.bRe, cIm: p.cIm,
                logStep: p.logStep, d: p.d, conjugateSymmetric: false)
        }
        let system = S5System(p, discretization: .zoh)
        #expect(throws: KernelError.shapeMismatch(tensor: "u", shape: [1, 4, 3], expected: "[B, T, 5]")) {
            _ = try S5.chunked(Tensor<Double>(shape: [1, 4, 3], repeating: 0), system: system)
        }
        var state = system.zeroState(batch: 2)
        #expect(throws: KernelError.shapeMismatch(tensor: "state", shape: [2, 9], expected: "[1, 9]")) {
            _ = try S5.step(Tensor<Double>(shape: [1, 5], repeating: 0), system: system, state: &state)
        }
    }
}
