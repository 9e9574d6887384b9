import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTraining
import Testing

@Suite("Global-norm gradient clipping")
struct GradientClippingTests {
    static func gradients(seed: UInt64) -> [String: Tensor<Double>] {
        var rng = SeededRandom(seed: seed)
        return ["a": rng.tensor([7, 300], -3...3), "b": rng.tensor([5], -3...3), "c": rng.tensor([2, 2, 2], -3...3)]
    }

    @Test func normIsTheL2NormOfEveryElement() {
        let g = Self.gradients(seed: 31)
        let direct = sqrt(g.values.flatMap(\.scalars).map { $0 * $0 }.reduce(0, +))
        #expect(abs(GradientClipping.globalNorm(g) - direct) <= 1e-14 * direct)
    }

    @Test func clippingScalesByTheFactorOnlyAboveTheBound() throws {
        let g0 = Self.gradients(seed: 32)
        let n = GradientClipping.globalNorm(g0)
        var g = g0
        let c = n / 4
        #expect(try GradientClipping.clip(&g, maxNorm: c) == n)
        let factor = c / (n + 1e-6)
        for k in g0.keys { #expect(g[k]!.scalars == g0[k]!.scalars.map { $0 * factor }) }
        #expect(abs(GradientClipping.globalNorm(g) - c) <= 1e-6 * c)
        var unclipped = g0
        try GradientClipping.clip(&unclipped, maxNorm: 2 * n)
        #expect(unclipped == g0)
        #expect(throws: TrainingError.invalidArgument(name: "maxNorm", reason: "0.0, expected a finite value > 0")) {
            try GradientClipping.clip(&unclipped, maxNorm: 0)
        }
    }

    @Test func float32NormOfHugeFiniteGradientsIsFinite() {
        // Σ g² overflows Float32 (each square is 1e60), but the norm, 2e30, does not.
        let g = ["w": Tensor<Float>(shape: [4], repeating: 1e30)]
        let n = GradientClipping.globalNorm(g)
        #expect(abs(n - 2e30) <= 1e-6 * 2e30)
        #expect(GradientClipping.globalNorm(["w": Tensor<Float>(shape: [2], scalars: [1, .nan])]).isNaN)
        #expect(GradientClipping.globalNorm(["w": Tensor<Float>(shape: [2], scalars: [1, -.infinity])]) == .infinity)
    }
}
