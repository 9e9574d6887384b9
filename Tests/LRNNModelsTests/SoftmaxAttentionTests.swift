import LRNNKernels
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// The blocked streaming-softmax attention against the naive full softmax (Float64, ≤ 1e-10), the
/// reference against closed forms, and the refused inputs.
@Suite struct SoftmaxAttentionTests {
    /// Random q `[B, Tq, H, D]`, k and v `[B, Tk, Hkv, D]`, scaled so that softmax rows are far from uniform.
    func inputs(
        b: Int, tq: Int, tk: Int, h: Int, hkv: Int, d: Int, seed: UInt64
    ) -> (Tensor<Double>, Tensor<Double>, Tensor<Double>) {
        var r = SeededRandom(seed: seed)
        return (
            r.tensor([b, tq, h, d], -2...2), r.tensor([b, tk, hkv, d], -2...2), r.normalTensor([b, tk, hkv, d])
        )
    }

    @Test(arguments: [nil, 1, 3, 16, 100] as [Int?], [(4, 4), (4, 2), (6, 1)])
    func blockedEqualsReference(_ window: Int?, _ heads: (Int, Int)) throws {
        let (h, hkv) = heads
        for (tq, tk, block) in [(37, 37, 8), (37, 37, 64), (1, 1, 4), (23, 50, 5), (64, 64, 16), (40, 40, 1)] {
            let (q, k, v) = inputs(b: 2, tq: tq, tk: tk, h: h, hkv: hkv, d: 6, seed: UInt64(tq * 7 + tk + block))
            let fast = try SoftmaxAttention.blocked(q: q, k: k, v: v, windowSize: window, blockSize: block)
            let ref = try SoftmaxAttention.reference(q: q, k: k, v: v, windowSize: window)
            let err = fast.relativeError(to: ref)
            #expect(
                err <= 1e-10,
                "window \(String(describing: window)), H \(h)/\(hkv), Tq \(tq), Tk \(tk), block \(block): \(err)")
        }
    }

    @Test(arguments: [nil, 2, 9] as [Int?])
    func packedSequencesEqualEachSequenceAlone(_ window: Int?) throws {
        // Empty and length-1 sequences, lengths that are not multiples of the block.
        let lengths = [13, 0, 1, 30, 0, 7]
        var cu = [0]
        for l in lengths { cu.append(cu.last! + l) }
        let (q, k, v) = inputs(b: 1, tq: cu.last!, tk: cu.last!, h: 4, hkv: 2, d: 4, seed: 3)
        let fast = try SoftmaxAttention.blocked(
            q: q, k: k, v: v, cuSeqlensQ: cu, cuSeqlensK: cu, windowSize: window, blockSize: 4)
        let ref = try SoftmaxAttention.reference(q: q, k: k, v: v, cuSeqlensQ: cu, cuSeqlensK: cu, windowSize: window)
        #expect(fast.relativeError(to: ref) <= 1e-10)
        for (n, l) in lengths.enumerated() where l > 0 {
            /// Sequence n's rows of a packed `[1, T, heads, 4]` tensor.
            func slice(_ t: Tensor<Double>) -> Tensor<Double> {
                let width = t.shape[2] * 4
                return Tensor(
                    shape: [1, l, t.shape[2], 4], scalars: Array(t.scalars[(cu[n] * width)..<(cu[n + 1] * width)]))
            }
            let alone = try SoftmaxAttention.reference(q: slice(q), k: slice(k), v: slice(v), windowSize: window)
            let packed = slice(fast)
            #expect(packed.relativeError(to: alone) <= 1e-10, "sequence \(n) of length \(l)")
        }
    }

    @Test func keysBeforeTheQueriesAreACachedPrefix() throws {
        // Tk > Tq: bottom-right alignment, the queries are the last Tq tokens of a Tk-token sequence.
        let (q, k, v) = inputs(b: 1, tq: 50, tk: 50, h: 2, hkv: 1, d: 4, seed: 8)
        for window in [nil, 5] as [Int?] {
            let full = try SoftmaxAttention.reference(q: q, k: k, v: v, windowSize: window)
            let tail = Tensor(shape: [1, 20, 2, 4], scalars: Array(q.scalars[(30 * 8)...]))
            let last = try SoftmaxAttention.blocked(q: tail, k: k, v: v, windowSize: window, blockSize: 7)
            let expected = Tensor(shape: [1, 20, 2, 4], scalars: Array(full.scalars[(30 * 8)...]))
            #expect(last.relativeError(to: expected) <= 1e-10)
        }
    }

    @Test func referenceMatchesClosedForms() throws {
        let (q, k, v) = inputs(b: 2, tq: 9, tk: 9, h: 4, hkv: 2, d: 3, seed: 5)
        // Window 1: every query sees only its own key, so its output is its KV head's value.
        let own = try SoftmaxAttention.reference(q: q, k: k, v: v, windowSize: 1)
        for b in 0..<2 {
            for t in 0..<9 {
                for head in 0..<4 {
                    for c in 0..<3 { #expect(own[b, t, head, c] == v[b, t, head / 2, c]) }
                }
            }
        }
        // Position 0 sees one key: its output is that value whatever the window.
        let global = try SoftmaxAttention.reference(q: q, k: k, v: v)
        for head in 0..<4 { for c in 0..<3 { #expect(global[0, 0, head, c] == v[0, 0, head / 2, c]) } }
        // Position 1 with the global window: a two-key softmax.
        let s0 = (0..<3).reduce(0.0) { $0 + q[1, 1, 3, $1] * k[1, 0, 1, $1] } / 3.0.squareRoot()
        let s1 = (0..<3).reduce(0.0) { $0 + q[1, 1, 3, $1] * k[1, 1, 1, $1] } / 3.0.squareRoot()
        let w0 = 1 / (1 + Double.exp(s1 - s0))
        for c in 0..<3 {
            let expected = w0 * v[1, 0, 1, c] + (1 - w0) * v[1, 1, 1, c]
            #expect(abs(global[1, 1, 3, c] - expected) <= 1e-14)
        }
    }

    @Test func badInputsAreRefusedNamingTheArgument() throws {
        let (q, k, v) = inputs(b: 1, tq: 5, tk: 5, h: 4, hkv: 2, d: 2, seed: 1)
        #expect(throws: KernelError.invalidArgument(name: "windowSize", reason: "must be ≥ 1 or nil, got 0")) {
            try SoftmaxAttention.blocked(q: q, k: k, v: v, windowSize: 0)
        }
        #expect(throws: KernelError.invalidArgument(name: "blockSize", reason: "must be ≥ 1, got 0")) {
            try SoftmaxAttention.blocked(q: q, k: k, v: v, blockSize: 0)
        }
        let k3 = Tensor<Double>(zeros: [1, 5, 3, 2])
        #expect(
            throws: KernelError.shapeMismatch(
                tensor: "k", shape: [1, 5, 3, 2], expected: "[1, Tk, Hkv, 2] with Hkv dividing H = 4")
        ) { try SoftmaxAttention.blocked(q: q, k: k3, v: k3) }
        #expect(throws: KernelError.shapeMismatch(tensor: "v", shape: [1, 4, 2, 2], expected: "[1, 5, 2, 2]")) {
            try SoftmaxAttention.reference(q: q, k: k, v: Tensor(zeros: [1, 4, 2, 2]))
        }
        var bad = v
        bad.scalars[7] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "v")) { try SoftmaxAttention.blocked(q: q, k: k, v: bad) }
        let shortK = Tensor<Double>(zeros: [1, 4, 2, 2])
        #expect(throws: KernelError.invalidArgument(name: "k", reason: "4 keys for 5 queries: needs at least as many"))
        {
            try SoftmaxAttention.blocked(q: q, k: shortK, v: shortK)
        }
        #expect(
            throws: KernelError.invalidArgument(name: "cuSeqlensK", reason: "sequence 0 has 2 keys for 3 queries")
        ) { try SoftmaxAttention.blocked(q: q, k: k, v: v, cuSeqlensQ: [0, 3, 5], cuSeqlensK: [0, 2, 5]) }
        #expect(
            throws: KernelError.invalidSequenceBoundaries(reason: "cuSeqlensQ and cuSeqlensK must be given together")
        ) { try SoftmaxAttention.blocked(q: q, k: k, v: v, cuSeqlensQ: [0, 5]) }
        #expect(throws: KernelError.invalidSequenceBoundaries(reason: "must end at the packed length 5, ends at 4")) {
            try SoftmaxAttention.blocked(q: q, k: k, v: v, cuSeqlensQ: [0, 4], cuSeqlensK: [0, 5])
        }
    }

    @Test func float32FollowsFloat64() throws {
        let (q, k, v) = inputs(b: 1, tq: 70, tk: 70, h: 4, hkv: 1, d: 16, seed: 12)
        let ref = try SoftmaxAttention.reference(q: q, k: k, v: v, windowSize: 20)
        let f = try SoftmaxAttention.blocked(
            q: q.converted(to: Float.self), k: k.converted(to: Float.self), v: v.converted(to: Float.self),
            windowSize: 20)
        #expect(f.converted(to: Double.self).relativeError(to: ref) <= 1e-5)
    }
}
