import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("pLSTM typed errors")
struct PLSTMErrorTests {
    static func case1D() throws -> PLSTM1DCase<Double> {
        var rng = SeededRandom(seed: 7800)
        return try PLSTM1DCase(&rng, b: 2, t: 3, h: 1, sizes: PLSTMSizes(dk: 2, dv: 2, jv: 2, jt: 2, jo: 2))
    }

    static func case2D() -> PLSTM2DCase<Double> {
        var rng = SeededRandom(seed: 7801)
        return PLSTM2DCase(&rng, b: 1, x: 2, y: 3, h: 1, sizes: PLSTMSizes(dk: 2, dv: 2, jt: 2), mode: .dLeft)
    }

    /// Each bad 1-D input is refused with the error naming it, by every verb.
    @Test func errors1D() throws {
        let c = try Self.case1D()
        func expectError(_ expected: KernelError, _ x: PLSTM1D.Inputs<Double>, scale: Double? = nil, chunk: Int = 4) {
            #expect(throws: expected) { try PLSTM1D.chunked(x, scale: scale, chunkSize: chunk) }
            #expect(throws: expected) { try PLSTM1D.reference(x, scale: scale) }
            #expect(throws: expected) { try PLSTM1D.recurrent(x, scale: scale) }
            #expect(throws: expected) {
                try PLSTM1D.backward(x, scale: scale, chunkSize: chunk, outputGradient: nil, finalStateGradient: nil)
            }
        }
        var x = c.inputs
        x.T = .zeros([2, 3, 1, 2, 3])
        expectError(
            .shapeMismatch(tensor: "T", shape: [2, 3, 1, 2, 3], expected: "[2, 3, 1, JT, JT] with JT ≥ 1"), x)
        x = c.inputs
        x.S = .zeros([2, 3, 1, 2, 1, 1])
        expectError(.shapeMismatch(tensor: "S", shape: [2, 3, 1, 2, 1, 1], expected: "[2, 3, 1, 2, 1, 2]"), x)
        x = c.inputs
        x.C0 = .zeros([1, 1, 2, 2, 2])
        expectError(.shapeMismatch(tensor: "C0", shape: [1, 1, 2, 2, 2], expected: "[2, 1, 2, 2, 2]"), x)
        x = c.inputs
        x.M.scalars[3] = .nan
        expectError(.nonFinite(tensor: "M"), x)
        expectError(.invalidArgument(name: "scale", reason: "must be finite, got inf"), c.inputs, scale: .infinity)
        #expect(throws: KernelError.invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got 0")) {
            try PLSTM1D.chunked(c.inputs, chunkSize: 0)
        }
        #expect(throws: KernelError.shapeMismatch(tensor: "outputGradient", shape: [1], expected: "[2, 3, 1, 2, 2]")) {
            try PLSTM1D.backward(c.inputs, outputGradient: .zeros([1]), finalStateGradient: nil)
        }
        #expect(throws: KernelError.invalidSequenceBoundaries(reason: "requires batch size B = 1, got B = 2")) {
            try PLSTM1D.chunked(c.inputs, sequences: try SequenceBoundaries([0, 3]))
        }
        var state = Tensor<Double>.zeros([2, 1, 2, 2, 2])
        #expect(
            throws: KernelError.shapeMismatch(tensor: "q", shape: [2, 1, 2], expected: "rank 4 (one token, no T axis)")
        ) {
            try PLSTM1D.step(
                q: .zeros([2, 1, 2]), k: .zeros([2, 1, 2, 1]), v: .zeros([2, 1, 2, 2]), S: .zeros([2, 1, 2, 1, 2]),
                T: .zeros([2, 1, 2, 2]), M: .zeros([2, 1, 2, 1, 2]), D: .zeros([2, 1, 2, 1, 1, 2]), state: &state)
        }
    }

    /// Each bad 2-D input is refused with the error naming it, by every verb.
    @Test func errors2D() throws {
        let c = Self.case2D()
        func expectError(_ expected: KernelError, _ x: PLSTM2D.Inputs<Double>) {
            #expect(throws: expected) { try PLSTM2D.chunked(x) }
            #expect(throws: expected) { try PLSTM2D.reference(x) }
            #expect(throws: expected) { try PLSTM2D.backward(x, outputGradient: nil, finalStateGradient: nil) }
            #expect(throws: expected) { try PLSTM2D.referenceBackward(x, outputGradient: nil, finalStateGradient: nil) }
        }
        var x = c.inputs
        x.T_ru = .zeros([1, 2, 3, 1, 2, 1])
        expectError(.shapeMismatch(tensor: "T_ru", shape: [1, 2, 3, 1, 2, 1], expected: "[1, 2, 3, 1, 2, 2]"), x)
        x = c.inputs
        x.C_top = nil
        expectError(
            .invalidArgument(name: "C_top", reason: "C_left and C_top are present together; C_top is absent"), x)
        x = c.inputs
        x.C_left = .zeros([1, 2, 1, 2, 2, 2])
        expectError(.shapeMismatch(tensor: "C_left", shape: [1, 2, 1, 2, 2, 2], expected: "[1, 3, 1, 2, 2, 2]"), x)
        x = c.inputs
        x.S_d.scalars[0] = .infinity
        expectError(.nonFinite(tensor: "S_d"), x)
        x = c.inputs
        x.q = .zeros([1, 2, 3, 1, 2])
        expectError(
            .shapeMismatch(tensor: "q", shape: [1, 2, 3, 1, 2], expected: "[B, X, Y, H, DK, JQ] with DK, JQ ≥ 1"), x)
        let bad = PLSTM2D.BoundaryStates<Double>(right: .zeros([1]), bottom: .zeros([1, 2, 1, 2, 2, 2]))
        #expect(
            throws: KernelError.shapeMismatch(
                tensor: "finalStateGradient.right", shape: [1], expected: "[1, 3, 1, 2, 2, 2]")
        ) {
            try PLSTM2D.backward(c.inputs, outputGradient: nil, finalStateGradient: bad)
        }
        #expect(throws: KernelError.invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got 0")) {
            try PLSTM2D.chunked(c.inputs, chunkSize: 0)
        }
    }
}
