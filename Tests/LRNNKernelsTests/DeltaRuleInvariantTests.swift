import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Structural properties of the delta-rule transition: reflections preserve norms, and the
/// transition of one token has its eigenvalues where the theory puts them.
@Suite struct DeltaRuleInvariantTests {
    /// Unit-norm random rows `[1, count, 1, d]`.
    static func unitKeys(_ count: Int, _ d: Int, _ rng: inout SeededRandom) -> Tensor<Double> {
        DeltaRuleInputs<Double>.normalisedRows(rng.normalTensor([1, count, 1, d]))
    }

    static func frobenius(_ x: Tensor<Double>) -> Double {
        x.scalars.reduce(0) { $0 + $1 * $1 }.squareRoot()
    }

    @Test func reflectionsPreserveTheStateNorm() throws {
        // β = 2, unit keys, v = 0: every step is the reflection I − 2kkᵀ, an orthogonal map.
        var rng = SeededRandom(seed: 11)
        let (t, dk, dv) = (1000, 6, 4)
        let q = Self.unitKeys(t, dk, &rng)
        let k = Self.unitKeys(t, dk, &rng)
        let v = Tensor<Double>(zeros: [1, t, 1, dv])
        let beta = Tensor<Double>(shape: [1, t, 1], repeating: 2)
        let h0 = rng.normalTensor([1, 1, dk, dv], as: Double.self)
        let norm0 = Self.frobenius(h0)
        let chunk = try DeltaRule.chunked(q: q, k: k, v: v, beta: beta, initialState: h0, chunkSize: 16)
        #expect(abs(Self.frobenius(chunk.finalState) - norm0) / norm0 <= 1e-10)
        let ref = try DeltaRule.reference(q: q, k: k, v: v, beta: beta, initialState: h0)
        #expect(abs(Self.frobenius(ref.finalState) - norm0) / norm0 <= 1e-10)
        var state = h0
        for tok in 0..<t {
            let row = { (x: Tensor<Double>) in
                Tensor(
                    shape: [1, 1, 1, x.shape[3]],
                    scalars: Array(x.scalars[(tok * x.shape[3])..<((tok + 1) * x.shape[3])]))
            }
            _ = try DeltaRule.step(
                q: row(q), k: row(k), v: row(v), beta: Tensor(shape: [1, 1, 1], scalars: [2]), state: &state)
            // Every intermediate state has the same norm, not only the last.
            if tok % 100 == 99 { #expect(abs(Self.frobenius(state) - norm0) / norm0 <= 1e-10, "token \(tok)") }
        }
        #expect(state.relativeError(to: chunk.finalState) <= 1e-10)
    }

    /// The transition M of one token (n Householder steps, v = 0), read off the kernel as the
    /// final state from S₀ = I.
    static func transition(keys: Tensor<Double>, betas: [Double], d: Int, chunked: Bool) throws -> Tensor<Double> {
        let n = betas.count
        var identity = Tensor<Double>(zeros: [1, 1, d, d])
        for i in 0..<d { identity[0, 0, i, i] = 1 }
        let q = Tensor<Double>(shape: [1, 1, 1, d], repeating: 0)
        let v = Tensor<Double>(zeros: [1, n, 1, d])
        let beta = Tensor(shape: [1, n, 1], scalars: betas)
        if chunked {
            let r = try DeltaRule.chunked(q: q, k: keys, v: v, beta: beta, initialState: identity, numHouseholder: n)
            return r.finalState.reshaped([d, d])
        }
        var state = identity
        _ = try DeltaRule.step(q: q, k: keys, v: v, beta: beta, numHouseholder: n, state: &state)
        return state.reshaped([d, d])
    }

    @Test func oneStepHasEigenvaluesOneAndOneMinusBeta() throws {
        var rng = SeededRandom(seed: 12)
        let d = 5
        for b in [0.1, 0.7, 1.0, 1.5, 1.99] {
            let k = Self.unitKeys(1, d, &rng)
            for chunked in [false, true] {
                let m = try Self.transition(keys: k, betas: [b], d: d, chunked: chunked)
                let values = try LAPACK.eigen(m, right: false).values.map { $0.real }.sorted()
                var expected = Array(repeating: 1.0, count: d - 1) + [1 - b]
                expected.sort()
                for (x, e) in zip(values, expected) { #expect(abs(x - e) <= 1e-12, "β=\(b): \(values)") }
            }
        }
    }

    @Test(arguments: [2, 3])
    func aTokensProductHasSpectralRadiusAtMostOne(n: Int) throws {
        var rng = SeededRandom(seed: 13 + UInt64(n))
        let d = 4
        for trial in 0..<20 {
            let k = Self.unitKeys(n, d, &rng).reshaped([1, n, 1, d])
            let betas = (0..<n).map { _ in rng.uniform(0.01...1.99) }
            let m = try Self.transition(keys: k, betas: betas, d: d, chunked: trial % 2 == 0)
            let radius = try LAPACK.eigen(m, right: false).values.map { $0.length }.max()!
            #expect(radius <= 1 + 1e-12, "n=\(n) β=\(betas): spectral radius \(radius)")
        }
    }
}
