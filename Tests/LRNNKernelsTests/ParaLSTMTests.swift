import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// ParaLSTM's Newton-parallel and sequential paths and its backward against the naive oracles (Float64).
@Suite("ParaLSTM")
struct ParaLSTMTests {
    /// The shapes of ``ParaGRUTests/shapes``.
    static let shapes = ParaGRUTests.shapes

    static func expectState(
        _ a: ParaLSTM.State<Double>?, _ b: ParaLSTM.State<Double>?, _ bound: Double, _ label: String
    ) {
        #expect((a == nil) == (b == nil), "\(label): presence")
        guard let a, let b else { return }
        #expect(a.c.relativeError(to: b.c) <= bound, "\(label).c")
        #expect(a.h.relativeError(to: b.h) <= bound, "\(label).h")
    }

    @Test(arguments: shapes.keys.sorted())
    func forwardPathsMatchReference(name: String) throws {
        let s = Self.shapes[name]!
        let (x, _, _) = randomLSTMCase(s, seed: 27)
        let sequences = try s.sequences()
        let reference = try ParaLSTM.reference(x, sequences: sequences)
        for chunkSize in [1, 4, 128] {
            let r = try ParaLSTM.chunked(x, sequences: sequences, chunkSize: chunkSize)
            #expect(r.newton.converged, "\(name): \(r.newton)")
            #expect(r.output.relativeError(to: reference.output) <= 1e-10, "\(name) C=\(chunkSize) h")
            #expect(r.cell.relativeError(to: reference.cell) <= 1e-10, "\(name) C=\(chunkSize) c")
            Self.expectState(r.finalState, reference.finalState, 1e-10, "\(name) finalState")
        }
        let sequential = try ParaLSTM.recurrent(x, sequences: sequences)
        #expect(sequential.output.relativeError(to: reference.output) <= 1e-12)
        #expect(sequential.cell.relativeError(to: reference.cell) <= 1e-12)
        Self.expectState(sequential.finalState, reference.finalState, 1e-12, "\(name) sequential finalState")
    }

    /// With the cap too low for the sequence, Newton gives up and the sequential solve answers.
    @Test func fallbackIsReportedAndExact() throws {
        let (x, _, _) = randomLSTMCase(Self.shapes["strong"]!, seed: 28)
        let r = try ParaLSTM.chunked(x, newton: ParaRNN.NewtonOptions(maxIterations: 2))
        #expect(!r.newton.converged)
        #expect(r.newton.iterations == 2)
        let reference = try ParaLSTM.reference(x)
        #expect(r.output.relativeError(to: reference.output) <= 1e-12)
        #expect(r.cell.relativeError(to: reference.cell) <= 1e-12)
    }

    /// Every step of the sequence through `step` equals the reference trajectory.
    @Test func stepMatchesReference() throws {
        let s = ParaRNNShape(batch: 3, tokens: 6, weightScale: 1.5)
        let (x, _, _) = randomLSTMCase(s, seed: 29)
        let reference = try ParaLSTM.reference(x)
        var state = x.initialState!
        for t in 0..<s.tokens {
            let xt = x.x.slice(batches: 0..<s.batch, tokens: t..<(t + 1)).reshaped([s.batch, s.inputSize])
            let h = try ParaLSTM.step(xt, A: x.A, B: x.B, C: x.C, b: x.b, state: &state)
            let expected = reference.output.slice(batches: 0..<s.batch, tokens: t..<(t + 1))
                .reshaped([s.batch, s.stateSize])
            #expect(h.relativeError(to: expected) <= 1e-12)
        }
        Self.expectState(state, reference.finalState, 1e-12, "step")
    }

    @Test(arguments: shapes.keys.sorted())
    func backwardMatchesReferenceBackward(name: String) throws {
        let s = Self.shapes[name]!
        let (x, dh, dht) = randomLSTMCase(s, seed: 30)
        let sequences = try s.sequences()
        let reference = try ParaLSTM.referenceBackward(
            x, sequences: sequences, outputGradient: dh, finalStateGradient: dht)
        for chunkSize in [1, 5, 128] {
            let g = try ParaLSTM.backward(
                x, sequences: sequences, chunkSize: chunkSize, outputGradient: dh, finalStateGradient: dht)
            #expect(g.x.relativeError(to: reference.x) <= 1e-10, "\(name) dx")
            #expect(g.A.relativeError(to: reference.A) <= 1e-10, "\(name) dA")
            #expect(g.B.relativeError(to: reference.B) <= 1e-10, "\(name) dB")
            #expect(g.C.relativeError(to: reference.C) <= 1e-10, "\(name) dC")
            #expect(g.b.relativeError(to: reference.b) <= 1e-10, "\(name) db")
            Self.expectState(g.initialState, reference.initialState, 1e-10, "\(name) dstate0")
        }
    }

    /// Central differences of the reference loss against the chunked backward, every input.
    @Test(arguments: ["batch", "packed", "strong"])
    func finiteDifferences(name: String) throws {
        var s = Self.shapes[name]!
        s.tokens = Swift.min(s.tokens, name == "packed" ? 40 : 12)
        if name == "packed" { s.weightScale = 1.5 }
        let (x, dh, dht) = randomLSTMCase(s, seed: 31)
        let sequences = try s.sequences()
        func loss(_ i: ParaLSTM.Inputs<Double>) throws -> Double {
            let r = try ParaLSTM.reference(i, sequences: sequences)
            return paraRNNDot(r.output, dh) + paraRNNDot(r.finalState.c, dht?.c) + paraRNNDot(r.finalState.h, dht?.h)
        }
        let g = try ParaLSTM.backward(x, sequences: sequences, outputGradient: dh, finalStateGradient: dht)
        let fields: [(String, WritableKeyPath<ParaLSTM.Inputs<Double>, Tensor<Double>>, Tensor<Double>)] = [
            ("x", \.x, g.x), ("A", \.A, g.A), ("B", \.B, g.B), ("C", \.C, g.C), ("b", \.b, g.b),
        ]
        for (label, field, analytic) in fields {
            let numeric = try paraRNNFiniteDifference(x, field, loss)
            #expect(analytic.relativeError(to: numeric) <= 1e-7, "\(name) d\(label)")
        }
        let d0 = try #require(g.initialState)
        let numericC = try paraRNNFiniteDifference(x, \.initialState!.c, loss)
        let numericH = try paraRNNFiniteDifference(x, \.initialState!.h, loss)
        #expect(d0.c.relativeError(to: numericC) <= 1e-7, "\(name) dc0")
        #expect(d0.h.relativeError(to: numericH) <= 1e-7, "\(name) dh0")
    }
}
