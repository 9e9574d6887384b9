import LRNNKernels
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// The softmax-attention backward: the naive reference against central finite differences of the
/// reference forward, the blocked backward against the reference (Float64, ≤ 1e-10), and the
/// refused inputs.
@Suite struct SoftmaxAttentionBackwardTests {
    typealias FD = FiniteDifference

    /// One problem: shapes, packed boundaries (query and key), window.
    struct Case: CustomTestStringConvertible, Sendable {
        let b: Int, tq: Int, tk: Int, h: Int, hkv: Int, d: Int
        var cuQ: [Int]? = nil
        var cuK: [Int]? = nil
        var window: Int? = nil
        var testDescription: String {
            "B\(b) Tq\(tq) Tk\(tk) H\(h)/\(hkv) D\(d) window \(window.map(String.init) ?? "-") packed \(cuQ != nil)"
        }
    }

    static let cases: [Case] = [
        Case(b: 2, tq: 9, tk: 9, h: 4, hkv: 2, d: 6),
        Case(b: 1, tq: 11, tk: 11, h: 2, hkv: 1, d: 4, window: 3),
        // A cached prefix (Tk > Tq, bottom-right aligned).
        Case(b: 2, tq: 5, tk: 12, h: 3, hkv: 3, d: 4, window: 4),
        // Packed: an empty query sequence over two cached keys, a length-1 sequence, a cached prefix.
        Case(b: 1, tq: 9, tk: 16, h: 4, hkv: 1, d: 4, cuQ: [0, 0, 1, 9], cuK: [0, 2, 3, 16]),
        Case(b: 1, tq: 14, tk: 14, h: 2, hkv: 2, d: 2, cuQ: [0, 6, 14], cuK: [0, 6, 14], window: 2),
    ]

    /// Random q, k, v, a cotangent, scaled so that the softmax rows are far from uniform.
    static func inputs(_ c: Case, seed: UInt64) -> (
        q: Tensor<Double>, k: Tensor<Double>, v: Tensor<Double>, dO: Tensor<Double>
    ) {
        var r = SeededRandom(seed: seed)
        return (
            r.tensor([c.b, c.tq, c.h, c.d], -2...2), r.tensor([c.b, c.tk, c.hkv, c.d], -2...2),
            r.normalTensor([c.b, c.tk, c.hkv, c.d]), r.normalTensor([c.b, c.tq, c.h, c.d])
        )
    }

    @Test(arguments: cases)
    func referenceMatchesFiniteDifferences(_ c: Case) throws {
        let (q, k, v, dO) = Self.inputs(c, seed: UInt64(c.tq * 31 + c.tk))
        let g = try SoftmaxAttention.referenceBackward(
            q: q, k: k, v: v, outputGradient: dO, cuSeqlensQ: c.cuQ, cuSeqlensK: c.cuK, windowSize: c.window)
        func f(_ q: Tensor<Double>, _ k: Tensor<Double>, _ v: Tensor<Double>) throws -> Double {
            FD.dot(
                try SoftmaxAttention.reference(
                    q: q, k: k, v: v, cuSeqlensQ: c.cuQ, cuSeqlensK: c.cuK, windowSize: c.window), dO)
        }
        let eq = try FD.error(at: q, gradient: g.q, seed: 1) { try f($0, k, v) }
        let ek = try FD.error(at: k, gradient: g.k, seed: 2) { try f(q, $0, v) }
        let ev = try FD.error(at: v, gradient: g.v, seed: 3) { try f(q, k, $0) }
        #expect(eq <= 1e-7 && ek <= 1e-7 && ev <= 1e-7, "q \(eq), k \(ek), v \(ev)")
    }

    @Test(arguments: cases, [1, 2, 3, 8, 64])
    func blockedEqualsReference(_ c: Case, _ block: Int) throws {
        let (q, k, v, dO) = Self.inputs(c, seed: UInt64(c.tq * 17 + c.tk + block))
        let fast = try SoftmaxAttention.backward(
            q: q, k: k, v: v, outputGradient: dO, cuSeqlensQ: c.cuQ, cuSeqlensK: c.cuK, windowSize: c.window,
            blockSize: block)
        let ref = try SoftmaxAttention.referenceBackward(
            q: q, k: k, v: v, outputGradient: dO, cuSeqlensQ: c.cuQ, cuSeqlensK: c.cuK, windowSize: c.window)
        for (name, x, y) in [("q", fast.q, ref.q), ("k", fast.k, ref.k), ("v", fast.v, ref.v)] {
            #expect(x.shape == y.shape)
            #expect(x.relativeError(to: y) <= 1e-10, "\(name): \(x.relativeError(to: y))")
        }
    }

    @Test(arguments: [nil, 1, 5, 40] as [Int?])
    func longSequencesOverManyBlocks(_ window: Int?) throws {
        // 70 and 45 tokens in blocks of 16 (partial last blocks, skipped blocks outside the window),
        // an explicit scale.
        let c = Case(b: 1, tq: 115, tk: 115, h: 4, hkv: 2, d: 8, cuQ: [0, 70, 115], cuK: [0, 70, 115], window: window)
        let (q, k, v, dO) = Self.inputs(c, seed: 9)
        let fast = try SoftmaxAttention.backward(
            q: q, k: k, v: v, outputGradient: dO, cuSeqlensQ: c.cuQ, cuSeqlensK: c.cuK, windowSize: window,
            scale: 0.7, blockSize: 16)
        let ref = try SoftmaxAttention.referenceBackward(
            q: q, k: k, v: v, outputGradient: dO, cuSeqlensQ: c.cuQ, cuSeqlensK: c.cuK, windowSize: window, scale: 0.7)
        #expect(fast.q.relativeError(to: ref.q) <= 1e-10)
        #expect(fast.k.relativeError(to: ref.k) <= 1e-10)
        #expect(fast.v.relativeError(to: ref.v) <= 1e-10)
    }

    @Test func keysNoQuerySeesGetZeroGradient() throws {
        // Window 2, 3 queries after 6 cached keys: keys 0–3 are outside every query's window.
        let c = Case(b: 1, tq: 3, tk: 9, h: 2, hkv: 1, d: 4, window: 2)
        let (q, k, v, dO) = Self.inputs(c, seed: 4)
        let g = try SoftmaxAttention.backward(q: q, k: k, v: v, outputGradient: dO, windowSize: 2, blockSize: 2)
        #expect(g.k.scalars[..<(4 * 4)].allSatisfy { $0 == 0 })
        #expect(g.v.scalars[..<(4 * 4)].allSatisfy { $0 == 0 })
        #expect(g.k.scalars[(4 * 4)...].contains { $0 != 0 })
    }

    @Test func float32AgreesWithFloat64() throws {
        let c = Self.cases[3]
        let (q, k, v, dO) = Self.inputs(c, seed: 12)
        let f = { (t: Tensor<Double>) in t.converted(to: Float.self) }
        let g32 = try SoftmaxAttention.backward(
            q: f(q), k: f(k), v: f(v), outputGradient: f(dO), cuSeqlensQ: c.cuQ, cuSeqlensK: c.cuK, blockSize: 4)
        let g64 = try SoftmaxAttention.referenceBackward(
            q: q, k: k, v: v, outputGradient: dO, cuSeqlensQ: c.cuQ, cuSeqlensK: c.cuK)
        #expect(g32.q.converted(to: Double.self).relativeError(to: g64.q) <= 1e-5)
        #expect(g32.k.converted(to: Double.self).relativeError(to: g64.k) <= 1e-5)
        #expect(g32.v.converted(to: Double.self).relativeError(to: g64.v) <= 1e-5)
    }

    // MARK: errors

    @Test func refusedInputs() throws {
        let c = Self.cases[0]
        let (q, k, v, dO) = Self.inputs(c, seed: 5)
        #expect(
            throws: KernelError.shapeMismatch(tensor: "outputGradient", shape: [2, 9, 4], expected: "[2, 9, 4, 6]")
        ) {
            try SoftmaxAttention.backward(q: q, k: k, v: v, outputGradient: Tensor(zeros: [2, 9, 4]))
        }
        #expect(
            throws: KernelError.shapeMismatch(tensor: "outputGradient", shape: [2, 9, 4], expected: "[2, 9, 4, 6]")
        ) {
            try SoftmaxAttention.referenceBackward(q: q, k: k, v: v, outputGradient: Tensor(zeros: [2, 9, 4]))
        }
        var bad = dO
        bad[0, 3, 1, 2] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "outputGradient")) {
            try SoftmaxAttention.backward(q: q, k: k, v: v, outputGradient: bad)
        }
        #expect(throws: KernelError.invalidArgument(name: "blockSize", reason: "must be ≥ 1, got 0")) {
            try SoftmaxAttention.backward(q: q, k: k, v: v, outputGradient: dO, blockSize: 0)
        }
        #expect(throws: KernelError.invalidArgument(name: "windowSize", reason: "must be ≥ 1 or nil, got 0")) {
            try SoftmaxAttention.backward(q: q, k: k, v: v, outputGradient: dO, windowSize: 0)
        }
        var badK = k
        badK[1, 0, 0, 0] = .infinity
        #expect(throws: KernelError.nonFinite(tensor: "k")) {
            try SoftmaxAttention.backward(q: q, k: badK, v: v, outputGradient: dO)
        }
    }
}
