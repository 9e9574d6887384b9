import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("S5 backward: typed errors")
struct S5BackwardErrorTests {
    @Test("S5: wrong and non-finite cotangents, u of the wrong width")
    func s5() throws {
        let x = try randomS5Inputs(
            batch: 1, length: 6, channels: 3, states: 4, sequences: nil, initialState: false, conjugateSymmetric: true,
            seed: 3)
        let (dy, df) = randomCotangents(like: x.u, stateShape: [1, 4], seed: 4)
        for reference in [false, true] {
            func call(_ x: S5.Inputs<Double>, _ dy: Tensor<Double>?, _ df: Tensor<Complex<Double>>?) throws(KernelError)
            {
                if reference {
                    _ = try S5.referenceBackward(
                        x, discretization: .bilinear, outputGradient: dy, finalStateGradient: df)
                } else {
                    _ = try S5.backward(x, discretization: .bilinear, outputGradient: dy, finalStateGradient: df)
                }
            }
            #expect(throws: KernelError.shapeMismatch(tensor: "outputGradient", shape: [6, 3], expected: "[1, 6, 3]")) {
                try call(x, dy.reshaped([6, 3]), df)
            }
            var nan = dy
            nan.scalars[0] = .nan
            #expect(throws: KernelError.nonFinite(tensor: "outputGradient")) { try call(x, nan, nil) }
            #expect(throws: KernelError.shapeMismatch(tensor: "finalStateGradient", shape: [1, 3], expected: "[1, 4]"))
            {
                try call(x, nil, Tensor(zeros: [1, 3]))
            }
            var wide = x
            wide.u = Tensor(zeros: [1, 6, 4])
            #expect(throws: KernelError.shapeMismatch(tensor: "u", shape: [1, 6, 4], expected: "[B, T, 3]")) {
                try call(wide, nil, nil)
            }
        }
    }
}
