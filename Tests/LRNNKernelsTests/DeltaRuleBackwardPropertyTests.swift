import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@testable import LRNNKernels

/// The chunked backward against the token-by-token reference backward in Float64 (≤ 1e-10
/// relative per gradient) over seeded random shapes: gates down to −7 per step, β up to 2,
/// DeltaProduct n = 1…3, packed sequences with empty and length-1 ones, absent cotangents,
/// resets (−∞ and underflowing log decays) and chunk sizes 1…32.
@Suite struct DeltaRuleBackwardPropertyTests {
    /// One random case from `seed`, with its chunk size.
    static func randomCase(seed: UInt64) throws -> (DeltaRuleBackwardCase, chunkSize: Int) {
        var rng = SeededRandom(seed: seed &+ 1000)
        func pick(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.next() % UInt64(r.count)) }
        let n = pick(1...3)
        let packed = pick(0...2) == 0
        let lengths: [Int]? = packed ? (0..<pick(1...4)).map { _ in [0, 1, pick(2...13)][pick(0...2)] } : nil
        let gated = pick(0...3) != 0
        var c = try DeltaRuleBackwardCase(
            batch: packed ? 1 : pick(1...2), tokens: [0, 1, pick(2...25)][pick(0...2) == 0 ? pick(0...1) : 2],
            heads: pick(1...3), keyDim: pick(1...9), valueDim: pick(1...9), n: n, gated: gated,
            initialState: pick(0...1) == 1, maxBeta: 2, gates: -7...0, lengths: lengths,
            outputGradient: pick(0...4) != 0, finalStateGradient: pick(0...2) != 0,
            scale: pick(0...1) == 0 ? nil : 0.8, seed: seed)
        if var g = c.inputs.g, pick(0...2) == 0, g.count > 0 {
            // Resets: exp(g) = 0 at a few tokens (−∞, or a finite value that underflows).
            for _ in 0..<pick(1...3) { g.scalars[pick(0...(g.count - 1))] = pick(0...1) == 0 ? -.infinity : -1e30 }
            c.inputs.g = g
        }
        return (c, [1, 2, 3, 5, 8, 16, 32][pick(0...6)])
    }

    @Test("backward equals referenceBackward (≤ 1e-10) over random shapes", arguments: 0..<60)
    func matchesReference(_ seed: Int) throws {
        let (c, chunkSize) = try Self.randomCase(seed: UInt64(seed))
        let reference = try c.referenceBackward()
        let chunk = try c.backward(chunkSize: chunkSize)
        let e = gradientError(chunk, reference)
        #expect(e.error <= 1e-10, "seed \(seed), chunk \(chunkSize): \(e.error) in \(e.field)")
    }

    @Test("the segmented path (states recomputed from segment checkpoints) gives the same gradients")
    func segments() throws {
        for (seed, n) in [(1, 1), (2, 2)] {
            let c = try DeltaRuleBackwardCase(
                batch: 1, tokens: 0, heads: 2, keyDim: 3, valueDim: 4, n: n, gated: true, initialState: true,
                gates: -7...0, lengths: [23, 0, 1, 17], seed: UInt64(seed))
            let p = try DeltaRule.validateBackward(
                c.inputs, chunkSize: 1, numHouseholder: n, sequences: c.sequences, outputGradient: c.outputGradient,
                finalStateGradient: c.finalStateGradient)
            let reference = try c.referenceBackward()
            // 12 scalars per state: a budget of 2 or 3 states cuts a sequence into segments of 2 or 3 chunks.
            for budget in [12, 24, 36, 1 << 22] {
                let chunk = try DeltaRule.runBackward(
                    p, c.inputs, scale: 1 / 3.0.squareRoot(), chunkSize: 2 * n, outputGradient: c.outputGradient,
                    finalStateGradient: c.finalStateGradient, stateBudget: budget)
                let e = gradientError(chunk, reference)
                #expect(e.error <= 1e-10, "n \(n), budget \(budget): \(e.error) in \(e.field)")
            }
        }
    }

    @Test("Float32 backward stays within 1e-4 of the Float64 reference")
    func float32() throws {
        for seed in 0..<8 {
            let (c, chunkSize) = try Self.randomCase(seed: UInt64(seed))
            let reference = try c.referenceBackward()
            let x = c.inputs
            let x32 = DeltaRule.Inputs<Float>(
                q: x.q.converted(), k: x.k.converted(), v: x.v.converted(), beta: x.beta.converted(),
                g: x.g?.converted(), initialState: x.initialState?.converted())
            let chunk = try DeltaRule.backward(
                x32, scale: c.scale.map { Float($0) }, numHouseholder: c.n, sequences: c.sequences,
                chunkSize: chunkSize, outputGradient: c.outputGradient?.converted(),
                finalStateGradient: c.finalStateGradient?.converted())
            let e = gradientError(chunk, reference)
            #expect(e.error <= 1e-4, "seed \(seed): \(e.error) in \(e.field)")
        }
    }
}
