import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import RealModule
import Testing

@Suite("GLA chunked vs reference")
struct GLAPropertyTests {
    /// Chunked vs reference in Float64 for lengths around chunk (16) and sub-chunk (4) boundaries.
    @Test(arguments: [1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 50])
    func lengthsAroundBoundaries(t: Int) throws {
        var rng = SeededRandom(seed: 100 + UInt64(t))
        for decay in [-0.1...0.0, -7.0...(-1.0)] {
            let x = GLAInputs<Double>(&rng, b: 2, t: t, h: 2, dk: 6, dv: 5, decay: decay)
            let s0: Tensor<Double> = rng.tensor([2, 2, 6, 5])
            let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk, scale: 0.3, initialState: s0)
            let out = try GLA.chunked(
                q: x.q, k: x.k, v: x.v, gk: x.gk, scale: 0.3, initialState: s0, chunkSize: 16, subChunkSize: 4)
            #expect(out.output.relativeError(to: ref.output) <= 1e-10)
            #expect(out.finalState.relativeError(to: ref.finalState) <= 1e-10)
        }
    }

    /// Default chunk sizes, d_k ≠ d_v, lengths around one and two default chunks.
    @Test(arguments: [31, 32, 33, 64, 65, 130])
    func defaultSizes(t: Int) throws {
        var rng = SeededRandom(seed: 200 + UInt64(t))
        for decay in [-0.05...0.0, -10.0...0.0] {
            let x = GLAInputs<Double>(&rng, b: 1, t: t, h: 2, dk: 12, dv: 7, decay: decay)
            let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk)
            let out = try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk)
            #expect(out.output.relativeError(to: ref.output) <= 1e-10)
            #expect(out.finalState.relativeError(to: ref.finalState) <= 1e-10)
        }
    }

    /// Sub-chunk sizes that do not divide the chunk, and a sub-chunk larger than the chunk (clamped).
    @Test(arguments: [(8, 3), (8, 8), (8, 20), (1, 1), (5, 2)])
    func chunkShapes(chunk: Int, sub: Int) throws {
        var rng = SeededRandom(seed: 300 + UInt64(chunk * 31 + sub))
        let x = GLAInputs<Double>(&rng, b: 1, t: 29, h: 1, dk: 4, dv: 3, decay: -4.0...0.0)
        let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk)
        let out = try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, chunkSize: chunk, subChunkSize: sub)
        #expect(out.output.relativeError(to: ref.output) <= 1e-10)
        #expect(out.finalState.relativeError(to: ref.finalState) <= 1e-10)
    }

    /// Decay regimes that change along the sequence: weak stretches (diagonal sub-chunk blocks as GEMMs),
    /// strong ones (log-decays of −20 to −120 per step: halved diagonal blocks, down to the direct pair
    /// loop, even in Float64) and gk = 0 stretches, per channel and per head.
    @Test func mixedDecayRegimes() throws {
        var rng = SeededRandom(seed: 350)
        let (t, h, dk, dv) = (150, 2, 8, 5)
        var x = GLAInputs<Double>(&rng, b: 1, t: t, h: h, dk: dk, dv: dv, decay: -0.2...0.0)
        for i in 0..<t {
            for hh in 0..<h {
                for c in 0..<dk {
                    let idx = (i * h + hh) * dk + c
                    switch (i / 25 + hh + c % 3) % 4 {
                    case 0: x.gk.scalars[idx] = -rng.uniform(20...120)
                    case 1: x.gk.scalars[idx] = 0
                    case 2: x.gk.scalars[idx] = -rng.uniform(0...8)
                    default: break
                    }
                }
            }
        }
        let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk)
        for (chunk, sub) in [(64, 16), (16, 8), (32, 32)] {
            let out = try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, chunkSize: chunk, subChunkSize: sub)
            #expect(out.output.relativeError(to: ref.output) <= 1e-10)
            #expect(out.finalState.relativeError(to: ref.finalState) <= 1e-10)
        }
        // Float32 against the Float64 reference.
        let out32 = try GLA.chunked(
            q: x.q.converted(to: Float.self), k: x.k.converted(to: Float.self), v: x.v.converted(to: Float.self),
            gk: x.gk.converted(to: Float.self))
        #expect(out32.output.converted(to: Double.self).relativeError(to: ref.output) <= 1e-5)
        #expect(out32.finalState.converted(to: Double.self).relativeError(to: ref.finalState) <= 1e-5)
    }

    /// Packed sequences with empty ones, each with its own initial state.
    @Test func varlenWithEmptySequences() throws {
        var rng = SeededRandom(seed: 400)
        let cu = [0, 0, 5, 5, 37, 70, 70]
        let x = GLAInputs<Double>(&rng, b: 1, t: 70, h: 3, dk: 8, dv: 6, decay: -3.0...0.0)
        let s0: Tensor<Double> = rng.tensor([6, 3, 8, 6])
        let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: s0, cuSeqlens: cu)
        let out = try GLA.chunked(
            q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: s0, cuSeqlens: cu, chunkSize: 16, subChunkSize: 4)
        #expect(out.output.relativeError(to: ref.output) <= 1e-10)
        #expect(out.finalState.relativeError(to: ref.finalState) <= 1e-10)
        // Empty sequences pass their initial state through unchanged.
        let size = 3 * 8 * 6
        for n in [0, 2, 5] {
            let range = (n * size)..<((n + 1) * size)
            #expect(Array(out.finalState.scalars[range]) == Array(s0.scalars[range]))
        }
        // A packed sequence equals the same sequence run alone.
        let alone = try GLA.chunked(
            q: glaTokens(x.q, 5, 32), k: glaTokens(x.k, 5, 32), v: glaTokens(x.v, 5, 32),
            gk: glaTokens(x.gk, 5, 32),
            initialState: Tensor(shape: [1, 3, 8, 6], scalars: Array(s0.scalars[(3 * size)..<(4 * size)])))
        #expect(alone.output.relativeError(to: glaTokens(out.output, 5, 32)) <= 1e-12)
    }

    /// T = 0 returns an empty output and the initial state.
    @Test func emptySequence() throws {
        var rng = SeededRandom(seed: 450)
        let x = GLAInputs<Double>(&rng, b: 2, t: 0, h: 2, dk: 3, dv: 4, decay: -1.0...0.0)
        let s0: Tensor<Double> = rng.tensor([2, 2, 3, 4])
        let out = try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: s0)
        #expect(out.output.shape == [2, 0, 2, 4])
        #expect(out.finalState == s0)
    }

    /// Scalar decay per head (RetNet / simple GLA) against the explicit quadratic form
    /// o_t = Σ_{s ≤ t} exp(Σ_{s < r ≤ t} g_r)·(scale·q_t·k_s)·v_s.
    @Test func scalarDecayMatchesQuadraticForm() throws {
        var rng = SeededRandom(seed: 500)
        let (t, dk, dv) = (40, 5, 4)
        let x = GLAInputs<Double>(&rng, b: 1, t: t, h: 1, dk: dk, dv: dv, decay: -2.0...0.0, scalarDecay: true)
        let scale = 0.7
        let out = try GLA.chunked(
            q: x.q, k: x.k, v: x.v, gk: x.gk, scale: scale, chunkSize: 16, subChunkSize: 4)
        var expected = Tensor<Double>(zeros: [1, t, 1, dv])
        for i in 0..<t {
            for s in 0...i {
                var logDecay = 0.0
                for r in stride(from: s + 1, through: i, by: 1) { logDecay += x.gk.scalars[r * dk] }
                var dot = 0.0
                for c in 0..<dk { dot += x.q.scalars[i * dk + c] * x.k.scalars[s * dk + c] }
                let w = Double.exp(logDecay) * scale * dot
                for y in 0..<dv { expected.scalars[i * dv + y] += w * x.v.scalars[s * dv + y] }
            }
        }
        #expect(out.output.relativeError(to: expected) <= 1e-10)
        let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk, scale: scale)
        #expect(out.finalState.relativeError(to: ref.finalState) <= 1e-10)
    }

    /// gk = 0: causal linear attention, o_t = Σ_{s ≤ t} (scale·q_t·k_s)·v_s, and the final state is Kᵀ·V.
    @Test func zeroDecayIsCausalLinearAttention() throws {
        var rng = SeededRandom(seed: 600)
        let (t, dk, dv) = (37, 4, 3)
        var x = GLAInputs<Double>(&rng, b: 1, t: t, h: 1, dk: dk, dv: dv, decay: -1.0...0.0)
        x.gk = Tensor(zeros: [1, t, 1, dk])
        let out = try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, scale: 1, chunkSize: 8, subChunkSize: 4)
        var expected = Tensor<Double>(zeros: [1, t, 1, dv])
        var state = Tensor<Double>(zeros: [1, 1, dk, dv])
        for i in 0..<t {
            for s in 0...i {
                var dot = 0.0
                for c in 0..<dk { dot += x.q.scalars[i * dk + c] * x.k.scalars[s * dk + c] }
                for y in 0..<dv { expected.scalars[i * dv + y] += dot * x.v.scalars[s * dv + y] }
            }
            for c in 0..<dk {
                for y in 0..<dv { state.scalars[c * dv + y] += x.k.scalars[i * dk + c] * x.v.scalars[i * dv + y] }
            }
        }
        #expect(out.output.relativeError(to: expected) <= 1e-12)
        #expect(out.finalState.relativeError(to: state) <= 1e-12)
    }

    /// Prefill with the chunked kernel, then continue token by token with `step`: equals the whole run.
    @Test func prefillThenStep() throws {
        var rng = SeededRandom(seed: 700)
        let (t, prefill, h, dk, dv) = (45, 29, 2, 6, 5)
        let x = GLAInputs<Double>(&rng, b: 1, t: t, h: h, dk: dk, dv: dv, decay: -5.0...0.0)
        let whole = try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, chunkSize: 8, subChunkSize: 4)
        let head = try GLA.chunked(
            q: glaTokens(x.q, 0, prefill), k: glaTokens(x.k, 0, prefill), v: glaTokens(x.v, 0, prefill),
            gk: glaTokens(x.gk, 0, prefill), chunkSize: 8, subChunkSize: 4)
        var state = head.finalState
        var outputs = head.output.scalars
        for i in prefill..<t {
            let o = try GLA.step(
                q: glaTokens(x.q, i, 1), k: glaTokens(x.k, i, 1), v: glaTokens(x.v, i, 1),
                gk: glaTokens(x.gk, i, 1), state: &state)
            outputs += o.scalars
        }
        #expect(Tensor(shape: [1, t, h, dv], scalars: outputs).relativeError(to: whole.output) <= 1e-12)
        #expect(state.relativeError(to: whole.finalState) <= 1e-12)
    }

    /// Batched `step` (B = 3) against the reference, one token at a time.
    @Test func batchedStepMatchesReference() throws {
        var rng = SeededRandom(seed: 800)
        let (b, t, h, dk, dv) = (3, 6, 2, 5, 4)
        let x = GLAInputs<Double>(&rng, b: b, t: t, h: h, dk: dk, dv: dv, decay: -2.0...0.0)
        var state: Tensor<Double> = rng.tensor([b, h, dk, dv])
        let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk, scale: 0.5, initialState: state)
        func token(_ x: Tensor<Double>, _ i: Int) -> Tensor<Double> { x.slice(batches: 0..<b, tokens: i..<(i + 1)) }
        var worst = 0.0
        for i in 0..<t {
            let o = try GLA.step(
                q: token(x.q, i), k: token(x.k, i), v: token(x.v, i), gk: token(x.gk, i), scale: 0.5, state: &state)
            worst = max(worst, o.relativeError(to: token(ref.output, i)))
        }
        #expect(worst <= 1e-12)
        #expect(state.relativeError(to: ref.finalState) <= 1e-12)
    }

    /// A long run with strong decays (down to −10 per step) stays finite and matches the Float64
    /// reference in Float32.
    @Test func longStrongDecayFloat32() throws {
        var rng = SeededRandom(seed: 900)
        let x = GLAInputs<Double>(&rng, b: 1, t: 8192, h: 1, dk: 8, dv: 4, decay: -10.0...0.0)
        let ref = try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk)
        let out = try GLA.chunked(
            q: x.q.converted(to: Float.self), k: x.k.converted(to: Float.self), v: x.v.converted(to: Float.self),
            gk: x.gk.converted(to: Float.self))
        #expect(out.output.allFinite && out.finalState.allFinite)
        #expect(out.output.converted(to: Double.self).relativeError(to: ref.output) <= 1e-4)
        #expect(out.finalState.converted(to: Double.self).relativeError(to: ref.finalState) <= 1e-4)
    }
}
