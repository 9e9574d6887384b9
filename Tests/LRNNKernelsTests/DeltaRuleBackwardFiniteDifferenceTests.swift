import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Both delta-rule backward passes against central finite differences of the naive forward in
/// Float64, for every input (q, k, v, β, g, h0), on tiny shapes.
@Suite struct DeltaRuleBackwardFiniteDifferenceTests {
    /// Central differences of the loss for every scalar of every input field.
    static func finiteDifferences(_ c: DeltaRuleBackwardCase, step: Double = 1e-5) throws -> DeltaRule.Inputs<Double> {
        var result = c.inputs
        for (name, tensor) in gradientFields(c.inputs) {
            var grad = Tensor<Double>(zeros: tensor.shape)
            for e in 0..<tensor.count {
                var plus = tensor
                var minus = tensor
                plus.scalars[e] += step
                minus.scalars[e] -= step
                let lp = try c.loss(replacing(c.inputs, name, with: plus))
                let lm = try c.loss(replacing(c.inputs, name, with: minus))
                grad.scalars[e] = (lp - lm) / (2 * step)
            }
            result = replacing(result, name, with: grad)
        }
        return result
    }

    /// The cases: DeltaNet, β up to 2, gated, DeltaProduct n = 2 and 3, packed with empty and
    /// length-1 sequences, one cotangent absent.
    static let cases: [(String, @Sendable () throws -> DeltaRuleBackwardCase, Int)] = [
        (
            "deltanet",
            {
                try .init(
                    batch: 2, tokens: 5, heads: 2, keyDim: 3, valueDim: 4, n: 1, gated: false, initialState: true,
                    maxBeta: 1, seed: 1)
            }, 2
        ),
        (
            "negative eigenvalues",
            {
                try .init(
                    batch: 1, tokens: 7, heads: 2, keyDim: 4, valueDim: 3, n: 1, gated: false, initialState: true,
                    maxBeta: 2, seed: 2)
            }, 3
        ),
        (
            "gated",
            {
                try .init(
                    batch: 2, tokens: 6, heads: 1, keyDim: 3, valueDim: 3, n: 1, gated: true, initialState: true,
                    seed: 3)
            }, 4
        ),
        (
            "gated, no h0, strong gates",
            {
                try .init(
                    batch: 1, tokens: 6, heads: 2, keyDim: 2, valueDim: 3, n: 1, gated: true, initialState: false,
                    gates: -7...(-0.05), seed: 4)
            }, 4
        ),
        (
            "deltaproduct n=2 gated",
            {
                try .init(
                    batch: 1, tokens: 5, heads: 2, keyDim: 3, valueDim: 2, n: 2, gated: true, initialState: true,
                    seed: 5)
            }, 4
        ),
        (
            "deltaproduct n=3",
            {
                try .init(
                    batch: 2, tokens: 4, heads: 1, keyDim: 3, valueDim: 2, n: 3, gated: false, initialState: true,
                    seed: 6)
            }, 6
        ),
        (
            "deltaproduct n=3 gated",
            {
                try .init(
                    batch: 1, tokens: 4, heads: 1, keyDim: 2, valueDim: 3, n: 3, gated: true, initialState: true,
                    seed: 7)
            }, 7
        ),
        (
            "packed, empty and length-1",
            {
                try .init(
                    batch: 1, tokens: 0, heads: 2, keyDim: 3, valueDim: 2, n: 1, gated: true, initialState: true,
                    lengths: [0, 1, 4, 0, 5], seed: 8)
            }, 2
        ),
        (
            "packed n=2, no dht",
            {
                try .init(
                    batch: 1, tokens: 0, heads: 1, keyDim: 3, valueDim: 2, n: 2, gated: true, initialState: true,
                    lengths: [3, 1, 0, 2], finalStateGradient: false, seed: 9)
            }, 4
        ),
        (
            "no dO, scale 0.7",
            {
                try .init(
                    batch: 1, tokens: 5, heads: 1, keyDim: 3, valueDim: 2, n: 1, gated: true, initialState: true,
                    outputGradient: false, scale: 0.7, seed: 10)
            }, 2
        ),
    ]

    @Test("backward and referenceBackward match central differences (≤ 1e-7 relative)", arguments: 0..<cases.count)
    func matchesFiniteDifferences(_ index: Int) throws {
        let (name, make, chunkSize) = Self.cases[index]
        let c = try make()
        let fd = try Self.finiteDifferences(c)
        let chunk = gradientError(try c.backward(chunkSize: chunkSize), fd)
        let reference = gradientError(try c.referenceBackward(), fd)
        #expect(chunk.error <= 1e-7, "\(name): backward vs finite differences \(chunk.error) (\(chunk.field))")
        #expect(
            reference.error <= 1e-7,
            "\(name): referenceBackward vs finite differences \(reference.error) (\(reference.field))")
        // The gradient is not identically zero (the comparison is not vacuous).
        #expect(gradientFields(fd).allSatisfy { $0.1.count == 0 || $0.1.maxAbs > 0 } || c.outputGradient == nil)
    }
}
