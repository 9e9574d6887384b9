import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// fla's rotary convention: GPT-NeoX halves, inverse frequencies base^(−2i/D), positions from 0
/// per sequence and continuing from an offset.
@Suite struct RotaryEmbeddingTests {
    @Test func unitVectorsRotateByTheirFrequencyInTheHalvesLayout() {
        let d = 8
        let rope = RotaryEmbedding<Double>(headDim: d, base: 500)
        for p in [0, 1, 7, 300] {
            for i in 0..<(d / 2) {
                // One head at position p holding e_i: the halves layout moves it to (cos θ at i, sin θ at i + D/2).
                var q = Tensor<Double>(zeros: [1, d])
                q.scalars[i] = 1
                var k = Tensor<Double>(zeros: [1, d])
                rope.apply(q: &q, qHeads: 1, k: &k, kHeads: 1, boundaries: [0, 1], offsets: [p])
                let theta = Double(p) * Foundation.pow(500, -2 * Double(i) / Double(d))
                for c in 0..<d {
                    let expected = c == i ? Foundation.cos(theta) : c == i + d / 2 ? Foundation.sin(theta) : 0
                    // fla rounds the angles to float32: within a float32 rounding of the angle.
                    #expect(abs(q.scalars[c] - expected) <= 1e-6 * Swift.max(1, theta), "p \(p), i \(i), c \(c)")
                }
            }
        }
    }

    @Test func positionsRestartPerSequenceAndContinueFromOffsets() {
        var r = SeededRandom(seed: 4)
        let rope = RotaryEmbedding<Double>(headDim: 6, base: 10000)
        let x: Tensor<Double> = r.tensor([12, 2 * 6])
        let y: Tensor<Double> = r.tensor([12, 1 * 6])
        var (qAll, kAll) = (x, y)
        rope.apply(q: &qAll, qHeads: 2, k: &kAll, kHeads: 1, boundaries: [0, 12], offsets: [0])
        // Rows 5..<12 as a second piece starting at position 5, and rows 0..<5 as their own sequence.
        var (q, k) = (x, y)
        rope.apply(q: &q, qHeads: 2, k: &k, kHeads: 1, boundaries: [0, 5, 12], offsets: [0, 5])
        #expect(q.scalars == qAll.scalars && k.scalars == kAll.scalars)
        // Packed: the second sequence starts again at position 0, as if it were alone.
        var (q2, k2) = (x, y)
        rope.apply(q: &q2, qHeads: 2, k: &k2, kHeads: 1, boundaries: [0, 5, 12], offsets: [0, 0])
        var q3 = Tensor(shape: [7, 12], scalars: Array(x.scalars[(5 * 12)...]))
        var k3 = Tensor(shape: [7, 6], scalars: Array(y.scalars[(5 * 6)...]))
        rope.apply(q: &q3, qHeads: 2, k: &k3, kHeads: 1, boundaries: [0, 7], offsets: [0])
        #expect(Array(q2.scalars[(5 * 12)...]) == q3.scalars)
        #expect(Array(k2.scalars[(5 * 6)...]) == k3.scalars)
        #expect(Array(q2.scalars[(5 * 12)...]) != Array(qAll.scalars[(5 * 12)...]))
    }

    @Test func scoresDependOnlyOnTheDistance() {
        var r = SeededRandom(seed: 9)
        let rope = RotaryEmbedding<Double>(headDim: 16, base: 10000)
        let x: Tensor<Double> = r.tensor([1, 16])
        let y: Tensor<Double> = r.tensor([1, 16])
        func score(_ pq: Int, _ pk: Int) -> Double {
            var (q, unused) = (x, Tensor<Double>(zeros: [1, 0]))
            rope.apply(q: &q, qHeads: 1, k: &unused, kHeads: 0, boundaries: [0, 1], offsets: [pq])
            var (k, unused2) = (y, Tensor<Double>(zeros: [1, 0]))
            rope.apply(q: &k, qHeads: 1, k: &unused2, kHeads: 0, boundaries: [0, 1], offsets: [pk])
            return zip(q.scalars, k.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        }
        #expect(abs(score(10, 3) - score(7, 0)) <= 1e-6)
        #expect(abs(score(100, 90) - score(10, 0)) <= 1e-5)
        #expect(abs(score(10, 3) - score(10, 4)) > 1e-3)
    }
}
