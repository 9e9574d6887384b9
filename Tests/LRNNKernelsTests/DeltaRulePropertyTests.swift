import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Seeded property tests: the chunk and step paths against the naive reference in Float64.
@Suite struct DeltaRulePropertyTests {
    @Test func chunkMatchesReferenceOnRandomShapes() throws {
        var rng = SeededRandom(seed: 2024)
        for trial in 0..<40 {
            let n = 1 + trial % 4
            let chunk = [4, 8, 16][trial % 3]
            let dk = 3 + Int(rng.next() % 7)
            var dv = 2 + Int(rng.next() % 7)
            if dv == dk { dv += 1 }
            let tokenChoices = [
                0, 1, chunk / n - 1, chunk / n, chunk / n + 1, 2 * (chunk / n) + 1, Int(rng.next() % 23),
            ]
            let t = max(0, tokenChoices[Int(rng.next() % UInt64(tokenChoices.count))])
            let x = DeltaRuleInputs<Double>(
                batch: 1 + Int(rng.next() % 2), tokens: t, heads: 1 + Int(rng.next() % 2), keyDim: dk, valueDim: dv,
                householder: n, gated: trial % 2 == 0, initialState: trial % 3 != 0, rng: &rng)
            let c = try x.chunked(chunkSize: chunk)
            let r = try x.reference()
            let eo = c.output.relativeError(to: r.output)
            let es = c.finalState.relativeError(to: r.finalState)
            #expect(eo <= 1e-10, "trial \(trial): T=\(t) n=\(n) C=\(chunk) K=\(dk) V=\(dv) output error \(eo)")
            #expect(es <= 1e-10, "trial \(trial): T=\(t) n=\(n) C=\(chunk) K=\(dk) V=\(dv) state error \(es)")
        }
    }

    @Test(arguments: [1, 2, 3])
    func chunkBoundaries(n: Int) throws {
        var rng = SeededRandom(seed: 77 + UInt64(n))
        let chunk = 8
        let c = chunk / n
        for t in [0, 1, c - 1, c, c + 1, 2 * c, 2 * c + 1] {
            for gated in [false, true] {
                let x = DeltaRuleInputs<Double>(
                    batch: 2, tokens: t, heads: 2, keyDim: 5, valueDim: 4, householder: n, gated: gated,
                    initialState: true, rng: &rng)
                let ch = try x.chunked(chunkSize: chunk)
                let r = try x.reference()
                #expect(ch.output.relativeError(to: r.output) <= 1e-10, "T=\(t) n=\(n) gated=\(gated)")
                #expect(ch.finalState.relativeError(to: r.finalState) <= 1e-10, "T=\(t) n=\(n) gated=\(gated)")
            }
        }
    }

    @Test func hugeChunkSizeIsClampedToTheSequence() throws {
        var rng = SeededRandom(seed: 8)
        let x = DeltaRuleInputs<Double>(
            batch: 1, tokens: 5, heads: 1, keyDim: 4, valueDim: 3, householder: 2, gated: true, initialState: true,
            rng: &rng)
        let c = try x.chunked(chunkSize: 1 << 40)
        let r = try x.reference()
        #expect(c.output.relativeError(to: r.output) <= 1e-12)
        #expect(c.finalState.relativeError(to: r.finalState) <= 1e-12)
    }

    @Test(arguments: [1, 2, 4])
    func varlenWithEmptySequences(n: Int) throws {
        var rng = SeededRandom(seed: 5 + UInt64(n))
        let cu = [0, 0, 5, 5, 13, 30, 30]
        for gated in [false, true] {
            let x = DeltaRuleInputs<Double>(
                batch: 1, tokens: 30, heads: 2, keyDim: 6, valueDim: 3, householder: n, gated: gated,
                initialState: true, cuSeqlens: cu, rng: &rng)
            let ch = try x.chunked(chunkSize: 8)
            let r = try x.reference()
            #expect(ch.output.relativeError(to: r.output) <= 1e-10)
            #expect(ch.finalState.relativeError(to: r.finalState) <= 1e-10)
            // Empty sequences keep their initial state.
            for s in [0, 2, 5] {
                for e in 0..<(2 * 6 * 3) {
                    #expect(ch.finalState.scalars[s * 36 + e] == x.h0!.scalars[s * 36 + e])
                }
            }
        }
    }

    @Test func referenceVarlenEqualsSeparateSequences() throws {
        var rng = SeededRandom(seed: 31)
        let n = 2
        let cu = [0, 4, 4, 11]
        let x = DeltaRuleInputs<Double>(
            batch: 1, tokens: 11, heads: 2, keyDim: 4, valueDim: 5, householder: n, gated: true,
            initialState: true, cuSeqlens: cu, rng: &rng)
        let packed = try x.reference()
        for s in 0..<(cu.count - 1) {
            let (a, b) = (cu[s], cu[s + 1])
            func rows(_ t: Tensor<Double>, _ lo: Int, _ hi: Int) -> Tensor<Double> {
                let inner = t.count / max(t.shape[1], 1)
                var shape = t.shape
                shape[1] = hi - lo
                return Tensor(shape: shape, scalars: Array(t.scalars[(lo * inner)..<(hi * inner)]))
            }
            let stateSize = 2 * 4 * 5
            let h0 = Tensor(
                shape: [1, 2, 4, 5], scalars: Array(x.h0!.scalars[(s * stateSize)..<((s + 1) * stateSize)]))
            let one = try DeltaRule.reference(
                q: rows(x.q, a, b), k: rows(x.k, a * n, b * n), v: rows(x.v, a * n, b * n),
                beta: rows(x.beta, a * n, b * n), g: rows(x.g!, a, b), initialState: h0, numHouseholder: n)
            #expect(maxAbsDifference(one.output, rows(packed.output, a, b)) == 0)
            #expect(one.finalState.scalars == Array(packed.finalState.scalars[(s * stateSize)..<((s + 1) * stateSize)]))
        }
    }

    @Test(arguments: [1, 2, 3])
    func stepMatchesReference(n: Int) throws {
        var rng = SeededRandom(seed: 400 + UInt64(n))
        for gated in [false, true] {
            let x = DeltaRuleInputs<Double>(
                batch: 2, tokens: 9, heads: 3, keyDim: 7, valueDim: 4, householder: n, gated: gated,
                initialState: true, rng: &rng)
            let s = try x.recurrent()
            let r = try x.reference()
            #expect(s.output.relativeError(to: r.output) <= 1e-12)
            #expect(s.finalState.relativeError(to: r.finalState) <= 1e-12)
        }
    }

    @Test func stepOnLargeStatesRunsHeadsInParallelAndMatchesReference() throws {
        // B·H·K·V = 2·4·128·128 = 2¹⁷ scalars: the threshold from which step spreads heads over threads.
        var rng = SeededRandom(seed: 4242)
        let x = DeltaRuleInputs<Double>(
            batch: 2, tokens: 2, heads: 4, keyDim: 128, valueDim: 128, householder: 2, gated: true,
            initialState: true, rng: &rng)
        let s = try x.recurrent()
        let r = try x.reference()
        #expect(s.output.relativeError(to: r.output) <= 1e-12)
        #expect(s.finalState.relativeError(to: r.finalState) <= 1e-12)
    }

    @Test(arguments: [1, 3])
    func prefillThenStepEqualsWholeSequence(n: Int) throws {
        var rng = SeededRandom(seed: 900 + UInt64(n))
        let (t, prefix) = (23, 17)
        let x = DeltaRuleInputs<Double>(
            batch: 2, tokens: t, heads: 2, keyDim: 6, valueDim: 5, householder: n, gated: true, initialState: true,
            rng: &rng)
        let whole = try x.chunked(chunkSize: 8)
        func rows(_ tensor: Tensor<Double>, _ lo: Int, _ hi: Int) -> Tensor<Double> {
            var shape = tensor.shape
            let perRow = tensor.count / (shape[0] * shape[1])
            shape[1] = hi - lo
            var out: [Double] = []
            for b in 0..<shape[0] {
                let base = b * tensor.shape[1] * perRow
                out += tensor.scalars[(base + lo * perRow)..<(base + hi * perRow)]
            }
            return Tensor(shape: shape, scalars: out)
        }
        let pre = try DeltaRule.chunked(
            q: rows(x.q, 0, prefix), k: rows(x.k, 0, prefix * n), v: rows(x.v, 0, prefix * n),
            beta: rows(x.beta, 0, prefix * n), g: rows(x.g!, 0, prefix), initialState: x.h0, numHouseholder: n,
            chunkSize: 8)
        var state = pre.finalState
        #expect(rows(whole.output, 0, prefix).relativeError(to: pre.output) <= 1e-12)
        for tok in prefix..<t {
            let o = try DeltaRule.step(
                q: rows(x.q, tok, tok + 1), k: rows(x.k, tok * n, tok * n + n), v: rows(x.v, tok * n, tok * n + n),
                beta: rows(x.beta, tok * n, tok * n + n), g: rows(x.g!, tok, tok + 1), numHouseholder: n,
                state: &state)
            #expect(o.relativeError(to: rows(whole.output, tok, tok + 1)) <= 1e-10, "token \(tok)")
        }
        #expect(state.relativeError(to: whole.finalState) <= 1e-10)
    }

    /// Strong gates push some chunks past the range where the kernel takes exp(γ_i − γ_j) as
    /// exp(γ_i)·exp(−γ_j) (−γ_c ≤ 79 in Float32, ≤ 638 in Float64); those chunks take every
    /// exponential directly. Both paths, mixed in one sequence, must match the reference.
    @Test(arguments: [(-0.5, 0.0), (-120.0, -30.0), (-3.0, 0.0)])
    func strongDecayMatchesReference(range: (Double, Double)) throws {
        var rng = SeededRandom(seed: 77)
        for (trial, n) in [1, 2].enumerated() {
            var x = DeltaRuleInputs<Double>(
                batch: 1, tokens: 53, heads: 2, keyDim: 6, valueDim: 5, householder: n, gated: true,
                initialState: true, rng: &rng)
            // Alternate strong and weak stretches so that factored and direct chunks follow each other.
            let g: Tensor<Double> = rng.tensor([1, 53, 2], range.0...range.1)
            for i in 0..<g.count { x.g!.scalars[i] = (i / 40) % 2 == 0 ? g.scalars[i] : g.scalars[i] / 100 }
            for chunk in [8, 16] {
                let c = try x.chunked(chunkSize: chunk)
                let r = try x.reference()
                let eo = c.output.relativeError(to: r.output)
                let es = c.finalState.relativeError(to: r.finalState)
                #expect(eo <= 1e-10, "trial \(trial) g in \(range) C=\(chunk): output error \(eo)")
                #expect(es <= 1e-10, "trial \(trial) g in \(range) C=\(chunk): state error \(es)")
                // Float32 through the same cases (the factored-decay limit is 79 there).
                let q32 = x.q.converted(to: Float.self)
                let k32 = x.k.converted(to: Float.self)
                let v32 = x.v.converted(to: Float.self)
                let c32 = try DeltaRule.chunked(
                    q: q32, k: k32, v: v32, beta: x.beta.converted(to: Float.self), g: x.g!.converted(to: Float.self),
                    initialState: x.h0!.converted(to: Float.self), numHouseholder: n, chunkSize: chunk)
                let e32 = c32.output.converted(to: Double.self).relativeError(to: r.output)
                #expect(e32 <= 1e-5, "trial \(trial) g in \(range) C=\(chunk): Float32 output error \(e32)")
            }
        }
    }
}
