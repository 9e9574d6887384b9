import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("HiPPO matrices")
struct HiPPOTests {
    @Test(
        "golden matrices in both precisions", .enabled(if: Golden.isAvailable, Golden.skipMessage),
        arguments: HiPPOMeasure.allCases)
    func golden(_ measure: HiPPOMeasure) throws {
        let f = try SafeTensorsFile(path: Golden.path("hippo_\(measure.rawValue)_16.safetensors"))
        let refA = try f.tensor("A", as: Double.self)
        let refB = try f.tensor("B", as: Double.self)
        let (a, b) = try HiPPO.transition(measure, n: 16, as: Double.self)
        #expect(a.relativeError(to: refA) <= 1e-9 && b.relativeError(to: refB.reshaped([16])) <= 1e-9)
        let (a32, b32) = try HiPPO.transition(measure, n: 16, as: Float.self)
        #expect(a32.converted(to: Double.self).relativeError(to: refA) <= 1e-4)
        #expect(b32.converted(to: Double.self).relativeError(to: refB.reshaped([16])) <= 1e-4)
    }

    @Test("LegS normal part is −½I + skew and its eigenvalues have real part −½")
    func legsNormal() throws {
        for n in [2, 9, 32] {
            let (a, _) = try HiPPO.transition(.legs, n: n, as: Double.self)
            let p = HiPPO.legsLowRank(n: n)
            let normal = HiPPO.legsNormalPart(n: n)
            for i in 0..<n {
                for k in 0..<n {
                    #expect(Swift.abs(a.scalars[i * n + k] + p[i] * p[k] - normal.scalars[i * n + k]) <= 1e-12)
                    // S = N + ½I is skew-symmetric.
                    let s = normal.scalars[i * n + k] + (i == k ? 0.5 : 0)
                    let st = normal.scalars[k * n + i] + (i == k ? 0.5 : 0)
                    #expect(Swift.abs(s + st) <= 1e-12)
                }
            }
            let (values, v, _) = try HiPPO.legsDiagonalization(n: n)
            for l in values { #expect(Swift.abs(l.real + 0.5) <= 1e-12) }
            // LAPACK's general eigensolver agrees on the real parts too.
            for l in try LAPACK.eigen(normal, right: false).values { #expect(Swift.abs(l.real + 0.5) <= 1e-12) }
            // N·V = V·Λ.
            var worst = 0.0
            for i in 0..<n {
                for j in 0..<n {
                    var acc = Complex<Double>.zero
                    for k in 0..<n { acc = acc + v.scalars[k * n + j].multiplied(by: normal.scalars[i * n + k]) }
                    worst = Swift.max(worst, (acc - v.scalars[i * n + j] * values[j]).length)
                }
            }
            #expect(worst <= 1e-12 * Double(n))
        }
    }

    @Test("bad sizes are typed errors")
    func badSizes() {
        #expect(throws: KernelError.invalidArgument(name: "N", reason: "must be ≥ 1, got 0")) {
            _ = try HiPPO.transition(.legs, n: 0, as: Double.self)
        }
        #expect(throws: KernelError.invalidArgument(name: "N", reason: "fout needs an even N, got 7")) {
            _ = try HiPPO.transition(.fout, n: 7, as: Double.self)
        }
    }
}
