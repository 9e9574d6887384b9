import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@testable import LRNNKernels

/// The chunked backward scans q, k, v and dO for NaN/±∞ as it reads their rows (no separate pass):
/// a bad value anywhere in them, in any sequence and chunk, is still refused with the exact
/// ``KernelError/nonFinite(tensor:)`` naming the tensor, on every backward path.
@Suite struct DeltaRuleBackwardScanTests {
    /// Packed sequences of 3, 0, 5 and 1 tokens, two Householder steps per token, chunks of 2 tokens.
    static func base(gated: Bool) throws -> DeltaRuleBackwardCase {
        try DeltaRuleBackwardCase(
            batch: 1, tokens: 9, heads: 2, keyDim: 4, valueDim: 3, n: 2, gated: gated, initialState: true,
            lengths: [3, 0, 5, 1], seed: 11)
    }

    /// The error of each backward path for `c` (chunked, into a workspace, from saved values,
    /// reference), in that order; nil where a path returned.
    static func errors(_ c: DeltaRuleBackwardCase) -> [KernelError?] {
        func run(_ body: () throws -> Void) -> KernelError? {
            do {
                try body()
                return nil
            } catch {
                return error as? KernelError
            }
        }
        let chunkSize = 4
        var gradients = DeltaRule.Inputs<Double>(
            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), beta: Tensor(zeros: [0]))
        return [
            run { _ = try c.backward(chunkSize: chunkSize) },
            run {
                try DeltaRule.backward(
                    c.inputs, scale: c.scale, numHouseholder: c.n, sequences: c.sequences, chunkSize: chunkSize,
                    outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient,
                    workspace: BackwardWorkspace<Double>(), gradients: &gradients)
            },
            run {
                // The training forward refuses bad q, k, v itself: fill the saved values from clean
                // inputs of the same shapes, then call the backward with the bad ones.
                var clean = try base(gated: c.inputs.g != nil)
                clean.sequences = c.sequences
                let saved = DeltaRule.Saved<Double>()
                var output = Tensor<Double>(zeros: [1, 9, 2, 3])
                var finalState = Tensor<Double>(zeros: [4, 2, 4, 3])
                try DeltaRule.chunked(
                    clean.inputs, scale: c.scale, numHouseholder: c.n, sequences: c.sequences,
                    chunkSize: chunkSize, output: &output, finalState: &finalState, saving: saved)
                try DeltaRule.backward(
                    c.inputs, scale: c.scale, numHouseholder: c.n, sequences: c.sequences, chunkSize: chunkSize,
                    outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient,
                    workspace: BackwardWorkspace<Double>(), gradients: &gradients, saved: saved)
            },
            run { _ = try c.referenceBackward() },
        ]
    }

    @Test(
        "a NaN or ±∞ in any row of q, k, v or dO is refused by name on every path",
        arguments: [false, true], ["q", "k", "v", "outputGradient"])
    func everyRow(gated: Bool, name: String) throws {
        let base = try Self.base(gated: gated)
        let count =
            name == "outputGradient"
            ? base.outputGradient!.count : gradientFields(base.inputs).first { $0.0 == name }!.1.count
        // The first and last scalar, and one in each chunk of the longest sequence.
        for index in [0, count / 3, count / 2, 2 * count / 3, count - 1] {
            for bad in [Double.nan, .infinity, -.infinity] {
                var c = base
                if name == "outputGradient" {
                    c.outputGradient!.scalars[index] = bad
                } else {
                    var t = gradientFields(c.inputs).first { $0.0 == name }!.1
                    t.scalars[index] = bad
                    c.inputs = replacing(c.inputs, name, with: t)
                }
                for (path, error) in Self.errors(c).enumerated() {
                    #expect(
                        error == .nonFinite(tensor: name),
                        "\(name)[\(index)] = \(bad), path \(path): \(String(describing: error))")
                }
            }
        }
    }

    @Test("several bad tensors: the chunked paths name the first of q, k, v, outputGradient")
    func firstNamed() throws {
        var c = try Self.base(gated: true)
        c.inputs.v.scalars[5] = .nan
        c.outputGradient!.scalars[0] = .infinity
        #expect(Self.errors(c).allSatisfy { $0 == .nonFinite(tensor: "v") })
        c.inputs.k.scalars[c.inputs.k.count - 1] = -.infinity
        #expect(Self.errors(c).allSatisfy { $0 == .nonFinite(tensor: "k") })
        c.inputs.q.scalars[1] = .nan
        #expect(Self.errors(c).allSatisfy { $0 == .nonFinite(tensor: "q") })
    }

    @Test("Float32: a NaN in v's last row is refused")
    func float32() throws {
        let c = try Self.base(gated: false)
        var v = Tensor<Float>(shape: c.inputs.v.shape, scalars: c.inputs.v.scalars.map { Float($0) })
        v.scalars[v.count - 1] = .nan
        let x = DeltaRule.Inputs<Float>(
            q: Tensor(shape: c.inputs.q.shape, scalars: c.inputs.q.scalars.map { Float($0) }),
            k: Tensor(shape: c.inputs.k.shape, scalars: c.inputs.k.scalars.map { Float($0) }), v: v,
            beta: Tensor(shape: c.inputs.beta.shape, scalars: c.inputs.beta.scalars.map { Float($0) }))
        #expect(throws: KernelError.nonFinite(tensor: "v")) {
            _ = try DeltaRule.backward(
                x, numHouseholder: 2, sequences: c.sequences, chunkSize: 4,
                outputGradient: Tensor(shape: [1, 9, 2, 3], scalars: c.outputGradient!.scalars.map { Float($0) }),
                finalStateGradient: nil)
        }
    }
}
