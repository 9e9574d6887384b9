import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@testable import LRNNModels

/// `Linear` on a few rows (a decoding batch), where a large product is split by output features.
@Suite struct LinearTests {
    /// `x·Wᵀ + b` by the definition, one dot product per output.
    func naive(_ x: Tensor<Double>, _ w: Tensor<Double>, _ b: Tensor<Double>?) -> Tensor<Double> {
        let (rows, inp, out) = (x.shape[0], x.shape[1], w.shape[0])
        let (xs, ws, bs) = (x.scalars, w.scalars, b?.scalars)
        var y = [Double](repeating: 0, count: rows * out)
        for r in 0..<rows {
            for o in 0..<out {
                var s = bs?[o] ?? 0
                for i in 0..<inp { s += xs[r * inp + i] * ws[o * inp + i] }
                y[r * out + o] = s
            }
        }
        return Tensor(shape: [rows, out], scalars: y)
    }

    /// 2 to 16 rows of a 1,500 × 700 layer (rows·in·out ≥ 2²¹, so the product is split into
    /// blocks of output features, the last one partial) equal the definition, and each row equals
    /// the same row through the layer alone (the single-row gemv path).
    @Test(arguments: [2, 3, 8, 16], [false, true])
    func fewRowsMatchNaiveAndSingleRows(_ rows: Int, _ withBias: Bool) {
        var rng = SeededRandom(seed: UInt64(rows * 2 + (withBias ? 1 : 0)))
        let (inp, out) = (700, 1500)
        #expect(rows * inp * out >= Linear<Double>.parallelWork)
        #expect(out % Linear<Double>.blockColumns(rows: rows, inFeatures: inp) != 0)
        let w: Tensor<Double> = rng.tensor([out, inp])
        let b: Tensor<Double>? = withBias ? rng.tensor([out]) : nil
        let x: Tensor<Double> = rng.tensor([rows, inp])
        let layer = Linear(weight: w, bias: b)
        let y = layer(x)
        #expect(y.shape == [rows, out])
        let err = y.relativeError(to: naive(x, w, b))
        #expect(err <= 1e-12, "rows \(rows): \(err)")
        let (xs, ys) = (x.scalars, y.scalars)
        for r in 0..<rows {
            let row = Tensor(shape: [1, inp], scalars: Array(xs[(r * inp)..<((r + 1) * inp)]))
            let alone = layer(row)
            let got = Tensor(shape: [1, out], scalars: Array(ys[(r * out)..<((r + 1) * out)]))
            let e = got.relativeError(to: alone)
            #expect(e <= 1e-12, "rows \(rows), row \(r) vs alone: \(e)")
        }
    }

    /// The block width is a multiple of 8, at least 8, and keeps each block's product within
    /// the small-matrix size (rows·columns·in ≤ 10⁶) whenever 8 columns fit.
    @Test(arguments: [1, 2, 8, 16], [64, 1024, 4096, 200_000])
    func blockColumnsFitTheSmallMatrixSize(_ rows: Int, _ inp: Int) {
        let c = Linear<Float>.blockColumns(rows: rows, inFeatures: inp)
        #expect(c >= 8 && c % 8 == 0)
        if rows * 8 * inp <= 1_000_000 {
            #expect(rows * c * inp <= 1_000_000)
            #expect(rows * (c + 8) * inp > 1_000_000)
        } else {
            #expect(c == 8)
        }
    }
}
