import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Central finite differences of the reference forward's loss against both backward paths (Float64).
@Suite("GLA backward finite differences")
struct GLABackwardGradientTests {
    /// The layouts: a batch with an initial state; packed sequences with an empty and a length-1 sequence;
    /// no output cotangent; no final-state cotangent and no initial state.
    static let layouts = ["batch", "packed", "noOutputGradient", "noFinalStateGradient"]

    static func makeCase(_ layout: String) throws -> GLABackwardCase<Double> {
        var rng = SeededRandom(seed: 4100 + UInt64(layouts.firstIndex(of: layout)!))
        let decay: (inout SeededRandom) -> Double = { $0.uniform(-2.5 ... -0.01) }
        switch layout {
        case "packed":
            return try GLABackwardCase(
                &rng, b: 1, t: 7, h: 2, dk: 3, dv: 2, lengths: [0, 1, 3, 0, 3], decay: decay)
        case "noOutputGradient":
            return try GLABackwardCase(&rng, b: 2, t: 5, h: 2, dk: 3, dv: 2, decay: decay, withOutputGradient: false)
        case "noFinalStateGradient":
            return try GLABackwardCase(
                &rng, b: 1, t: 6, h: 2, dk: 3, dv: 4, decay: decay, withInitialState: false,
                withFinalStateGradient: false)
        default:
            return try GLABackwardCase(&rng, b: 2, t: 5, h: 2, dk: 3, dv: 2, decay: decay)
        }
    }

    /// dL/dx by central differences, element by element (step 1e-5).
    static func finiteDifference(
        _ c: GLABackwardCase<Double>, _ field: WritableKeyPath<GLA.Inputs<Double>, Tensor<Double>>
    ) throws -> Tensor<Double> {
        let step = 1e-5
        var result = c.inputs[keyPath: field]
        for i in 0..<result.count {
            var plus = c.inputs
            plus[keyPath: field].scalars[i] += step
            var minus = c.inputs
            minus[keyPath: field].scalars[i] -= step
            result.scalars[i] = (try c.loss(plus) - c.loss(minus)) / (2 * step)
        }
        return result
    }

    /// dL/dh0 by central differences.
    static func finiteDifferenceInitialState(_ c: GLABackwardCase<Double>) throws -> Tensor<Double>? {
        guard var result = c.inputs.initialState else { return nil }
        let step = 1e-5
        for i in 0..<result.count {
            var plus = c.inputs
            plus.initialState!.scalars[i] += step
            var minus = c.inputs
            minus.initialState!.scalars[i] -= step
            result.scalars[i] = (try c.loss(plus) - c.loss(minus)) / (2 * step)
        }
        return result
    }

    /// Every input's gradient, from the chunked backward (small chunks, so several chunks, sub-chunks and
    /// a partial last chunk run) and from the reference backward, within 1e-7 of the finite differences.
    @Test(arguments: layouts)
    func gradientsMatchFiniteDifferences(layout: String) throws {
        let c = try Self.makeCase(layout)
        let expected = GLA.Inputs(
            q: try Self.finiteDifference(c, \.q), k: try Self.finiteDifference(c, \.k),
            v: try Self.finiteDifference(c, \.v), gk: try Self.finiteDifference(c, \.gk),
            initialState: try Self.finiteDifferenceInitialState(c))
        let paths: [(String, GLA.Inputs<Double>)] = [
            ("reference", try c.referenceBackward()),
            ("chunk 2/1", try c.backward(chunkSize: 2, subChunkSize: 1)),
            ("chunk 3/2", try c.backward(chunkSize: 3, subChunkSize: 2)),
            ("chunk default", try c.backward()),
        ]
        for (name, g) in paths {
            let fields: [(String, Tensor<Double>, Tensor<Double>)] = [
                ("dq", g.q, expected.q), ("dk", g.k, expected.k), ("dv", g.v, expected.v), ("dgk", g.gk, expected.gk),
            ]
            for (field, x, ref) in fields {
                if layout == "noOutputGradient" && field == "dq" {
                    // q reaches only the output: without its cotangent dq is exactly zero.
                    #expect(x.scalars.allSatisfy { $0 == 0 }, "\(name): dq without outputGradient")
                    continue
                }
                #expect(ref.maxAbs > 0, "\(layout) \(field): the finite difference is identically zero")
                let error = x.relativeError(to: ref)
                #expect(error <= 1e-7, "\(layout) \(name) \(field): relative error \(error)")
            }
            #expect((g.initialState == nil) == (expected.initialState == nil), "\(layout) \(name): dh0 presence")
            if let dh0 = g.initialState, let ref = expected.initialState {
                let error = dh0.relativeError(to: ref)
                #expect(error <= 1e-7, "\(layout) \(name) dh0: relative error \(error)")
            }
        }
    }

    /// An empty sequence passes its state through: dh0 = dht exactly (zero without dht), and a
    /// length-1 sequence's dh0 = exp(gk)·(dht + scale·q·doᵀ).
    @Test func emptyAndLengthOneSequences() throws {
        let c = try Self.makeCase("packed")
        for g in [try c.referenceBackward(), try c.backward(chunkSize: 2, subChunkSize: 1)] {
            let dh0 = try #require(g.initialState)
            let dht = try #require(c.finalStateGradient)
            let (h, dk, dv) = (2, 3, 2)
            let size = h * dk * dv
            // Sequences 0 and 3 are empty.
            for n in [0, 3] {
                #expect(
                    Array(dh0.scalars[(n * size)..<((n + 1) * size)])
                        == Array(dht.scalars[(n * size)..<((n + 1) * size)]))
            }
            // Sequence 1 is token 0 alone.
            let dO = try #require(c.outputGradient)
            let scale = try #require(c.scale)
            for head in 0..<h {
                for x in 0..<dk {
                    let row = head * dk + x
                    let a = Double.exp(c.inputs.gk.scalars[row])
                    for y in 0..<dv {
                        let expected =
                            a
                            * (dht.scalars[size + (head * dk + x) * dv + y]
                                + scale * c.inputs.q.scalars[row] * dO.scalars[head * dv + y])
                        let got = dh0.scalars[size + (head * dk + x) * dv + y]
                        #expect(Swift.abs(got - expected) <= 1e-14 * Swift.max(1, Swift.abs(expected)))
                    }
                }
            }
        }
    }
}
