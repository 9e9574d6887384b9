import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("pLSTM 2-D tiled paths against the reference")
struct PLSTM2DPropertyTests {
    /// Grid shapes (1 × 1, 1 × N, N × 1, tiles that do not divide the grid, one tile, J sizes 1 and
    /// above 1) with their tile sides.
    static let shapes: [(String, Int, Int, Int, Int, PLSTMSizes, Int)] = [
        ("1x1", 2, 1, 1, 1, PLSTMSizes(dk: 3, dv: 2), 4),
        ("1xN", 1, 1, 7, 2, PLSTMSizes(dk: 2, dv: 3, jt: 2, jo: 2), 3),
        ("Nx1", 1, 6, 1, 1, PLSTMSizes(dk: 3, dv: 2, jq: 2, jk: 2, jv: 2, jt: 2, jo: 2), 4),
        ("ragged tiles", 2, 7, 5, 2, PLSTMSizes(dk: 3, dv: 2), 3),
        ("one tile", 1, 4, 5, 1, PLSTMSizes(dk: 2, dv: 2, jq: 1, jk: 1, jv: 2, jt: 2, jo: 2), 8),
        ("general", 1, 5, 4, 1, PLSTMSizes(dk: 2, dv: 2, jq: 2, jk: 2, jv: 2, jt: 3, jo: 2), 2),
        ("single cells", 1, 3, 4, 2, PLSTMSizes(dk: 2, dv: 3, jv: 2, jt: 2, jo: 1), 1),
    ]

    /// chunked matches reference within 1e-10 (Float64): outputs and both boundaries, every mode.
    @Test(arguments: 0..<7, PLSTM2DMode.allCases)
    func forward(index: Int, mode: PLSTM2DMode) throws {
        let (name, b, x, y, h, sizes, tile) = Self.shapes[index]
        var rng = SeededRandom(seed: 7400 + UInt64(index))
        let c = PLSTM2DCase<Double>(
            &rng, b: b, x: x, y: y, h: h, sizes: sizes, mode: mode, withBoundary: index % 2 == 0)
        let ref = try PLSTM2D.reference(c.inputs)
        let fast = try PLSTM2D.chunked(c.inputs, chunkSize: tile)
        #expect(plstmError(fast.output, ref.output) <= 1e-10, "\(name) \(mode.rawValue) output")
        #expect(plstmError(fast.finalState.right, ref.finalState.right) <= 1e-10, "\(name) \(mode.rawValue) C_right")
        #expect(plstmError(fast.finalState.bottom, ref.finalState.bottom) <= 1e-10, "\(name) \(mode.rawValue) C_bottom")
    }

    /// backward matches referenceBackward within 1e-10 (Float64), with and without each cotangent and
    /// the boundary states, every mode.
    @Test(arguments: 0..<7, PLSTM2DMode.allCases)
    func backward(index: Int, mode: PLSTM2DMode) throws {
        let (name, b, x, y, h, sizes, tile) = Self.shapes[index]
        for variant in 0..<3 {
            var rng = SeededRandom(seed: 7500 + UInt64(index * 3 + variant))
            let c = PLSTM2DCase<Double>(
                &rng, b: b, x: x, y: y, h: h, sizes: sizes, mode: mode, withBoundary: variant != 1,
                withOutputGradient: variant != 2, withFinalStateGradient: variant != 1)
            let ref = try PLSTM2D.referenceBackward(
                c.inputs, outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient)
            let fast = try PLSTM2D.backward(
                c.inputs, chunkSize: tile, outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient)
            #expect(plstm2DGradientError(fast, ref) <= 1e-10, "\(name) \(mode.rawValue) variant \(variant)")
        }
    }

    /// An empty grid passes each boundary state (and its adjoint) straight through, in both paths.
    @Test(arguments: [(0, 3), (3, 0)])
    func emptyGrid(x: Int, y: Int) throws {
        var rng = SeededRandom(seed: 7600)
        let c = PLSTM2DCase<Double>(&rng, b: 1, x: x, y: y, h: 1, sizes: PLSTMSizes(dk: 2, dv: 2), mode: .p)
        for r in [try PLSTM2D.reference(c.inputs), try PLSTM2D.chunked(c.inputs)] {
            #expect(r.output.count == 0)
            #expect(r.finalState.right.scalars == c.inputs.C_left!.scalars)
            #expect(r.finalState.bottom.scalars == c.inputs.C_top!.scalars)
        }
        let d = try #require(c.finalStateGradient)
        for g in [
            try PLSTM2D.referenceBackward(c.inputs, outputGradient: c.outputGradient, finalStateGradient: d),
            try PLSTM2D.backward(c.inputs, outputGradient: c.outputGradient, finalStateGradient: d),
        ] {
            #expect(g.C_left!.scalars == d.right.scalars)
            #expect(g.C_top!.scalars == d.bottom.scalars)
        }
    }
}
