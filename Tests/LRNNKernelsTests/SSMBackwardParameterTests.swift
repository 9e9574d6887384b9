import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// The SSM parameters are public variables: a value changed after construction must be refused
/// by the backward verbs as by the forward ones, before any work.
@Suite("SSM backward: parameters changed after construction")
struct SSMBackwardParameterTests {
    @Test func s4dBackwardRechecksParameters() throws {
        let x = try randomS4DInputs(
            batch: 1, length: 5, channels: 2, modes: 3, sequences: nil, initialState: false, seed: 31)
        var unstable = x
        unstable.parameters.aRe.scalars[0] = 0.5
        var misshapen = x
        misshapen.parameters.cIm = Tensor(zeros: [2, 2])
        let cases: [(S4D.Inputs<Double>, KernelError)] = [
            (
                unstable,
                .invalidArgument(
                    name: "A_re",
                    reason: "every real part must be ≤ 0 (stable or marginally stable modes), found 0.5")
            ),
            (misshapen, .shapeMismatch(tensor: "C_im", shape: [2, 2], expected: "[2, 3]")),
        ]
        for (inputs, error) in cases {
            #expect(throws: error) {
                try S4D.backward(inputs, discretization: .zoh, outputGradient: nil, finalStateGradient: nil)
            }
            #expect(throws: error) {
                try S4D.referenceBackward(inputs, discretization: .zoh, outputGradient: nil, finalStateGradient: nil)
            }
        }
    }

    @Test func s5BackwardRechecksParameters() throws {
        let x = try randomS5Inputs(
            batch: 1, length: 5, channels: 2, states: 4, sequences: nil, initialState: false,
            conjugateSymmetric: false, seed: 32)
        var unstable = x
        unstable.parameters.lambdaRe.scalars[1] = 2
        var misshapen = x
        misshapen.parameters.bRe = Tensor(zeros: [4, 3])
        let cases: [(S5.Inputs<Double>, KernelError)] = [
            (unstable, .invalidArgument(name: "Lambda_re", reason: "every real part must be ≤ 0, found 2.0")),
            (misshapen, .shapeMismatch(tensor: "B_re", shape: [4, 3], expected: "[4, 2]")),
        ]
        for (inputs, error) in cases {
            #expect(throws: error) {
                try S5.backward(inputs, discretization: .bilinear, outputGradient: nil, finalStateGradient: nil)
            }
            #expect(throws: error) {
                try S5.referenceBackward(
                    inputs, discretization: .bilinear, outputGradient: nil, finalStateGradient: nil)
            }
        }
    }
}
