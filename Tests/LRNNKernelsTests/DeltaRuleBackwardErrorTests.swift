import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Bad backward arguments are refused with the exact ``KernelError`` naming them, on both paths.
@Suite struct DeltaRuleBackwardErrorTests {
    static func base() throws -> DeltaRuleBackwardCase {
        try DeltaRuleBackwardCase(
            batch: 1, tokens: 6, heads: 2, keyDim: 4, valueDim: 3, n: 1, gated: true, initialState: true, seed: 5)
    }

    /// The error both backward paths throw for `c` (they must agree), or nil.
    static func error(_ c: DeltaRuleBackwardCase, chunkSize: Int = 4) -> KernelError? {
        var errors: [KernelError?] = []
        for path in 0..<2 {
            do {
                _ = try path == 0 ? c.backward(chunkSize: chunkSize) : c.referenceBackward()
                errors.append(nil)
            } catch {
                errors.append(error as? KernelError)
            }
        }
        #expect(
            errors[0] == errors[1],
            "backward \(String(describing: errors[0])) vs reference \(String(describing: errors[1]))")
        return errors[0]
    }

    @Test func cotangentShapes() throws {
        var c = try Self.base()
        c.outputGradient = Tensor(zeros: [1, 6, 2, 4])
        #expect(
            Self.error(c) == .shapeMismatch(tensor: "outputGradient", shape: [1, 6, 2, 4], expected: "[1, 6, 2, 3]"))
        c = try Self.base()
        c.finalStateGradient = Tensor(zeros: [2, 2, 4, 3])
        #expect(
            Self.error(c)
                == .shapeMismatch(tensor: "finalStateGradient", shape: [2, 2, 4, 3], expected: "[1, 2, 4, 3]"))
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteCotangents(_ bad: Double) throws {
        var c = try Self.base()
        c.outputGradient!.scalars[7] = bad
        #expect(Self.error(c) == .nonFinite(tensor: "outputGradient"))
        c = try Self.base()
        c.finalStateGradient!.scalars[11] = bad
        #expect(Self.error(c) == .nonFinite(tensor: "finalStateGradient"))
    }

    @Test func forwardErrorsAndChunkSize() throws {
        var c = try Self.base()
        c.inputs.v.scalars[2] = .nan
        #expect(Self.error(c) == .nonFinite(tensor: "v"))
        c = try Self.base()
        c.inputs.g!.scalars[0] = 0.5
        #expect(Self.error(c) == .invalidArgument(name: "g", reason: "log decays must be ≤ 0, found 0.5"))
        c = try Self.base()
        c.sequences = try SequenceBoundaries([0, 2, 5])
        #expect(
            Self.error(c) == .invalidSequenceBoundaries(reason: "must end at the packed length 6, ends at 5"))
        c = try Self.base()
        #expect(throws: KernelError.invalidArgument(name: "chunkSize", reason: "must be at least 1, got 0")) {
            _ = try c.backward(chunkSize: 0)
        }
    }

    @Test("no tokens: dh0 = dht, every other gradient empty")
    func empty() throws {
        let c = try DeltaRuleBackwardCase(
            batch: 2, tokens: 0, heads: 2, keyDim: 3, valueDim: 2, n: 2, gated: true, initialState: true, seed: 1)
        for grad in [try c.backward(), try c.referenceBackward()] {
            #expect(grad.initialState == c.finalStateGradient)
            #expect(grad.q.shape == [2, 0, 2, 3] && grad.k.shape == [2, 0, 2, 3] && grad.g?.shape == [2, 0, 2])
        }
    }
}
