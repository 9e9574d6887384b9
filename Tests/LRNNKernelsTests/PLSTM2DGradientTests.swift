import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Central finite differences of the reference forward's loss against both backward paths (Float64).
@Suite("pLSTM 2-D backward finite differences")
struct PLSTM2DGradientTests {
    /// Every element of every input present (the boundary states included) against both backward
    /// paths, in P-mode and both D-mode chiralities, on a grid split into tiles of 2.
    @Test(arguments: PLSTM2DMode.allCases)
    func finiteDifferences(mode: PLSTM2DMode) throws {
        var rng = SeededRandom(seed: 7700 + UInt64(PLSTM2DMode.allCases.firstIndex(of: mode)!))
        let c = PLSTM2DCase<Double>(
            &rng, b: 1, x: 3, y: 2, h: 1, sizes: PLSTMSizes(dk: 2, dv: 1, jq: 2, jk: 1, jv: 2, jt: 2, jo: 2), mode: mode
        )
        let fast = try PLSTM2D.backward(
            c.inputs, chunkSize: 2, outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient)
        let ref = try PLSTM2D.referenceBackward(
            c.inputs, outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient)
        var fields: [(String, WritableKeyPath<PLSTM2D.Inputs<Double>, Tensor<Double>>)] = [
            ("q", \.q), ("k", \.k), ("v", \.v), ("S_r", \.S_r), ("S_d", \.S_d), ("T_rl", \.T_rl), ("T_du", \.T_du),
            ("M_l", \.M_l), ("M_u", \.M_u), ("D", \.D), ("C_left", \.C_left!), ("C_top", \.C_top!),
        ]
        if mode != .dRight { fields.append(("T_ru", \.T_ru!)) }
        if mode != .dLeft { fields.append(("T_dl", \.T_dl!)) }
        let h = 1e-5
        for (name, field) in fields {
            var numeric = c.inputs[keyPath: field]
            for i in 0..<numeric.count {
                var plus = c.inputs
                plus[keyPath: field].scalars[i] += h
                var minus = c.inputs
                minus[keyPath: field].scalars[i] -= h
                numeric.scalars[i] = (try c.loss(plus) - c.loss(minus)) / (2 * h)
            }
            #expect(plstmError(fast[keyPath: field], numeric) <= 1e-7, "\(mode.rawValue) d\(name) backward")
            #expect(plstmError(ref[keyPath: field], numeric) <= 1e-7, "\(mode.rawValue) d\(name) referenceBackward")
        }
        #expect((fast.T_ru == nil) == (mode == .dRight))
        #expect((fast.T_dl == nil) == (mode == .dLeft))
    }
}
