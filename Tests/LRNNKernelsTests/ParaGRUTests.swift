import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// ParaGRU's Newton-parallel and sequential paths and its backward against the naive oracles (Float64).
@Suite("ParaGRU")
struct ParaGRUTests {
    /// The shapes: T = 0, 1, a batch, long sequences with strong weights (Newton needs many iterations),
    /// packed sequences with empty ones, one head, no initial state.
    static let shapes: [String: ParaRNNShape] = [
        "empty": ParaRNNShape(batch: 2, tokens: 0),
        "single": ParaRNNShape(batch: 3, tokens: 1),
        "batch": ParaRNNShape(batch: 2, tokens: 37, weightScale: 0.5),
        "strong": ParaRNNShape(batch: 2, tokens: 150, inputSize: 4, stateSize: 6, heads: 2, weightScale: 2.5),
        "veryStrong": ParaRNNShape(batch: 1, tokens: 90, inputSize: 3, stateSize: 3, heads: 1, weightScale: 4),
        "packed": ParaRNNShape(batch: 1, tokens: 40, lengths: [0, 7, 1, 0, 29, 3, 0], weightScale: 2),
        "noInitialState": ParaRNNShape(
            batch: 2, tokens: 20, inputSize: 8, stateSize: 8, heads: 4, withInitialState: false,
            withFinalStateGradient: false),
    ]

    @Test(arguments: shapes.keys.sorted())
    func forwardPathsMatchReference(name: String) throws {
        let s = Self.shapes[name]!
        let (x, _, _) = randomGRUCase(s, seed: 17)
        let sequences = try s.sequences()
        let reference = try ParaGRU.reference(x, sequences: sequences)
        for chunkSize in [1, 4, 128] {
            let r = try ParaGRU.chunked(x, sequences: sequences, chunkSize: chunkSize)
            #expect(r.newton.converged, "\(name): \(r.newton)")
            #expect(r.output.relativeError(to: reference.output) <= 1e-10, "\(name) C=\(chunkSize)")
            #expect(r.finalState.relativeError(to: reference.finalState) <= 1e-10, "\(name) C=\(chunkSize)")
        }
        let sequential = try ParaGRU.recurrent(x, sequences: sequences)
        #expect(sequential.output.relativeError(to: reference.output) <= 1e-12)
        #expect(sequential.finalState.relativeError(to: reference.finalState) <= 1e-12)
    }

    /// With the cap too low for the sequence, Newton gives up and the sequential solve answers.
    @Test func fallbackIsReportedAndExact() throws {
        let s = Self.shapes["strong"]!
        let (x, _, _) = randomGRUCase(s, seed: 18)
        let r = try ParaGRU.chunked(x, newton: ParaRNN.NewtonOptions(maxIterations: 1))
        #expect(!r.newton.converged)
        #expect(r.newton.fellBack)
        #expect(r.newton.iterations == 1)
        let reference = try ParaGRU.reference(x)
        #expect(r.output.relativeError(to: reference.output) <= 1e-12)
    }

    /// Every step of the sequence through `step` equals the reference trajectory.
    @Test func stepMatchesReference() throws {
        let s = ParaRNNShape(batch: 3, tokens: 6)
        let (x, _, _) = randomGRUCase(s, seed: 19)
        let reference = try ParaGRU.reference(x)
        var state = x.initialState!
        for t in 0..<s.tokens {
            let xt = x.x.slice(batches: 0..<s.batch, tokens: t..<(t + 1)).reshaped([s.batch, s.inputSize])
            let h = try ParaGRU.step(xt, A: x.A, B: x.B, b: x.b, state: &state)
            let expected = reference.output.slice(batches: 0..<s.batch, tokens: t..<(t + 1))
                .reshaped([s.batch, s.stateSize])
            #expect(h.relativeError(to: expected) <= 1e-12)
        }
        #expect(state.relativeError(to: reference.finalState) <= 1e-12)
    }

    @Test(arguments: shapes.keys.sorted())
    func backwardMatchesReferenceBackward(name: String) throws {
        let s = Self.shapes[name]!
        let (x, dh, dht) = randomGRUCase(s, seed: 20)
        let sequences = try s.sequences()
        let reference = try ParaGRU.referenceBackward(
            x, sequences: sequences, outputGradient: dh, finalStateGradient: dht)
        for chunkSize in [1, 5, 128] {
            let g = try ParaGRU.backward(
                x, sequences: sequences, chunkSize: chunkSize, outputGradient: dh, finalStateGradient: dht)
            #expect(g.x.relativeError(to: reference.x) <= 1e-10, "\(name) dx")
            #expect(g.A.relativeError(to: reference.A) <= 1e-10, "\(name) dA")
            #expect(g.B.relativeError(to: reference.B) <= 1e-10, "\(name) dB")
            #expect(g.b.relativeError(to: reference.b) <= 1e-10, "\(name) db")
            #expect((g.initialState == nil) == (reference.initialState == nil))
            if let a = g.initialState, let b = reference.initialState {
                #expect(a.relativeError(to: b) <= 1e-10, "\(name) dh0")
            }
        }
    }

    /// Central differences of the reference loss against the reference backward, every input.
    @Test(arguments: ["batch", "packed", "strong"])
    func finiteDifferences(name: String) throws {
        var s = Self.shapes[name]!
        s.tokens = Swift.min(s.tokens, name == "packed" ? 40 : 12)
        if name == "packed" { s.weightScale = 1.5 }
        let (x, dh, dht) = randomGRUCase(s, seed: 21)
        let sequences = try s.sequences()
        func loss(_ i: ParaGRU.Inputs<Double>) throws -> Double {
            let r = try ParaGRU.reference(i, sequences: sequences)
            return paraRNNDot(r.output, dh) + paraRNNDot(r.finalState, dht)
        }
        let g = try ParaGRU.backward(x, sequences: sequences, outputGradient: dh, finalStateGradient: dht)
        let fields: [(String, WritableKeyPath<ParaGRU.Inputs<Double>, Tensor<Double>>, Tensor<Double>)] = [
            ("x", \.x, g.x), ("A", \.A, g.A), ("B", \.B, g.B), ("b", \.b, g.b),
        ]
        for (label, field, analytic) in fields {
            let numeric = try paraRNNFiniteDifference(x, field, loss)
            #expect(analytic.relativeError(to: numeric) <= 1e-7, "\(name) d\(label)")
        }
        #expect(g.initialState != nil)
        if let dh0 = g.initialState {
            let numeric = try paraRNNFiniteDifference(x, \.initialState!, loss)
            #expect(dh0.relativeError(to: numeric) <= 1e-7, "\(name) dh0")
        }
    }
}
