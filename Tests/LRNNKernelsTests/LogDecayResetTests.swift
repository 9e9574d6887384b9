import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// A log decay of −∞ (or one so negative that exp(g) underflows to 0) is a reset: the state is
/// zeroed before the token's update. The chunked, step and reference paths of the delta rule and
/// GLA implement it exactly and agree, and agree with the reset computed independently (the
/// reference on the suffix after the reset from a zero state).
@Suite struct LogDecayResetTests {
    /// Where the resets go (token indices of a 40-token sequence; chunks of 16 steps).
    static let placements: [(String, [Int])] = [
        ("first", [0]), ("mid-chunk", [5]), ("chunk-boundary", [16]), ("after-boundary", [15, 17]),
        ("last", [39]), ("several", [3, 7, 16, 17, 31]), ("every", Array(0..<40)),
    ]
    static let values: [Double] = [-.infinity, -1e30, -1e300]

    /// `max|x − y| / max(1, max|y|)`.
    func error<T: LRNNScalar>(_ x: Tensor<T>, _ y: Tensor<T>) -> Double {
        var scale = 1.0
        for r in y.scalars { scale = Swift.max(scale, Swift.abs(Double(r))) }
        return maxAbsDifference(x, y) / scale
    }

    func allFinite<T: LRNNScalar>(_ x: Tensor<T>) -> Bool { x.scalars.allSatisfy(\.isFinite) }

    // MARK: Delta rule

    /// Delta-rule inputs of one 40-token sequence, H = 2, with the resets in g of head 0 (and of
    /// head 1 at the first placement only).
    func deltaInputs(n: Int, resets: [Int], value: Double, seed: UInt64) -> DeltaRuleInputs<Double> {
        var rng = SeededRandom(seed: seed)
        var x = DeltaRuleInputs<Double>(
            batch: 1, tokens: 40, heads: 2, keyDim: 8, valueDim: 6, householder: n, gated: true,
            initialState: true, rng: &rng)
        for t in resets { x.g!.scalars[t * 2] = value }
        x.g!.scalars[resets[0] * 2 + 1] = value
        return x
    }

    /// The step path, token by token, from the same initial state.
    func deltaSteps(_ x: DeltaRuleInputs<Double>) throws -> (output: Tensor<Double>, finalState: Tensor<Double>) {
        let (t, h, dk, dv, n) = (x.q.shape[1], x.q.shape[2], x.q.shape[3], x.v.shape[3], x.n)
        var state = x.h0 ?? Tensor(zeros: [1, h, dk, dv])
        var out: [Double] = []
        for i in 0..<t {
            let o = try DeltaRule.step(
                q: glaTokens(x.q, i, 1), k: glaTokens(x.k, i * n, n).reshaped([1, n, h, dk]),
                v: glaTokens(x.v, i * n, n).reshaped([1, n, h, dv]),
                beta: Tensor(shape: [1, n, h], scalars: Array(x.beta.scalars[(i * n * h)..<((i + 1) * n * h)])),
                g: Tensor(shape: [1, 1, h], scalars: Array(x.g!.scalars[(i * h)..<((i + 1) * h)])),
                numHouseholder: n, state: &state)
            out += o.scalars
        }
        return (Tensor(shape: [1, t, h, dv], scalars: out), state)
    }

    @Test(arguments: placements.map(\.0), [1, 2])
    func deltaRulePathsAgreeWithResets(placement: String, n: Int) throws {
        let resets = Self.placements.first { $0.0 == placement }!.1
        for (vi, value) in Self.values.enumerated() {
            let x = deltaInputs(n: n, resets: resets, value: value, seed: 7100 + UInt64(vi))
            let ref = try x.reference()
            #expect(allFinite(ref.output) && allFinite(ref.finalState))
            for chunk in [16, 4, 2, 64] {
                let c = try x.chunked(chunkSize: chunk * n)
                let eo = error(c.output, ref.output)
                let es = error(c.finalState, ref.finalState)
                #expect(eo <= 1e-10 && es <= 1e-10, "\(placement) n=\(n) g=\(value) chunk=\(chunk): \(eo), \(es)")
            }
            let s = try deltaSteps(x)
            let eo = error(s.output, ref.output)
            let es = error(s.finalState, ref.finalState)
            #expect(eo <= 1e-10 && es <= 1e-10, "\(placement) n=\(n) g=\(value) step: \(eo), \(es)")
        }
    }

    /// The chunked result after the last reset r equals the reference run on tokens r ..< T from a
    /// zero state, with g_r = 0 (nothing to decay); the earlier outputs equal the reference on the
    /// prefix with no reset at all.
    @Test(arguments: placements.map(\.0), [1, 2])
    func deltaRuleResetEqualsFreshStart(placement: String, n: Int) throws {
        let resets = Self.placements.first { $0.0 == placement }!.1
        let x = deltaInputs(n: n, resets: resets, value: -.infinity, seed: 7200)
        let c = try x.chunked()
        let (t, h, dk, dv) = (40, 2, 8, 6)
        // Head 0: its last reset.
        let r = resets.max()!
        var suffix = x
        suffix.q = glaTokens(x.q, r, t - r)
        suffix.k = glaTokens(x.k, r * n, (t - r) * n)
        suffix.v = glaTokens(x.v, r * n, (t - r) * n)
        suffix.beta = Tensor(
            shape: [1, (t - r) * n, h], scalars: Array(x.beta.scalars[(r * n * h)..<(t * n * h)]))
        var gs = Array(x.g!.scalars[(r * h)..<(t * h)])
        gs[0] = 0
        if r == resets[0] { gs[1] = 0 }
        suffix.g = Tensor(shape: [1, t - r, h], scalars: gs)
        var h0 = x.h0!
        for e in 0..<(dk * dv) { h0.scalars[e] = 0 }
        if r == resets[0] { for e in 0..<(dk * dv) { h0.scalars[dk * dv + e] = 0 } }
        // Head 1 keeps its state unless its (only) reset is this one: run it from its state at r.
        if r != resets[0] {
            var prefix = x
            prefix.q = glaTokens(x.q, 0, r)
            prefix.k = glaTokens(x.k, 0, r * n)
            prefix.v = glaTokens(x.v, 0, r * n)
            prefix.beta = Tensor(shape: [1, r * n, h], scalars: Array(x.beta.scalars[0..<(r * n * h)]))
            prefix.g = Tensor(shape: [1, r, h], scalars: Array(x.g!.scalars[0..<(r * h)]))
            let before = try prefix.reference().finalState
            for e in 0..<(dk * dv) { h0.scalars[dk * dv + e] = before.scalars[dk * dv + e] }
        }
        suffix.h0 = h0
        let fresh = try suffix.reference()
        let tail = glaTokens(c.output, r, t - r)
        #expect(error(tail, fresh.output) <= 1e-10, "\(placement) n=\(n): outputs after the reset")
        #expect(error(c.finalState, fresh.finalState) <= 1e-10, "\(placement) n=\(n): final state")
        if resets[0] > 0 {
            // Before the first reset nothing changes: the same inputs without any reset.
            var clean = x
            clean.g = Tensor(shape: [1, t, h], scalars: x.g!.scalars.map { $0 == -.infinity ? -0.25 : $0 })
            let plain = try clean.reference()
            let p0 = resets[0]
            #expect(error(glaTokens(c.output, 0, p0), glaTokens(plain.output, 0, p0)) <= 1e-10)
        }
    }

    /// Packed sequences: resets at a sequence's first token (which discards its initial state),
    /// inside a sequence and at the last token, chunked (several chunk sizes) vs reference vs a
    /// sequence-by-sequence run where the sequence that starts with a reset has a zero initial state.
    @Test(arguments: [1, 2])
    func deltaRuleVarlenResets(n: Int) throws {
        var rng = SeededRandom(seed: 7300)
        let cu = [0, 10, 27, 27, 40]
        var x = DeltaRuleInputs<Double>(
            batch: 1, tokens: 40, heads: 2, keyDim: 8, valueDim: 6, householder: n, gated: true,
            initialState: true, cuSeqlens: cu, rng: &rng)
        for (t, h) in [(10, 0), (10, 1), (20, 0), (39, 1), (26, 1)] { x.g!.scalars[t * 2 + h] = -.infinity }
        x.g!.scalars[3 * 2 + 0] = -1e30
        let ref = try x.reference()
        for chunk in [16, 4, 3] {
            let c = try x.chunked(chunkSize: chunk * n)
            #expect(error(c.output, ref.output) <= 1e-10 && error(c.finalState, ref.finalState) <= 1e-10)
        }
        // Sequence 1 (tokens 10 ..< 27) starts with a reset of both heads: its initial state is unused.
        var y = x
        for e in 0..<(2 * 8 * 6) { y.h0!.scalars[1 * 2 * 8 * 6 + e] = 0 }
        for h in 0..<2 { y.g!.scalars[10 * 2 + h] = 0 }
        let z = try y.reference()
        #expect(error(ref.output, z.output) <= 1e-10)
        #expect(error(ref.finalState, z.finalState) <= 1e-10)
    }

    /// Float32 with resets (−∞, −1e30, and −200, whose exponential is 0 in Float32 only) against the
    /// Float64 reference: 1e-4, and finite.
    @Test(arguments: [1, 2])
    func deltaRuleFloat32MatchesFloat64(n: Int) throws {
        let x = deltaInputs(n: n, resets: [0, 5, 16, 22, 39], value: -.infinity, seed: 7400)
        var y = x
        y.g!.scalars[22 * 2] = -1e30
        y.g!.scalars[5 * 2 + 1] = -200
        y.g!.scalars[30 * 2 + 1] = -200
        let ref = try y.reference()
        let f = try DeltaRule.chunked(
            q: y.q.converted(to: Float.self), k: y.k.converted(to: Float.self), v: y.v.converted(to: Float.self),
            beta: y.beta.converted(to: Float.self), g: y.g!.converted(to: Float.self),
            initialState: y.h0!.converted(to: Float.self), numHouseholder: n)
        #expect(allFinite(f.output) && allFinite(f.finalState))
        #expect(f.output.converted(to: Double.self).relativeError(to: ref.output) <= 1e-4)
        #expect(f.finalState.converted(to: Double.self).relativeError(to: ref.finalState) <= 1e-4)
    }

    /// NaN and +∞ stay errors, and so does a positive log decay.
    @Test func deltaRuleStillRejectsNaNPositiveInfinityAndPositive() throws {
        for (value, expected) in [
            (Double.nan, KernelError.nonFinite(tensor: "g")), (.infinity, .nonFinite(tensor: "g")),
            (0.5, .invalidArgument(name: "g", reason: "log decays must be ≤ 0, found 0.5")),
        ] {
            var x = deltaInputs(n: 1, resets: [3], value: -.infinity, seed: 7500)
            x.g!.scalars[11] = value
            #expect(throws: expected) { try x.chunked() }
            #expect(throws: expected) { try x.reference() }
            #expect(throws: expected) { try deltaSteps(x) }
        }
    }

    // MARK: GLA

    func glaInputs(seed: UInt64, resets: [Int], value: Double, perChannel: Bool) -> GLAInputs<Double> {
        var rng = SeededRandom(seed: seed)
        var x = GLAInputs<Double>(&rng, b: 1, t: 40, h: 2, dk: 6, dv: 5, decay: -0.6...0)
        for t in resets {
            for c in 0..<6 where !perChannel || c % 2 == t % 2 { x.gk.scalars[(t * 2 + 0) * 6 + c] = value }
        }
        return x
    }

    func glaSteps(_ x: GLAInputs<Double>, initialState: Tensor<Double>?) throws -> (Tensor<Double>, Tensor<Double>) {
        var state = initialState ?? Tensor(zeros: [1, 2, 6, 5])
        var out: [Double] = []
        for i in 0..<x.q.shape[1] {
            let o = try GLA.step(
                q: glaTokens(x.q, i, 1), k: glaTokens(x.k, i, 1), v: glaTokens(x.v, i, 1), gk: glaTokens(x.gk, i, 1),
                state: &state)
            out += o.scalars
        }
        return (Tensor(shape: x.v.shape, scalars: out), state)
    }

    @Test(arguments: placements.map(\.0), [false, true])
    func glaPathsAgreeWithResets(placement: String, perChannel: Bool) throws {
        let resets = Self.placements.first { $0.0 == placement }!.1
        var rng = SeededRandom(seed: 7600)
        let h0: Tensor<Double> = rng.tensor([1, 2, 6, 5], -0.5...0.5)
        for (vi, value) in Self.values.enumerated() {
            let x = glaInputs(seed: 7610 + UInt64(vi), resets: resets, value: value, perChannel: perChannel)
            let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: h0)
            #expect(allFinite(ref.output) && allFinite(ref.finalState))
            for (c, sub) in [(32, 16), (16, 16), (8, 4), (4, 2), (64, 64)] {
                let r = try GLA.chunked(
                    q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: h0, chunkSize: c, subChunkSize: sub)
                let eo = error(r.output, ref.output)
                let es = error(r.finalState, ref.finalState)
                #expect(eo <= 1e-10 && es <= 1e-10, "\(placement) g=\(value) chunk=\(c)/\(sub): \(eo), \(es)")
            }
            let (so, ss) = try glaSteps(x, initialState: h0)
            #expect(error(so, ref.output) <= 1e-10 && error(ss, ref.finalState) <= 1e-10, "\(placement) step")
        }
    }

    /// A whole-head reset at token r: the outputs from r on and the final state equal the reference
    /// on tokens r ..< T with head 0's initial state zero (and head 1's carried to r).
    @Test(arguments: placements.map(\.0))
    func glaResetEqualsFreshStart(placement: String) throws {
        let resets = Self.placements.first { $0.0 == placement }!.1
        var rng = SeededRandom(seed: 7700)
        let h0: Tensor<Double> = rng.tensor([1, 2, 6, 5], -0.5...0.5)
        let x = glaInputs(seed: 7701, resets: resets, value: -.infinity, perChannel: false)
        let c = try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: h0)
        let r = resets.max()!
        let t = 40
        var start = h0
        if r > 0 {
            let before = try GLA.reference(
                q: glaTokens(x.q, 0, r), k: glaTokens(x.k, 0, r), v: glaTokens(x.v, 0, r),
                gk: glaTokens(x.gk, 0, r), initialState: h0
            ).finalState
            start = before
        }
        for e in 0..<30 { start.scalars[e] = 0 }
        var gk = glaTokens(x.gk, r, t - r)
        for ch in 0..<6 { gk.scalars[ch] = 0 }
        let fresh = try GLA.reference(
            q: glaTokens(x.q, r, t - r), k: glaTokens(x.k, r, t - r), v: glaTokens(x.v, r, t - r), gk: gk,
            initialState: start)
        #expect(error(glaTokens(c.output, r, t - r), fresh.output) <= 1e-10, "\(placement)")
        #expect(error(c.finalState, fresh.finalState) <= 1e-10, "\(placement)")
    }

    @Test func glaVarlenResets() throws {
        var rng = SeededRandom(seed: 7800)
        var x = GLAInputs<Double>(rng: &rng)
        let cu = [0, 10, 27, 27, 40]
        for (t, h) in [(10, 0), (10, 1), (20, 0), (39, 1), (26, 1), (3, 0)] {
            for c in 0..<6 { x.gk.scalars[(t * 2 + h) * 6 + c] = t == 3 ? -1e30 : -.infinity }
        }
        let h0: Tensor<Double> = rng.tensor([4, 2, 6, 5], -0.5...0.5)
        let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: h0, cuSeqlens: cu)
        for (c, sub) in [(32, 16), (8, 4), (3, 2)] {
            let r = try GLA.chunked(
                q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: h0, cuSeqlens: cu, chunkSize: c, subChunkSize: sub)
            #expect(error(r.output, ref.output) <= 1e-10 && error(r.finalState, ref.finalState) <= 1e-10)
        }
        // Sequence 1 starts with a reset of both heads: its initial state is unused.
        var h1 = h0
        for e in 0..<60 { h1.scalars[60 + e] = 0 }
        var gk = x.gk
        for e in 0..<12 { gk.scalars[10 * 12 + e] = 0 }
        let z = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: gk, initialState: h1, cuSeqlens: cu)
        #expect(error(ref.output, z.output) <= 1e-10 && error(ref.finalState, z.finalState) <= 1e-10)
    }

    @Test func glaFloat32MatchesFloat64() throws {
        var x = glaInputs(seed: 7900, resets: [0, 5, 16, 17, 39], value: -.infinity, perChannel: true)
        x.gk.scalars[(22 * 2 + 1) * 6 + 3] = -1e30
        x.gk.scalars[(30 * 2 + 1) * 6 + 1] = -200
        let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk)
        let f = try GLA.chunked(
            q: x.q.converted(to: Float.self), k: x.k.converted(to: Float.self), v: x.v.converted(to: Float.self),
            gk: x.gk.converted(to: Float.self))
        #expect(allFinite(f.output) && allFinite(f.finalState))
        #expect(f.output.converted(to: Double.self).relativeError(to: ref.output) <= 1e-4)
        #expect(f.finalState.converted(to: Double.self).relativeError(to: ref.finalState) <= 1e-4)
    }

    @Test func glaStillRejectsNaNPositiveInfinityAndPositive() throws {
        for (value, expected) in [
            (Double.nan, KernelError.nonFinite(tensor: "gk")), (.infinity, .nonFinite(tensor: "gk")),
            (0.5, .invalidArgument(name: "gk", reason: "log-decays must be ≤ 0, found 0.5")),
        ] {
            var x = glaInputs(seed: 7950, resets: [3], value: -.infinity, perChannel: false)
            x.gk.scalars[50] = value
            #expect(throws: expected) { try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk) }
            #expect(throws: expected) { try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk) }
            #expect(throws: expected) { try glaSteps(x, initialState: nil) }
        }
    }
}

extension GLAInputs where T == Double {
    /// The 40-token, H = 2, K = 6, V = 5 inputs of the reset tests.
    init(rng: inout SeededRandom) {
        self.init(&rng, b: 1, t: 40, h: 2, dk: 6, dv: 5, decay: -0.6...0)
    }
}
