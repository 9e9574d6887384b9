import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import RealModule
import Testing

@Suite("S4D kernel, convolution and recurrence")
struct SSMS4DTests {
    @Test("kernel equals the unrolled recurrence", arguments: SSMDiscretization.allCases)
    func kernelMatchesRecurrence(_ disc: SSMDiscretization) throws {
        let p = try randomS4D(channels: 3, modes: 5, seed: 11, as: Double.self)
        for l in [1, 7, 100, 333] {
            let k = try S4D.kernel(p, length: l, discretization: disc)
            // Impulse response of the recurrence: y_l for u = δ, minus the skip term at l = 0.
            var u = Tensor<Double>(shape: [1, l, 3], repeating: 0)
            for h in 0..<3 { u.scalars[h] = 1 }
            let y = try S4D.recurrent(S4D.Inputs(u: u, parameters: p), discretization: disc).output
            var impulse = Tensor<Double>(shape: [3, l], repeating: 0)
            for h in 0..<3 {
                for s in 0..<l { impulse.scalars[h * l + s] = y.scalars[s * 3 + h] - (s == 0 ? p.d.scalars[h] : 0) }
            }
            #expect(relErr(k, impulse) <= 1e-12)
            #expect(relErr(k, try S4D.kernelReference(p, length: l, discretization: disc)) <= 1e-12)
        }
    }

    @Test("long kernel (L = 65,536) stays accurate against the Float64 power recurrence")
    func longKernel() throws {
        let p = try randomS4D(channels: 2, modes: 4, seed: 5, as: Double.self, logDt: -7...(-5))
        let l = 65_536
        let k = try S4D.kernel(p, length: l, discretization: .zoh)
        let ref = try S4D.kernelReference(p, length: l, discretization: .zoh)
        #expect(relErr(k, ref) <= 1e-10)
        let k32 = try S4D.kernel(p.converted(to: Float.self), length: l, discretization: .zoh)
        #expect(k32.allFinite)
    }

    @Test("chunked convolution equals the direct O(T²) convolution", arguments: [1, 5, 16, 64])
    func chunkedMatchesDirect(_ chunk: Int) throws {
        var r = SeededRandom(seed: 2)
        for disc in SSMDiscretization.allCases {
            let p = try randomS4D(channels: 3, modes: 6, seed: 21, as: Double.self)
            let u: Tensor<Double> = r.normalTensor([2, 77, 3])
            let direct = try S4D.convolveDirect(u, parameters: p, discretization: disc)
            let y = try S4D.chunked(u, parameters: p, discretization: disc, chunkSize: chunk).output
            #expect(relErr(y, direct) <= 1e-10)
            let rec = try S4D.recurrent(S4D.Inputs(u: u, parameters: p), discretization: disc).output
            #expect(relErr(rec, direct) <= 1e-10)
        }
    }

    @Test("many channels per work item (H = 37, B = 3) and T not a multiple of the chunk")
    func manyChannels() throws {
        var r = SeededRandom(seed: 13)
        let p = try randomS4D(channels: 37, modes: 4, seed: 14, as: Double.self)
        let u: Tensor<Double> = r.normalTensor([3, 45, 37])
        let direct = try S4D.convolveDirect(u, parameters: p, discretization: .zoh)
        let (y, s) = try S4D.chunked(u, parameters: p, discretization: .zoh, chunkSize: 8)
        #expect(relErr(y, direct) <= 1e-10)
        let sr = try S4D.recurrent(S4D.Inputs(u: u, parameters: p), discretization: .zoh).finalState
        #expect((zip(s.scalars, sr.scalars).map { ($0 - $1).length }.max() ?? 0) <= 1e-10)
    }

    @Test("chunked convolution with an initial state equals the recurrence")
    func initialState() throws {
        var r = SeededRandom(seed: 8)
        let p = try randomS4D(channels: 2, modes: 3, seed: 3, as: Double.self)
        let u: Tensor<Double> = r.normalTensor([2, 50, 2])
        let h0 = Tensor<Complex<Double>>(
            shape: [2, 2, 3], scalars: (0..<12).map { _ in Complex(r.normal(), r.normal()) })
        let (y, s) = try S4D.chunked(u, parameters: p, discretization: .zoh, chunkSize: 8, initialState: h0)
        let (yr, sr) = try S4D.recurrent(S4D.Inputs(u: u, parameters: p, initialState: h0), discretization: .zoh)
        #expect(relErr(y, yr) <= 1e-10)
        let ds = zip(s.scalars, sr.scalars).map { ($0 - $1).length }.max() ?? 0
        #expect(ds <= 1e-10)
    }

    @Test("prefill (chunked) + steps equals the whole sequence")
    func prefillThenStep() throws {
        var r = SeededRandom(seed: 4)
        let p = try randomS4D(channels: 4, modes: 8, seed: 9, as: Double.self)
        let u: Tensor<Double> = r.normalTensor([2, 90, 4])
        let whole = try S4D.chunked(u, parameters: p, discretization: .bilinear, chunkSize: 16).output
        var (_, state) = try S4D.chunked(
            slice(u, tokens: 0..<70), parameters: p, discretization: .bilinear, chunkSize: 16)
        let rec = S4DRecurrence(p, discretization: .bilinear)
        for s in 70..<90 {
            let y = try rec.step(token(u, s), state: &state)
            #expect(relErr(y, token(whole, s)) <= 1e-10)
        }
    }

    @Test("S4D with H = 1 equals S5 with the same parameters", arguments: SSMDiscretization.allCases)
    func s4dEqualsS5(_ disc: SSMDiscretization) throws {
        var r = SeededRandom(seed: 6)
        let p = try randomS4D(channels: 1, modes: 7, seed: 12, as: Double.self)
        let u: Tensor<Double> = r.normalTensor([2, 60, 1])
        let y4 = try S4D.chunked(u, parameters: p, discretization: disc, chunkSize: 16).output
        let y5 = try S5.chunked(
            u, system: S5System(S5Parameters(singleChannel: p), discretization: disc), chunkSize: 16
        ).output
        #expect(relErr(y5, y4) <= 1e-10)
    }

    @Test("DC gain: Σ_l K[l] = −2·Re Σ C·B/A for fast-decaying zoh modes")
    func dcGain() throws {
        var r = SeededRandom(seed: 7)
        let s = [2, 4]
        let p = try S4DParameters<Double>(
            logDt: Tensor(shape: [2], scalars: [-1, -0.5]), aRe: r.tensor(s, -3...(-1)), aIm: r.tensor(s, -2...2),
            bRe: r.tensor(s), bIm: r.tensor(s), cRe: r.tensor(s), cIm: r.tensor(s), d: Tensor(shape: [2], repeating: 0))
        let k = try S4D.kernel(p, length: 400, discretization: .zoh)
        for h in 0..<2 {
            let sum = (0..<400).reduce(0.0) { $0 + k.scalars[h * 400 + $1] }
            var dc = 0.0
            for n in 0..<4 {
                let i = h * 4 + n
                let a = Complex(p.aRe.scalars[i], p.aIm.scalars[i])
                let cb = Complex(p.cRe.scalars[i], p.cIm.scalars[i]) * Complex(p.bRe.scalars[i], p.bIm.scalars[i])
                dc += -2 * (cb / a).real
            }
            #expect(Swift.abs(sum - dc) <= 1e-12 * Swift.max(1, Swift.abs(dc)))
        }
    }

    @Test("initialisations: Lin, Inv and LegS eigenvalues; log Δ within [1e-3, 1e-1]; seeded")
    func initialisations() throws {
        let lin = try S4DParameters<Double>.initialized(channels: 2, stateSize: 8, initialization: .lin, seed: 1)
        #expect(lin.aIm.scalars[3] == Double.pi * 3 && lin.aRe.scalars.allSatisfy { $0 == -0.5 })
        let inv = try S4DParameters<Double>.initialized(channels: 1, stateSize: 8, initialization: .inv, seed: 1)
        #expect(Swift.abs(inv.aIm.scalars[1] - 8 / Double.pi * (8.0 / 3 - 1)) <= 1e-12)
        let legs = try S4DParameters<Double>.initialized(channels: 1, stateSize: 8, initialization: .legs, seed: 1)
        #expect(legs.aRe.scalars.allSatisfy { Swift.abs($0 + 0.5) <= 1e-12 } && legs.aIm.scalars.allSatisfy { $0 > 0 })
        for x in lin.logDt.scalars { #expect(x >= Double.log(1e-3) && x <= Double.log(1e-1)) }
        let again = try S4DParameters<Double>.initialized(channels: 2, stateSize: 8, initialization: .lin, seed: 1)
        #expect(again.cRe == lin.cRe && again.logDt == lin.logDt)
    }

    @Test("ZOH equals the matrix exponential of [[A, B], [0, 0]]·Δ")
    func zohMatchesExpm() throws {
        // A = V·diag(λ)·V⁻¹, a real 3×3 matrix with a complex pair and a real eigenvalue.
        let n = 3
        let dt = 0.37
        let a = Tensor<Double>(shape: [3, 3], scalars: [-0.6, 1.3, 0.2, -1.1, -0.4, 0.5, 0.1, -0.3, -1.7])
        let b = [0.4, -1.2, 0.9]
        var m = Tensor<Double>(shape: [4, 4], repeating: 0)
        for i in 0..<n {
            for j in 0..<n { m.scalars[i * 4 + j] = a.scalars[i * n + j] * dt }
            m.scalars[i * 4 + 3] = b[i] * dt
        }
        let e = try expm(m)
        let eig = try LAPACK.eigen(a)
        let v = try #require(eig.right)
        // V·diag(f(λ))·V⁻¹·x for f = dA and f = dB/b.
        func apply(_ f: (Complex<Double>) -> Complex<Double>, _ x: [Double]) throws -> [Double] {
            let y = try LAPACK.solve(v, Tensor(shape: [n], scalars: x.map { Complex($0) })).scalars
            var out = [Double](repeating: 0, count: n)
            for i in 0..<n {
                var acc = Complex<Double>.zero
                for k in 0..<n { acc = acc + v.scalars[i * n + k] * f(eig.values[k]) * y[k] }
                out[i] = acc.real
            }
            return out
        }
        let bd = try apply({ SSMDiscretization.zoh.discretize($0, step: dt).inputScale }, b)
        for i in 0..<n { #expect(Swift.abs(bd[i] - e.scalars[i * 4 + 3]) <= 1e-12) }
        for j in 0..<n {
            let col = try apply(
                { SSMDiscretization.zoh.discretize($0, step: dt).pole }, (0..<n).map { $0 == j ? 1 : 0 })
            for i in 0..<n { #expect(Swift.abs(col[i] - e.scalars[i * 4 + j]) <= 1e-12) }
        }
    }

    @Test("bad inputs are typed errors naming the tensor")
    func badInputs() throws {
        let good = try randomS4D(channels: 2, modes: 3, seed: 1, as: Double.self)
        var are = good.aRe
        are.scalars[4] = 0.1
        #expect(
            throws: KernelError.invalidArgument(
                name: "A_re", reason: "every real part must be ≤ 0 (stable or marginally stable modes), found 0.1")
        ) {
            _ = try S4DParameters(
                logDt: good.logDt, aRe: are, aIm: good.aIm, bRe: good.bRe, bIm: good.bIm, cRe: good.cRe, cIm: good.cIm,
                d: good.d)
        }
        #expect(throws: KernelError.shapeMismatch(tensor: "D", shape: [3], expected: "[2]")) {
            _ = try S4DParameters(
                logDt: good.logDt, aRe: good.aRe, aIm: good.aIm, bRe: good.bRe, bIm: good.bIm, cRe: good.cRe,
                cIm: good.cIm, d: Tensor(shape: [3], repeating: 0))
        }
        let u = Tensor<Double>(shape: [1, 5, 3], repeating: 0)
        #expect(throws: KernelError.shapeMismatch(tensor: "u", shape: [1, 5, 3], expected: "[B, T, 2]")) {
            _ = try S4D.chunked(u, parameters: good, discretization: .zoh)
        }
        var bad = Tensor<Double>(shape: [1, 5, 2], repeating: 0)
        bad.scalars[3] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "u")) {
            _ = try S4D.chunked(bad, parameters: good, discretization: .zoh)
        }
        #expect(throws: KernelError.invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got 0")) {
            _ = try S4D.chunked(
                Tensor(shape: [1, 5, 2], repeating: 0), parameters: good, discretization: .zoh, chunkSize: 0)
        }
        #expect(throws: KernelError.invalidArgument(name: "L", reason: "must be ≥ 0, got -1")) {
            _ = try S4D.kernel(good, length: -1, discretization: .zoh)
        }
        #expect(throws: KernelError.invalidArgument(name: "N", reason: "must be even and ≥ 2, got 7")) {
            _ = try S4DParameters<Double>.initialized(channels: 1, stateSize: 7, initialization: .lin, seed: 0)
        }
    }
}

/// Matrix exponential by scaling and squaring with a [6/6] Padé approximant (solve, no inverse).
func expm(_ m: Tensor<Double>) throws -> Tensor<Double> {
    let n = m.shape[0]
    let norm = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + Swift.abs(m.scalars[i * n + $1]) } }.max() ?? 0
    let s = Swift.max(0, Int((Double.log2(Swift.max(norm, 1e-300)) + 1).rounded(.up)))
    let scale = Double.pow(2, -Double(s))
    let a = m.scalars.map { $0 * scale }
    func mul(_ x: [Double], _ y: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for k in 0..<n { for j in 0..<n { out[i * n + j] += x[i * n + k] * y[k * n + j] } } }
        return out
    }
    let c: [Double] = [1, 0.5, 5.0 / 44, 1.0 / 66, 1.0 / 792, 1.0 / 15840, 1.0 / 665280]
    var power = (0..<(n * n)).map { $0 % (n + 1) == 0 ? 1.0 : 0.0 }
    var num = power.map { $0 * c[0] }
    var den = num
    for k in 1...6 {
        power = mul(power, a)
        let sign = k % 2 == 0 ? 1.0 : -1.0
        for i in 0..<(n * n) {
            num[i] += c[k] * power[i]
            den[i] += sign * c[k] * power[i]
        }
    }
    var r = try LAPACK.solve(Tensor(shape: [n, n], scalars: den), Tensor(shape: [n, n], scalars: num)).scalars
    for _ in 0..<s { r = mul(r, r) }
    return Tensor(shape: [n, n], scalars: r)
}
