import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Bad inputs to the ParaRNN kernels are typed errors naming the tensor or argument.
@Suite("ParaRNN errors")
struct ParaRNNErrorTests {
    static let shape = ParaRNNShape(batch: 2, tokens: 5, inputSize: 4, stateSize: 6, heads: 2)

    @Test func gruShapes() throws {
        let (x, dh, _) = randomGRUCase(Self.shape, seed: 40)
        var bad = x
        bad.x = Tensor.zeros([2, 5])
        #expect(throws: KernelError.shapeMismatch(tensor: "x", shape: [2, 5], expected: "[B, T, Din] with Din ≥ 1")) {
            try ParaGRU.chunked(bad)
        }
        bad = x
        bad.A = Tensor.zeros([2, 6])
        #expect(throws: KernelError.shapeMismatch(tensor: "A", shape: [2, 6], expected: "[3, D] with D ≥ 1")) {
            try ParaGRU.reference(bad)
        }
        bad = x
        bad.B = Tensor.zeros([3, 1, 3, 2])
        #expect(
            throws: KernelError.shapeMismatch(
                tensor: "B", shape: [3, 1, 3, 2], expected: "[Hh, 4/Hh, 3, 6/Hh] with Hh ≥ 1 dividing 4 and 6")
        ) { try ParaGRU.recurrent(bad) }
        bad = x
        bad.b = Tensor.zeros([3, 5])
        #expect(throws: KernelError.shapeMismatch(tensor: "b", shape: [3, 5], expected: "[3, 6]")) {
            try ParaGRU.backward(bad, outputGradient: dh, finalStateGradient: nil)
        }
        bad = x
        bad.initialState = Tensor.zeros([3, 6])
        #expect(throws: KernelError.shapeMismatch(tensor: "initialState", shape: [3, 6], expected: "[2, 6]")) {
            try ParaGRU.referenceBackward(bad, outputGradient: dh, finalStateGradient: nil)
        }
        #expect(throws: KernelError.shapeMismatch(tensor: "outputGradient", shape: [2, 5], expected: "[2, 5, 6]")) {
            try ParaGRU.backward(x, outputGradient: Tensor.zeros([2, 5]), finalStateGradient: nil)
        }
        #expect(
            throws: KernelError.shapeMismatch(tensor: "finalStateGradient", shape: [6], expected: "[2, 6]")
        ) { try ParaGRU.referenceBackward(x, outputGradient: nil, finalStateGradient: Tensor.zeros([6])) }
    }

    @Test func gruValuesAndArguments() throws {
        let (x, _, _) = randomGRUCase(Self.shape, seed: 41)
        var bad = x
        bad.x.scalars[3] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "x")) { try ParaGRU.chunked(bad) }
        bad = x
        bad.B.scalars[0] = .infinity
        #expect(throws: KernelError.nonFinite(tensor: "B")) { try ParaGRU.reference(bad) }
        bad = x
        bad.initialState!.scalars[1] = -.infinity
        #expect(throws: KernelError.nonFinite(tensor: "initialState")) { try ParaGRU.recurrent(bad) }
        #expect(throws: KernelError.invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got 0")) {
            try ParaGRU.chunked(x, chunkSize: 0)
        }
        #expect(
            throws: KernelError.invalidArgument(name: "tolerance", reason: "must be finite and > 0, got -1.0")
        ) { try ParaGRU.chunked(x, newton: ParaRNN.NewtonOptions(tolerance: -1)) }
        #expect(throws: KernelError.invalidArgument(name: "maxIterations", reason: "must be ≥ 0, got -2")) {
            try ParaGRU.backward(
                x, newton: ParaRNN.NewtonOptions(maxIterations: -2), outputGradient: nil, finalStateGradient: nil)
        }
        let boundaries = try SequenceBoundaries([0, 5])
        #expect(throws: KernelError.invalidSequenceBoundaries(reason: "requires batch size B = 1, got B = 2")) {
            try ParaGRU.chunked(x, sequences: boundaries)
        }
        var state = Tensor<Double>.zeros([2, 5])
        #expect(throws: KernelError.shapeMismatch(tensor: "state", shape: [2, 5], expected: "[2, 6]")) {
            try ParaGRU.step(Tensor.zeros([2, 4]), A: x.A, B: x.B, b: x.b, state: &state)
        }
    }

    @Test func lstmErrors() throws {
        let (x, dh, _) = randomLSTMCase(Self.shape, seed: 42)
        var bad = x
        bad.C = Tensor.zeros([3, 6])
        #expect(throws: KernelError.shapeMismatch(tensor: "C", shape: [3, 6], expected: "[2, 6]")) {
            try ParaLSTM.chunked(bad)
        }
        bad = x
        bad.C.scalars[2] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "C")) { try ParaLSTM.reference(bad) }
        bad = x
        bad.initialState!.h = Tensor.zeros([1, 6])
        #expect(throws: KernelError.shapeMismatch(tensor: "initialState.h", shape: [1, 6], expected: "[2, 6]")) {
            try ParaLSTM.recurrent(bad)
        }
        bad = x
        bad.initialState!.c.scalars[0] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "initialState.c")) {
            try ParaLSTM.backward(bad, outputGradient: dh, finalStateGradient: nil)
        }
        let wrong = ParaLSTM.State<Double>(c: Tensor.zeros([2, 5]), h: Tensor.zeros([2, 6]))
        #expect(
            throws: KernelError.shapeMismatch(tensor: "finalStateGradient.c", shape: [2, 5], expected: "[2, 6]")
        ) { try ParaLSTM.referenceBackward(x, outputGradient: dh, finalStateGradient: wrong) }
        var state = ParaLSTM.State<Double>.zeros(count: 2, size: 6)
        #expect(throws: KernelError.nonFinite(tensor: "x")) {
            try ParaLSTM.step(
                Tensor(shape: [2, 4], repeating: .nan), A: x.A, B: x.B, C: x.C, b: x.b, state: &state)
        }
        #expect(state == ParaLSTM.State<Double>.zeros(count: 2, size: 6))
    }
}
