import ComplexModule
import Foundation
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import RealModule
import Testing

/// Independent Float64 evaluations of the discretised formulas with the limits taken by hand:
/// powers of the pole by repeated multiplication (so 0⁰ = 1 and 0^l = 0 need no special case),
/// `(e^z − 1)/z` by its Taylor series for |z| ≤ ½ and otherwise by the real form
/// `Re(e^z − 1) = expm1(x)·cos y − 2·sin²(y/2)`, `Im = e^x·sin y` (no cancellation for x ≤ 0).
enum SingularReference {
    /// `(e^z − 1)/z` for `Re z ≤ 0`.
    static func phi(_ z: Complex<Double>) -> Complex<Double> {
        precondition(z.real <= 0, "SingularReference.phi: Re z = \(z.real) > 0")
        if z.length <= 0.5 {
            var term = Complex<Double>.one
            var sum = Complex<Double>.one
            for k in 2...30 {
                term = (term * z).divided(by: Double(k))
                sum = sum + term
            }
            return sum
        }
        let (x, y) = (z.real, z.imaginary)
        let s = Foundation.sin(y / 2)
        let num = Complex(Foundation.expm1(x) * Foundation.cos(y) - 2 * s * s, Foundation.exp(x) * Foundation.sin(y))
        return num / z
    }

    /// `(dA, dB/b)` of one mode by the published formulas.
    static func discretize(
        _ a: Complex<Double>, dt: Double, _ disc: SSMDiscretization
    ) -> (pole: Complex<Double>, scale: Complex<Double>) {
        switch disc {
        case .zoh:
            let z = Complex(a.real * dt, a.imaginary * dt)
            let m = Foundation.exp(z.real)
            return (
                Complex(m * Foundation.cos(z.imaginary), m * Foundation.sin(z.imaginary)), phi(z).multiplied(by: dt)
            )
        case .bilinear:
            let h = Complex(a.real * (dt / 2), a.imaginary * (dt / 2))
            let den = Complex<Double>.one - h
            return ((Complex<Double>.one + h) / den, Complex(dt) / den)
        }
    }

    /// The discretised modes `(pole, dB, C)` of channel h of S4D parameters (values read back in Float64).
    static func modes<T: LRNNScalar>(
        _ p: S4DParameters<T>, channel h: Int, _ disc: SSMDiscretization
    ) -> [(pole: Complex<Double>, db: Complex<Double>, c: Complex<Double>)] {
        let dt = Foundation.exp(Double(p.logDt.scalars[h]))
        return (0..<p.modes).map { n in
            let i = h * p.modes + n
            let a = Complex(Double(p.aRe.scalars[i]), Double(p.aIm.scalars[i]))
            let b = Complex(Double(p.bRe.scalars[i]), Double(p.bIm.scalars[i]))
            let c = Complex(Double(p.cRe.scalars[i]), Double(p.cIm.scalars[i]))
            let (pole, scale) = discretize(a, dt: dt, disc)
            return (pole, scale * b, c)
        }
    }

    /// `K [H, L]` with powers by repeated multiplication.
    static func kernel<T: LRNNScalar>(_ p: S4DParameters<T>, length l: Int, _ disc: SSMDiscretization) -> [Double] {
        var k = [Double](repeating: 0, count: p.channels * l)
        for h in 0..<p.channels {
            for m in modes(p, channel: h, disc) {
                var z = m.c * m.db
                for s in 0..<l {
                    k[h * l + s] += 2 * z.real
                    z = z * m.pole
                }
            }
        }
        return k
    }

    /// The S4D layer as a Float64 complex recurrence: `y [B, T, H]` and the final state `[B, H, N2]`.
    static func run<T: LRNNScalar>(
        _ u: Tensor<T>, _ p: S4DParameters<T>, _ disc: SSMDiscretization, initial: [Complex<Double>]? = nil
    ) -> (y: [Double], state: [Complex<Double>]) {
        let (bsz, t, h, n2) = (u.shape[0], u.shape[1], u.shape[2], p.modes)
        var y = [Double](repeating: 0, count: u.count)
        var state = initial ?? [Complex<Double>](repeating: .zero, count: bsz * h * n2)
        for ch in 0..<h {
            let ms = modes(p, channel: ch, disc)
            let d = Double(p.d.scalars[ch])
            for b in 0..<bsz {
                for s in 0..<t {
                    let x = Double(u.scalars[(b * t + s) * h + ch])
                    var acc = d * x
                    for (n, m) in ms.enumerated() {
                        let i = (b * h + ch) * n2 + n
                        state[i] = m.pole * state[i] + m.db.multiplied(by: x)
                        acc += 2 * (m.c * state[i]).real
                    }
                    y[(b * t + s) * h + ch] = acc
                }
            }
        }
        return (y, state)
    }

    /// `max|x − ref| / max|ref|` (∞ when x has a non-finite entry).
    static func error(_ x: [Double], _ ref: [Double]) -> Double {
        precondition(x.count == ref.count, "SingularReference.error: \(x.count) vs \(ref.count)")
        if !x.allSatisfy(\.isFinite) { return .infinity }
        var num = 0.0
        var den = 0.0
        for (a, b) in zip(x, ref) {
            num = Swift.max(num, Swift.abs(a - b))
            den = Swift.max(den, Swift.abs(b))
        }
        return den > 0 ? num / den : num
    }

    /// The same measure over complex values (by modulus).
    static func error(_ x: [Complex<Double>], _ ref: [Complex<Double>]) -> Double {
        precondition(x.count == ref.count, "SingularReference.error: \(x.count) vs \(ref.count)")
        if !x.allSatisfy(\.isFinite) { return .infinity }
        var num = 0.0
        var den = 0.0
        for (a, b) in zip(x, ref) {
            num = Swift.max(num, (a - b).length)
            den = Swift.max(den, b.length)
        }
        return den > 0 ? num / den : num
    }
}

/// S4D parameters from explicit values (one list entry per channel, one inner entry per mode), rounded to T.
func s4dFixed<T: LRNNScalar>(
    logDt: [Double], a: [[Complex<Double>]], seed: UInt64, as: T.Type = T.self
) throws -> S4DParameters<T> {
    var r = SeededRandom(seed: seed)
    let (h, n2) = (logDt.count, a[0].count)
    let s = [h, n2]
    let flat = a.flatMap { $0 }
    return try S4DParameters(
        logDt: Tensor(shape: [h], scalars: logDt.map { T($0) }),
        aRe: Tensor(shape: s, scalars: flat.map { T($0.real) }),
        aIm: Tensor(shape: s, scalars: flat.map { T($0.imaginary) }), bRe: r.tensor(s), bIm: r.tensor(s),
        cRe: r.tensor(s), cIm: r.tensor(s), d: r.tensor([h]))
}

/// A real A next to −2/Δ (Δ = e^logDt as the engine computes it) for which the Float64 product
/// `A·(Δ/2)` rounds to exactly −1, so that the bilinear pole `1 + A·Δ/2` is exactly 0; nil when no
/// neighbour within 4 ulps has that property.
func exactBilinearZero(logDt: Double) -> Double? {
    let dt = Double.exp(logDt)
    var a = -2 / dt
    for _ in 0..<4 { a = a.nextDown }
    for _ in 0..<9 {
        if a * (dt / 2) == -1 { return a }
        a = a.nextUp
    }
    return nil
}

/// A value `k` ulps (of T) away from x.
func ulps<T: BinaryFloatingPoint>(_ x: T, _ k: Int) -> T {
    var y = x
    if k > 0 { for _ in 0..<k { y = y.nextUp } } else { for _ in 0..<(-k) { y = y.nextDown } }
    return y
}

@Suite("SSM removable singularities (bilinear pole 0, (e^z − 1)/z at 0, PTD zero residues)")
struct SSMSingularityTests {
    /// The chunked convolution and its final state at each chunk size against the independent
    /// Float64 recurrence (≤ 1e-10), and the Float32 run against the recurrence of its own
    /// rounded inputs (≤ 1e-4).
    static func expectConvolution(
        _ u: Tensor<Double>, _ p: S4DParameters<Double>, _ disc: SSMDiscretization, chunks: [Int]
    ) throws {
        let want = SingularReference.run(u, p, disc)
        for chunk in chunks {
            let (y, st) = try S4D.chunked(u, parameters: p, discretization: disc, chunkSize: chunk)
            #expect(SingularReference.error(y.scalars, want.y) <= 1e-10, "\(disc) chunk \(chunk)")
            #expect(SingularReference.error(st.scalars, want.state) <= 1e-10, "\(disc) chunk \(chunk) state")
        }
        let p32 = p.converted(to: Float.self)
        let u32 = u.converted(to: Float.self)
        let y32 = try S4D.chunked(u32, parameters: p32, discretization: disc).output
        let e32 = SingularReference.error(
            y32.converted(to: Double.self).scalars, SingularReference.run(u32, p32, disc).y)
        #expect(e32 <= 1e-4, "\(disc) Float32 error \(e32)")
    }

    static var regressionPath: String {
        Golden.directory.deletingLastPathComponent().appendingPathComponent("regressions")
            .appendingPathComponent("s4d_kernel_bilinear_zero_pole_min.safetensors").path
    }
    static var regressionAvailable: Bool { FileManager.default.fileExists(atPath: regressionPath) }

    @Test(
        "regression input s4d_kernel_bilinear_zero_pole_min: K = [2·Re(C·dB), 0, 0] in Float64 and Float32",
        .enabled(
            if: regressionAvailable,
            "regression input s4d_kernel_bilinear_zero_pole_min not found beside the golden directory"))
    func regressionFile() throws {
        let f = try SafeTensorsFile(path: Self.regressionPath)
        let disc = try #require(SSMDiscretization(rawValue: f.metadata["discretization"] ?? ""))
        let l = Int(try #require(f.metadataNumber("L")))
        let ref = try f.tensor("K", as: Double.self)
        let k64 = try S4D.kernel(SSMGoldenTests.s4d(f, Double.self), length: l, discretization: disc)
        #expect(k64.allFinite)
        let e64 = k64.relativeError(to: ref)
        #expect(e64 <= 1e-9, "Float64 error \(e64)")
        // Beyond l = 0 the kernel is exactly zero (0^l = 0), at l = 0 it is 2·Re(C·dB) (0⁰ = 1).
        #expect(k64.scalars.dropFirst().allSatisfy { $0 == 0 })
        let k32 = try S4D.kernel(SSMGoldenTests.s4d(f, Float.self), length: l, discretization: disc)
        #expect(k32.allFinite)
        let e32 = k32.converted(to: Double.self).relativeError(to: ref)
        #expect(e32 <= 1e-4, "Float32 error \(e32)")
        // The reference K[0] is 2·Re(C·dB) by the formulas (independently of the stored value).
        let p = try SSMGoldenTests.s4d(f, Double.self)
        #expect(SingularReference.error(ref.scalars, SingularReference.kernel(p, length: l, disc)) <= 1e-14)
    }

    @Test(
        "bilinear pole exactly 0 (A·Δ/2 = −1 in Float64) for several Δ: kernel and reference agree",
        arguments: [0.0, -0.3, -1.7, -3.2, -4.6, -6.9, 0.9, 2.3])
    func exactZeroPoleKernel(_ logDt: Double) throws {
        let a = try #require(exactBilinearZero(logDt: logDt), "no exact zero pole next to −2/Δ for log Δ = \(logDt)")
        try #require(SSMDiscretization.bilinear.discretize(Complex(a, 0), step: Double.exp(logDt)).pole == .zero)
        // Channel 0: the zero pole alone; channel 1: the zero pole beside ordinary modes.
        let p = try s4dFixed(
            logDt: [logDt, logDt], a: [[Complex(a, 0), Complex(a, 0)], [Complex(a, 0), Complex(-0.4, 3)]], seed: 7,
            as: Double.self)
        for l in [1, 2, 3, 17, 100] {
            let k = try S4D.kernel(p, length: l, discretization: .bilinear)
            let ref = SingularReference.kernel(p, length: l, .bilinear)
            let e = SingularReference.error(k.scalars, ref)
            #expect(e <= 1e-12, "L = \(l): error \(e)")
            #expect(k.scalars[1..<l].allSatisfy { $0 == 0 }, "channel 0: 0^l = 0 for l ≥ 1")
            let kr = try S4D.kernelReference(p, length: l, discretization: .bilinear)
            #expect(SingularReference.error(kr.scalars, ref) <= 1e-12)
        }
    }

    @Test("bilinear pole exactly 0 in Float32 (A = −2, Δ = 1) and within a few ulps of it")
    func nearZeroPoleFloat32() throws {
        for k in [0, 1, -1, 2, -3, 5, -8] {
            let a = ulps(Float(-2), k)
            for aIm: Float in [0, 1e-6, -3e-7] {
                let p = try s4dFixed(
                    logDt: [0, -0.5],
                    a: [
                        [Complex(Double(a), Double(aIm)), Complex(-0.3, 2)],
                        [
                            Complex(Double(a), Double(aIm)),
                            Complex(Double(ulps(Float(-2 / Foundation.exp(-0.5)), k)), 0),
                        ],
                    ],
                    seed: 9, as: Float.self)
                for l in [3, 40] {
                    let k32 = try S4D.kernel(p, length: l, discretization: .bilinear)
                    #expect(k32.allFinite)
                    let ref = SingularReference.kernel(p, length: l, .bilinear)
                    let e = SingularReference.error(k32.converted(to: Double.self).scalars, ref)
                    #expect(e <= 1e-4, "A = −2 \(k > 0 ? "+" : "")\(k) ulp, Im A = \(aIm), L = \(l): error \(e)")
                }
            }
        }
    }

    @Test("bilinear pole within a few ulps of 0 in Float64 (A·Δ = −2 ± k ulps)")
    func nearZeroPoleFloat64() throws {
        for logDt in [0.0, -2.1, 1.3] {
            let dt = Double.exp(logDt)
            for k in [-6, -2, -1, 1, 3, 7] {
                let a = ulps(-2 / dt, k)
                let p = try s4dFixed(
                    logDt: [logDt], a: [[Complex(a, 0), Complex(a, 1e-9), Complex(-0.2, 1.5)]], seed: 11,
                    as: Double.self)
                for l in [4, 65] {
                    let kern = try S4D.kernel(p, length: l, discretization: .bilinear)
                    let e = SingularReference.error(kern.scalars, SingularReference.kernel(p, length: l, .bilinear))
                    #expect(e <= 1e-12, "log Δ = \(logDt), \(k) ulp, L = \(l): error \(e)")
                }
            }
        }
    }

    @Test(
        "chunked convolution and final state at and near the bilinear pole equal a Float64 recurrence",
        arguments: [1, 3, 16, 64])
    func convolutionAtZeroPole(_ chunk: Int) throws {
        var r = SeededRandom(seed: 31)
        let near = ulps(-2 / Double.exp(-1.2), 3)
        let a0 = try #require(exactBilinearZero(logDt: -0.7))
        let a: [[Complex<Double>]] = [
            [Complex(-2, 0), Complex(-2, 0), Complex(-0.5, 4)],  // Δ = 1: exact zero pole
            [Complex(near, 0), Complex(near, 1e-8), Complex(-1, 0.5)],  // a few ulps away
            [Complex(a0, 0), Complex(-0.05, 20), Complex(a0, 0)],  // exact zero at another Δ
        ]
        let p = try s4dFixed(logDt: [0, -1.2, -0.7], a: a, seed: 32, as: Double.self)
        let u: Tensor<Double> = r.normalTensor([2, 50, 3])
        let (y, state) = try S4D.chunked(u, parameters: p, discretization: .bilinear, chunkSize: chunk)
        let ref = SingularReference.run(u, p, .bilinear)
        let ey = SingularReference.error(y.scalars, ref.y)
        #expect(ey <= 1e-10, "y error \(ey)")
        let es = SingularReference.error(state.scalars, ref.state)
        #expect(es <= 1e-10, "final state error \(es)")
        let rec = try S4D.recurrent(S4D.Inputs(u: u, parameters: p), discretization: .bilinear)
        #expect(relErr(y, rec.output) <= 1e-10)
        // With an initial state.
        var s0 = Tensor<Complex<Double>>(shape: [2, 3, 3], repeating: .zero)
        for i in s0.scalars.indices { s0.scalars[i] = Complex(r.normal(), r.normal()) }
        let (y2, st2) = try S4D.chunked(
            u, parameters: p, discretization: .bilinear, chunkSize: chunk, initialState: s0)
        let ref2 = SingularReference.run(u, p, .bilinear, initial: s0.scalars)
        #expect(SingularReference.error(y2.scalars, ref2.y) <= 1e-10)
        #expect(SingularReference.error(st2.scalars, ref2.state) <= 1e-10)
        // Float32: the same parameters rounded, against Float64 on the rounded values.
        let p32 = p.converted(to: Float.self)
        let u32 = u.converted(to: Float.self)
        let (y32, st32) = try S4D.chunked(u32, parameters: p32, discretization: .bilinear, chunkSize: chunk)
        let ref32 = SingularReference.run(u32, p32, .bilinear)
        let e32 = SingularReference.error(y32.converted(to: Double.self).scalars, ref32.y)
        #expect(e32 <= 1e-4, "Float32 y error \(e32)")
        let st32d = st32.scalars.map { Complex(Double($0.real), Double($0.imaginary)) }
        #expect(SingularReference.error(st32d, ref32.state) <= 1e-4)
    }

    @Test("zoh (e^z − 1)/z: exact at z = 0, accurate across the series switch, real and complex z")
    func zohInputScale() throws {
        for step in [1.0, 0.01, 3.5] {
            let d = SSMDiscretization.zoh.discretize(.zero, step: step)
            #expect(d.pole == .one)
            #expect(d.inputScale == Complex(step), "A = 0: dB/B must be Δ exactly")
        }
        var worst = 0.0
        let radii: [Double] = [
            Double.leastNonzeroMagnitude, 1e-300, 1e-20, 1e-12, 1e-8, 1e-5, 9.99e-4, 1e-3, 1.001e-3, 0.01, 0.3, 0.5,
            0.51, 2, 7,
        ]
        let angles: [Double] = [Double.pi, 0.99 * Double.pi, 0.75 * Double.pi, 0.5 * Double.pi + 1e-9, 0.5 * Double.pi]
        for rho in radii {
            for theta in angles {
                for sign in [1.0, -1.0] {
                    let z = Complex(rho * Foundation.cos(theta), sign * rho * Foundation.sin(theta))
                    let za = Complex(Swift.min(0, z.real), z.imaginary)
                    let got = SSMDiscretization.zoh.discretize(za, step: 1).inputScale
                    let e = (got - SingularReference.phi(za)).length / SingularReference.phi(za).length
                    worst = Swift.max(worst, e)
                    #expect(e <= 1e-14, "z = \(za): relative error \(e)")
                }
            }
        }
        // Tiny real part beside a large imaginary part (e^z ≈ 1 near z = 2πi).
        for z in [Complex(-1e-14, 2 * Double.pi), Complex(-1e-300, 6.0), Complex(-1e-9, 1e-9)] {
            let got = SSMDiscretization.zoh.discretize(z, step: 1).inputScale
            let e = (got - SingularReference.phi(z)).length / SingularReference.phi(z).length
            #expect(e <= 1e-14, "z = \(z): relative error \(e)")
        }
    }

    @Test("zoh with A → 0 (A_re = −tiny, small A_im): kernel and convolution in Float64 and Float32")
    func zohTinyA() throws {
        var r = SeededRandom(seed: 41)
        let a: [[Complex<Double>]] = [
            [Complex(-Double.leastNonzeroMagnitude, 0), Complex(-1e-300, 1e-300), Complex(-1e-12, 0)],
            [Complex(-1e-30, 1e-9), Complex(-2e-9, -3e-9), Complex(-0.5, 2)],
        ]
        let p = try s4dFixed(logDt: [-2, 0.5], a: a, seed: 42, as: Double.self)
        for l in [5, 70] {
            let k = try S4D.kernel(p, length: l, discretization: .zoh)
            let e = SingularReference.error(k.scalars, SingularReference.kernel(p, length: l, .zoh))
            #expect(e <= 1e-10, "Float64 kernel error \(e)")
            let p32 = p.converted(to: Float.self)
            let k32 = try S4D.kernel(p32, length: l, discretization: .zoh)
            let e32 = SingularReference.error(
                k32.converted(to: Double.self).scalars, SingularReference.kernel(p32, length: l, .zoh))
            #expect(e32 <= 1e-4, "Float32 kernel error \(e32)")
        }
        let u: Tensor<Double> = r.normalTensor([1, 40, 2])
        let (y, st) = try S4D.chunked(u, parameters: p, discretization: .zoh, chunkSize: 16)
        let ref = SingularReference.run(u, p, .zoh)
        #expect(SingularReference.error(y.scalars, ref.y) <= 1e-10)
        #expect(SingularReference.error(st.scalars, ref.state) <= 1e-10)
        let p32 = p.converted(to: Float.self)
        let u32 = u.converted(to: Float.self)
        let y32 = try S4D.chunked(u32, parameters: p32, discretization: .zoh, chunkSize: 16).output
        #expect(
            SingularReference.error(y32.converted(to: Double.self).scalars, SingularReference.run(u32, p32, .zoh).y)
                <= 1e-4)
    }

    @Test("A = 0 exactly (and Re A = 0 with small Im A): zoh dB = Δ·B, |dA| = 1; kernel, convolution, S5")
    func zeroEigenvalue() throws {
        var r = SeededRandom(seed: 61)
        let a: [[Complex<Double>]] = [
            [Complex(0, 0), Complex(0, 1e-9), Complex(-0.5, 1)],
            [Complex(0, 0), Complex(0, 0), Complex(0, -2e-6)],
        ]
        let p = try s4dFixed(logDt: [-1.5, 0.3], a: a, seed: 62, as: Double.self)
        for disc in SSMDiscretization.allCases {
            let l = 50
            let k = try S4D.kernel(p, length: l, discretization: disc)
            let ref = SingularReference.kernel(p, length: l, disc)
            let e = SingularReference.error(k.scalars, ref)
            #expect(e <= 1e-12, "\(disc): kernel error \(e)")
            let u: Tensor<Double> = r.normalTensor([2, 70, 2])
            try Self.expectConvolution(u, p, disc, chunks: [1, 16, 64])
        }
        // zoh at A = 0: dA = 1 and dB = Δ·B exactly, so K[l] = 2·Re(C·B)·Δ for every l.
        let single = try s4dFixed(logDt: [-0.8], a: [[Complex(0, 0)]], seed: 63, as: Double.self)
        let k = try S4D.kernel(single, length: 40, discretization: .zoh)
        let dt = Double.exp(-0.8)
        let cb =
            Complex(single.cRe.scalars[0], single.cIm.scalars[0])
            * Complex(single.bRe.scalars[0], single.bIm.scalars[0])
        for x in k.scalars { #expect(Swift.abs(x - 2 * cb.real * dt) <= 1e-15 * Swift.abs(2 * cb.real * dt)) }
        // S5 with Λ = 0 exactly beside ordinary states.
        let (ps, h) = (3, 2)
        let q = try S5Parameters(
            lambdaRe: Tensor(shape: [ps], scalars: [0, 0, -0.4]),
            lambdaIm: Tensor(shape: [ps], scalars: [0, 1e-12, 3]),
            bRe: r.tensor([ps, h]), bIm: r.tensor([ps, h]), cRe: r.tensor([h, ps]), cIm: r.tensor([h, ps]),
            logStep: Tensor(shape: [ps], scalars: [-1, 0.2, -2]), d: r.tensor([h]), conjugateSymmetric: true)
        let u: Tensor<Double> = r.normalTensor([1, 33, h])
        for disc in SSMDiscretization.allCases {
            let y = try S5.chunked(u, system: S5System(q, discretization: disc), chunkSize: 8).output
            let e = SingularReference.error(y.scalars, Self.s5Naive(u, q, disc))
            #expect(e <= 1e-10, "S5 \(disc): error \(e)")
        }
    }

    /// S5 parameters with states at the bilinear pole (or with Λ·step → 0), one ordinary state.
    static func s5Params<T: LRNNScalar>(_ disc: SSMDiscretization, conj: Bool, as: T.Type) throws -> S5Parameters<T> {
        var r = SeededRandom(seed: 51)
        let (p, h) = (5, 3)
        let lam: [Complex<Double>]
        let logStep: [Double]
        switch disc {
        case .bilinear:
            logStep = [0, 0, -0.7, -1.2, -1]
            lam = [
                Complex(-2, 0), Complex(Double(ulps(Float(-2), 2)), 0), Complex(exactBilinearZero(logDt: -0.7)!, 0),
                Complex(ulps(-2 / Double.exp(-1.2), -3), 1e-10), Complex(-0.3, 2),
            ]
        case .zoh:
            logStep = [-1, 0, -3, 0.5, -1]
            lam = [
                Complex(-Double.leastNonzeroMagnitude, 0), Complex(-1e-20, 1e-20), Complex(-1e-10, 3e-9),
                Complex(-1e-6, 0), Complex(-0.3, 2),
            ]
        }
        // Float32 keeps every real part < 0 (−5e-324 would round to −0).
        func re(_ x: Double) -> T { T(x) == 0 ? -T.leastNonzeroMagnitude : T(x) }
        return try S5Parameters(
            lambdaRe: Tensor(shape: [p], scalars: lam.map { re($0.real) }),
            lambdaIm: Tensor(shape: [p], scalars: lam.map { T($0.imaginary) }), bRe: r.tensor([p, h]),
            bIm: r.tensor([p, h]), cRe: r.tensor([h, p]), cIm: r.tensor([h, p]),
            logStep: Tensor(shape: [p], scalars: logStep.map { T($0) }), d: r.tensor([h]), conjugateSymmetric: conj)
    }

    /// The S5 layer as a Float64 recurrence on the parameters' values.
    static func s5Naive<T: LRNNScalar>(_ u: Tensor<T>, _ q: S5Parameters<T>, _ disc: SSMDiscretization) -> [Double] {
        let (bsz, t, h, p) = (u.shape[0], u.shape[1], u.shape[2], q.states)
        let f: Double = q.conjugateSymmetric ? 2 : 1
        var y = [Double](repeating: 0, count: u.count)
        let dm = (0..<p).map { i in
            SingularReference.discretize(
                Complex(Double(q.lambdaRe.scalars[i]), Double(q.lambdaIm.scalars[i])),
                dt: Foundation.exp(Double(q.logStep.scalars[i])), disc)
        }
        for b in 0..<bsz {
            var x = [Complex<Double>](repeating: .zero, count: p)
            for s in 0..<t {
                let row = (b * t + s) * h
                for i in 0..<p {
                    var acc = Complex<Double>.zero
                    for j in 0..<h {
                        acc =
                            acc
                            + Complex(Double(q.bRe.scalars[i * h + j]), Double(q.bIm.scalars[i * h + j]))
                            .multiplied(by: Double(u.scalars[row + j]))
                    }
                    x[i] = dm[i].pole * x[i] + dm[i].scale * acc
                }
                for j in 0..<h {
                    var re = 0.0
                    for i in 0..<p {
                        re += (Complex(Double(q.cRe.scalars[j * p + i]), Double(q.cIm.scalars[j * p + i])) * x[i]).real
                    }
                    y[row + j] = f * re + Double(q.d.scalars[j]) * Double(u.scalars[row + j])
                }
            }
        }
        return y
    }

    @Test("S5 with Λ·step at the bilinear pole and Λ·step → 0 under zoh", arguments: SSMDiscretization.allCases)
    func s5Singular(_ disc: SSMDiscretization) throws {
        var r = SeededRandom(seed: 52)
        for conj in [false, true] {
            let q = try Self.s5Params(disc, conj: conj, as: Double.self)
            let u: Tensor<Double> = r.normalTensor([2, 37, 3])
            let naive = Self.s5Naive(u, q, disc)
            for chunk in [1, 8, 256] {
                let y = try S5.chunked(u, system: S5System(q, discretization: disc), chunkSize: chunk).output
                let e = SingularReference.error(y.scalars, naive)
                #expect(e <= 1e-10, "\(disc), chunk \(chunk): error \(e)")
            }
            #expect(
                SingularReference.error(
                    try S5.reference(S5.Inputs(u: u, parameters: q), discretization: disc).output.scalars, naive)
                    <= 1e-10)
            let q32 = try Self.s5Params(disc, conj: conj, as: Float.self)
            let u32 = u.converted(to: Float.self)
            let y32 = try S5.chunked(u32, system: S5System(q32, discretization: disc), chunkSize: 8).output
            let e32 = SingularReference.error(y32.converted(to: Double.self).scalars, Self.s5Naive(u32, q32, disc))
            #expect(e32 <= 1e-4, "\(disc) Float32: error \(e32)")
        }
    }

    @Test("PTD diagonal transfer: a zero-residue mode at iω = λ is removable; a nonzero residue is a true pole")
    func ptdTransfer() throws {
        let lam = [Complex(0.0, 2.0), Complex(-1.0, 3.0), Complex(-0.5, 0.0), Complex(0.0, 0.0), Complex(0.0, -5.0)]
        let bt = [Complex(0.0, 0.0), Complex(1.0, 1.0), Complex(2.0, 0.0), Complex(0.7, -0.2), Complex(1.0, 0)]
        let ct = [Complex(1.5, -0.5), Complex(0.3, 0.2), Complex(-1.0, 0.0), Complex(0.0, 0.0), Complex(0.0, 0.0)]
        var eye = Tensor<Complex<Double>>(shape: [5, 5], repeating: .zero)
        for i in 0..<5 { eye.scalars[i * 5 + i] = .one }
        let d = PTDDecomposition(
            eigenvalues: lam, eigenvectors: eye, projectedB: bt, eigenvectorCondition: 1, perturbationRatio: 0,
            maxRealPart: 0, stabilized: false)
        func expected(_ w: Double) -> Complex<Double> {
            var g = Complex<Double>.zero
            for n in 0..<5 where ct[n] * bt[n] != .zero { g = g + ct[n] * bt[n] / (Complex(0, w) - lam[n]) }
            return g
        }
        // ω = 2, 0, −5 hit eigenvalues whose residue C̃·B̃ is 0 (B̃ = 0, C̃ = 0, both): the terms vanish.
        for w in [2.0, 0.0, -5.0, 2.0.nextUp, 2 - 1e-12, 1e-300, -1e-300, 7.0] {
            let g = d.transfer(projectedC: ct, omega: w)
            let e = (g - expected(w)).length / expected(w).length
            #expect(g.isFinite && e <= 1e-15, "ω = \(w): G = \(g), error \(e)")
        }
        // A nonzero residue on the imaginary axis: a true pole (not finite at ω = 2, ~ r/(iδ) next to it).
        let pole = PTDDecomposition(
            eigenvalues: [Complex(0, 2), Complex(-1, 0)],
            eigenvectors: Tensor(shape: [2, 2], scalars: [.one, .zero, .zero, .one]),
            projectedB: [Complex(1, 0), Complex(1, 0)], eigenvectorCondition: 1, perturbationRatio: 0, maxRealPart: 0,
            stabilized: false)
        #expect(!pole.transfer(projectedC: [.one, .one], omega: 2).isFinite)
        for delta in [1e-9, -1e-12, 1e-6] {
            let w = 2 + delta
            let want = Complex<Double>.one / Complex(0, w - 2) + Complex<Double>.one / Complex(1, w)
            let g = pole.transfer(projectedC: [.one, .one], omega: w)
            #expect((g - want).length <= 1e-14 * want.length, "ω = 2 + \(delta)")
        }
        // The resolvent (iωI − A)⁻¹B of a matrix with eigenvalues ±2i: a true pole at ω = 2 (typed error),
        // finite and accurate next to it: x = (iω, 2)/(4 − ω²) for B = (1, 0).
        let a = Tensor<Double>(shape: [2, 2], scalars: [0, -2, 2, 0])
        #expect(throws: PTD.Failure.self) { try PTD.resolventVectors(a: a, b: [1, 0], omegas: [2]) }
        let w = 2 + 1e-7
        let x = try PTD.resolventVectors(a: a, b: [1, 0], omegas: [w])[0]
        let den = (2 - w) * (2 + w)
        let want = [Complex(0, w / den), Complex(2 / den, 0)]
        #expect(SingularReference.error(x, want) <= 1e-6)
    }

    @Test("property: random modes at, near and away from the bilinear pole, and zoh with tiny A", arguments: 0..<6)
    func property(_ seed: UInt64) throws {
        var r = SeededRandom(seed: 100 + seed)
        let (h, n2) = (4, 5)
        var logDt: [Double] = []
        var a: [[Complex<Double>]] = []
        for _ in 0..<h {
            let ld = r.uniform(-5...1.5)
            logDt.append(ld)
            let dt = Double.exp(ld)
            a.append(
                (0..<n2).map { _ in
                    switch Int(r.uniform(0...3.999)) {
                    case 0: Complex(exactBilinearZero(logDt: ld) ?? -2 / dt, 0)
                    case 1: Complex(ulps(-2 / dt, Int(r.uniform(-8...8))), r.uniform(-1...1) * 1e-9)
                    case 2:
                        Complex(
                            -Foundation.exp(r.uniform(-700...(-1))),
                            r.uniform(-1...1) * Foundation.exp(r.uniform(-700...0)))
                    default: Complex(r.uniform(-3...(-0.01)), r.uniform(-10...10))
                    }
                })
        }
        let p = try s4dFixed(logDt: logDt, a: a, seed: 200 + seed, as: Double.self)
        let u: Tensor<Double> = r.normalTensor([2, 45, h])
        for disc in SSMDiscretization.allCases {
            for l in [1, 9, 45, 130] {
                let k = try S4D.kernel(p, length: l, discretization: disc)
                let e = SingularReference.error(k.scalars, SingularReference.kernel(p, length: l, disc))
                #expect(e <= 1e-10, "\(disc) L = \(l): kernel error \(e)")
            }
            try Self.expectConvolution(u, p, disc, chunks: [1, 7, 64])
        }
    }
}
