import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// The chunked backward against the reference backward over random shapes and decays.
@Suite("GLA backward properties")
struct GLABackwardPropertyTests {
    /// Log-decay per element: uniform down to −7 per step.
    static func strong(_ rng: inout SeededRandom) -> Double { rng.uniform(-7...0) }

    /// Log-decay per element from stretches that run every path of the sub-chunk factorisation in both
    /// precisions: weak, zero, extreme (−20 to −120 per step) and resets (−∞).
    static func mixed(_ rng: inout SeededRandom) -> Double {
        let u = rng.uniform(0...1)
        if u < 0.4 { return rng.uniform(-0.5...0) }
        if u < 0.5 { return 0 }
        if u < 0.9 { return rng.uniform(-120 ... -20) }
        return -.infinity
    }

    /// Float64: chunked = reference ≤ 1e-10 over random B, T (not multiples of the chunk), H, K, V,
    /// chunk and sub-chunk sizes, packed or not, with and without h0 and each cotangent.
    @Test(arguments: 0..<24)
    func chunkedMatchesReference(seed: Int) throws {
        var rng = SeededRandom(seed: 4200 + UInt64(seed))
        let packed = seed % 3 == 0
        let h = Int.random(in: 1...3, using: &rng)
        let dk = Int.random(in: 1...9, using: &rng)
        let dv = Int.random(in: 1...7, using: &rng)
        var lengths: [Int]? = nil
        var (b, t) = (Int.random(in: 1...2, using: &rng), Int.random(in: 1...70, using: &rng))
        if packed {
            lengths = (0..<Int.random(in: 1...4, using: &rng)).map { _ in
                Int.random(in: 0...3, using: &rng) == 0
                    ? Int.random(in: 0...1, using: &rng) : Int.random(in: 2...45, using: &rng)
            }
            (b, t) = (1, lengths!.reduce(0, +))
        }
        let sizes = [(1, 1), (2, 1), (5, 2), (8, 8), (16, 4), (16, 16), (32, 16), (32, 7), (64, 16), (13, 5)]
        let (chunk, sub) = sizes[seed % sizes.count]
        let c = try GLABackwardCase<Double>(
            &rng, b: b, t: t, h: h, dk: dk, dv: dv, lengths: lengths, decay: seed % 2 == 0 ? Self.strong : Self.mixed,
            withInitialState: seed % 4 != 1, withOutputGradient: seed % 5 != 2, withFinalStateGradient: seed % 6 != 3)
        let reference = try c.referenceBackward()
        let chunked = try c.backward(chunkSize: chunk, subChunkSize: sub)
        let error = glaGradientError(chunked, reference)
        #expect(
            error <= 1e-10,
            "seed \(seed): B=\(b) T=\(t) H=\(h) K=\(dk) V=\(dv) C=\(chunk) c=\(sub) lengths=\(lengths ?? []): \(error)")
    }

    /// Float32 chunked against the Float64 reference under strong and mixed decay (the Float32 path
    /// halves strong diagonal blocks down to the pair loop): within 1e-5 relative.
    @Test(arguments: ["strong", "mixed"])
    func float32MatchesFloat64Reference(decay: String) throws {
        var rng = SeededRandom(seed: decay == "strong" ? 4300 : 4301)
        let c = try GLABackwardCase<Double>(
            &rng, b: 1, t: 150, h: 2, dk: 16, dv: 12, lengths: [60, 0, 1, 89],
            decay: decay == "strong" ? Self.strong : Self.mixed)
        let reference = try c.referenceBackward()
        let single = try GLA.backward(
            GLA.Inputs(
                q: c.inputs.q.converted(to: Float.self), k: c.inputs.k.converted(to: Float.self),
                v: c.inputs.v.converted(to: Float.self), gk: c.inputs.gk.converted(to: Float.self),
                initialState: c.inputs.initialState?.converted(to: Float.self)),
            scale: c.scale.map { Float($0) }, sequences: c.sequences,
            outputGradient: c.outputGradient?.converted(to: Float.self),
            finalStateGradient: c.finalStateGradient?.converted(to: Float.self))
        let error = glaGradientError(single, reference)
        #expect(error <= 1e-5, "\(decay): \(error)")
    }

    /// The backward is deterministic and independent of the worker count: the same call with one worker
    /// and with the default gives bit-identical gradients.
    @Test func sameResultWithOneWorker() throws {
        var rng = SeededRandom(seed: 4400)
        let c = try GLABackwardCase<Double>(&rng, b: 2, t: 40, h: 3, dk: 8, dv: 5, decay: Self.strong)
        let all = try c.backward(chunkSize: 8, subChunkSize: 4)
        let saved = Threading.workerCount
        Threading.setWorkerCount(1)
        defer { Threading.setWorkerCount(saved) }
        let one = try c.backward(chunkSize: 8, subChunkSize: 4)
        #expect(all.q.scalars == one.q.scalars && all.k.scalars == one.k.scalars)
        #expect(all.v.scalars == one.v.scalars && all.gk.scalars == one.gk.scalars)
        #expect(all.initialState?.scalars == one.initialState?.scalars)
    }
}
