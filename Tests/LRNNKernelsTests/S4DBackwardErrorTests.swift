import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("S4D backward: typed errors")
struct S4DBackwardErrorTests {
    @Test("S4D: wrong and non-finite cotangents, initial states, boundaries, chunk size")
    func s4d() throws {
        let x = try randomS4DInputs(
            batch: 2, length: 5, channels: 2, modes: 3, sequences: nil, initialState: true, seed: 1)
        let (dy, df) = randomCotangents(like: x.u, stateShape: [2, 2, 3], seed: 2)
        for reference in [false, true] {
            func call(
                _ x: S4D.Inputs<Double>, _ dy: Tensor<Double>?, _ df: Tensor<Complex<Double>>?,
                _ seq: SequenceBoundaries?
            ) throws(KernelError) {
                if reference {
                    _ = try S4D.referenceBackward(
                        x, discretization: .zoh, sequences: seq, outputGradient: dy, finalStateGradient: df)
                } else {
                    _ = try S4D.backward(
                        x, discretization: .zoh, sequences: seq, outputGradient: dy, finalStateGradient: df)
                }
            }
            #expect(
                throws: KernelError.shapeMismatch(tensor: "outputGradient", shape: [2, 4, 2], expected: "[2, 5, 2]")
            ) {
                try call(x, slice(dy, tokens: 0..<4), df, nil)
            }
            var nan = dy
            nan.scalars[3] = .nan
            #expect(throws: KernelError.nonFinite(tensor: "outputGradient")) { try call(x, nan, df, nil) }
            #expect(
                throws: KernelError.shapeMismatch(
                    tensor: "finalStateGradient", shape: [2, 2, 2], expected: "[2, 2, 3]")
            ) { try call(x, dy, Tensor(zeros: [2, 2, 2]), nil) }
            var inf = df
            inf.scalars[1] = Complex(0, .infinity)
            #expect(throws: KernelError.nonFinite(tensor: "finalStateGradient")) { try call(x, dy, inf, nil) }
            var bad = x
            bad.initialState = Tensor(zeros: [1, 2, 3])
            #expect(
                throws: KernelError.shapeMismatch(tensor: "initialState", shape: [1, 2, 3], expected: "[2, 2, 3]")
            ) {
                try call(bad, dy, df, nil)
            }
            #expect(throws: KernelError.invalidSequenceBoundaries(reason: "requires batch size B = 1, got B = 2")) {
                try call(x, dy, df, try SequenceBoundaries([0, 5]))
            }
            var one = x
            one.u = Tensor(shape: [1, 10, 2], scalars: x.u.scalars)
            one.initialState = nil
            #expect(
                throws: KernelError.invalidSequenceBoundaries(reason: "must end at the packed length 10, ends at 9")
            ) { try call(one, nil, nil, try SequenceBoundaries([0, 4, 9])) }
        }
        #expect(throws: KernelError.invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got 0")) {
            _ = try S4D.backward(x, discretization: .zoh, chunkSize: 0, outputGradient: dy, finalStateGradient: nil)
        }
    }
}
