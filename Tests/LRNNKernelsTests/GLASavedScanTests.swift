import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@testable import LRNNKernels

/// The backward from saved values, when every sequence was saved, scans q, k, v and dO as it reads
/// them: a NaN or ±∞ anywhere in them is still refused with the exact error naming the tensor, and
/// gk, which that path does not read, does not change its gradients.
@Suite struct GLASavedScanTests {
    /// Packed sequences of 5, 0, 9 and 1 tokens, chunks of 4 (sub-chunks of 2), every sequence saved.
    static func base() throws -> GLABackwardCase<Double> {
        var rng = SeededRandom(seed: 7301)
        return try GLABackwardCase<Double>(
            &rng, b: 1, t: 15, h: 3, dk: 5, dv: 3, lengths: [5, 0, 9, 1], decay: GLABackwardPropertyTests.strong)
    }

    /// The training forward on `clean`, then the backward from its values with `c`'s inputs.
    static func savedBackward(_ c: GLABackwardCase<Double>, forwardOn clean: GLABackwardCase<Double>) throws
        -> GLA.Inputs<Double>
    {
        let saved = GLA.Saved<Double>()
        var output = Tensor<Double>(zeros: [1, 15, 3, 3])
        var finalState = Tensor<Double>(zeros: [4, 3, 5, 3])
        try GLA.chunked(
            clean.inputs, scale: c.scale, sequences: c.sequences, chunkSize: 4, subChunkSize: 2, output: &output,
            finalState: &finalState, saving: saved)
        var gradients = GLA.Inputs<Double>(
            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), gk: Tensor(zeros: [0]))
        try GLA.backward(
            c.inputs, scale: c.scale, sequences: c.sequences, chunkSize: 4, subChunkSize: 2,
            outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient,
            workspace: BackwardWorkspace<Double>(), gradients: &gradients, saved: saved)
        return gradients
    }

    @Test("a NaN or ±∞ in any row of q, k, v or dO is refused by name", arguments: ["q", "k", "v", "outputGradient"])
    func everyRow(name: String) throws {
        let clean = try Self.base()
        let count = name == "v" || name == "outputGradient" ? 15 * 3 * 3 : 15 * 3 * 5
        for index in [0, count / 4, count / 2, 3 * count / 4, count - 1] {
            for bad in [Double.nan, .infinity, -.infinity] {
                var c = clean
                switch name {
                case "q": c.inputs.q.scalars[index] = bad
                case "k": c.inputs.k.scalars[index] = bad
                case "v": c.inputs.v.scalars[index] = bad
                default: c.outputGradient!.scalars[index] = bad
                }
                #expect(throws: KernelError.nonFinite(tensor: name), "\(name)[\(index)] = \(bad)") {
                    _ = try Self.savedBackward(c, forwardOn: clean)
                }
                // The recomputing backward scans up front and names the same tensor.
                #expect(throws: KernelError.nonFinite(tensor: name)) {
                    _ = try c.backward(chunkSize: 4, subChunkSize: 2)
                }
            }
        }
    }

    @Test("several bad tensors: the first of q, k, v, outputGradient is named")
    func firstNamed() throws {
        let clean = try Self.base()
        var c = clean
        c.outputGradient!.scalars[3] = .nan
        c.inputs.v.scalars[40] = .infinity
        #expect(throws: KernelError.nonFinite(tensor: "v")) { _ = try Self.savedBackward(c, forwardOn: clean) }
        c.inputs.q.scalars[70] = -.infinity
        #expect(throws: KernelError.nonFinite(tensor: "q")) { _ = try Self.savedBackward(c, forwardOn: clean) }
    }

    @Test("gk is not read on this path: the gradients are those of the forward's gk")
    func gkUnread() throws {
        let clean = try Self.base()
        let expected = try Self.savedBackward(clean, forwardOn: clean)
        var c = clean
        c.inputs.gk.scalars[17] = .nan
        c.inputs.gk.scalars[100] = 0.5
        let got = try Self.savedBackward(c, forwardOn: clean)
        GLASavedTests.expectIdentical(got, expected, "gk changed after the forward")
        // The reference backward, which reads gk, refuses it.
        #expect(throws: KernelError.nonFinite(tensor: "gk")) { _ = try c.referenceBackward() }
    }
}
