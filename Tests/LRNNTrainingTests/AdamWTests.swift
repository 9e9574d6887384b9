import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTraining
import Testing

@Suite("AdamW and clipping")
struct AdamWTests {
    /// A toy quadratic `½ Σ a (p − c)²` over two parameters.
    static func quadratic(seed: UInt64) -> ObjectiveModel<Double> {
        var rng = SeededRandom(seed: seed)
        let shapes = ["layer.weight": [3, 4], "norm.weight": [5]]
        var p: [String: Tensor<Double>] = [:]
        var a: [String: Tensor<Double>] = [:]
        var c: [String: Tensor<Double>] = [:]
        for (k, s) in shapes {
            p[k] = rng.tensor(s, -2...2)
            a[k] = rng.tensor(s, 0.5...8)
            c[k] = rng.tensor(s, -1...1)
        }
        return ObjectiveModel(parameters: p, objective: .quadratic(curvature: a, target: c))
    }

    /// The library's trajectory: lossAndGradients, GradientClipping.clip, AdamW.update.
    static func libraryTrajectory(
        _ model: ObjectiveModel<Double>, steps: Int, lr: Double, optimizer: AdamW<Double>, clip: Double
    ) throws -> (losses: [Double], norms: [Double], parameters: [String: Tensor<Double>]) {
        var model = model
        var opt = optimizer
        var params = model.parameters()
        var losses: [Double] = []
        var norms: [Double] = []
        for _ in 0..<steps {
            var (l, g) = try model.lossAndGradients(inputIDs: [[0]], labels: [[0]])
            losses.append(l)
            norms.append(try GradientClipping.clip(&g, maxNorm: clip))
            try opt.update(parameters: &params, gradients: g, learningRate: lr)
            model = try model.updating(parameters: params)
        }
        losses.append(try model.loss(inputIDs: [[0]], labels: [[0]]))
        return (losses, norms, params)
    }

    static func maxRelative(_ a: [Double], _ b: [Double]) -> Double {
        let scale = b.map(abs).max() ?? 1
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    @Test func trajectoryMatchesTheHandComputedOneWithClippingActive() throws {
        let model = Self.quadratic(seed: 21)
        let keys = ["layer.weight", "norm.weight"]
        let hand = try ReferenceAdamW.run(
            model, inputIDs: [[0]], labels: [[0]], steps: 12, lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8,
            weightDecay: { _ in 0.01 }, clip: 1)
        let lib = try Self.libraryTrajectory(
            model, steps: 12, lr: 0.05, optimizer: AdamW(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01),
            clip: 1)
        // The norm stays above c, so every step is clipped.
        #expect(hand.norms.allSatisfy { $0 > 1 })
        #expect(Self.maxRelative(lib.losses, hand.losses) <= 1e-12)
        #expect(Self.maxRelative(lib.norms, hand.norms) <= 1e-12)
        for k in keys { #expect(Self.maxRelative(lib.parameters[k]!.scalars, hand.parameters[k]!.scalars) <= 1e-12) }
        // The loss falls.
        #expect(lib.losses.last! < lib.losses.first!)
    }

    @Test func groupsSetDecayAndLearningRatePerKey() throws {
        let model = Self.quadratic(seed: 22)
        let groups = [
            try ParameterGroup<Double>(name: "norms", kinds: [.norm], learningRateScale: 0.25, weightDecay: 0)
        ]
        let hand = try ReferenceAdamW.run(
            model, inputIDs: [[0]], labels: [[0]], steps: 6, lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6,
            weightDecay: { $0 == "norm.weight" ? 0 : 0.1 }, learningRateScale: { $0 == "norm.weight" ? 0.25 : 1 },
            clip: 100)
        let lib = try Self.libraryTrajectory(
            model, steps: 6, lr: 0.02,
            optimizer: AdamW(beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1, groups: groups), clip: 100)
        #expect(Self.maxRelative(lib.losses, hand.losses) <= 1e-12)
        for k in ["layer.weight", "norm.weight"] {
            #expect(Self.maxRelative(lib.parameters[k]!.scalars, hand.parameters[k]!.scalars) <= 1e-12)
        }
        let opt = try AdamW<Double>(weightDecay: 0.1, groups: groups)
        #expect(opt.settings(for: "model.layers.0.attn_norm.weight") == (0.25, 0))
        #expect(opt.settings(for: "model.layers.0.attn.q_proj.weight") == (1, 0.1))
    }

    @Test func firstStepIsTheSignStepAfterDecay() throws {
        // At t = 1, m̂ = g and √v̂ = |g|: p₁ = p₀(1 − lr·wd) − lr·g / (|g| + ε).
        let p0 = Tensor<Double>(shape: [4], scalars: [1.5, -0.25, 3, 0])
        let g = Tensor<Double>(shape: [4], scalars: [0.3, -2, 1e-3, 0.5])
        var params = ["w": p0]
        var opt = try AdamW<Double>(epsilon: 1e-8, weightDecay: 0.1)
        try opt.update(parameters: &params, gradients: ["w": g], learningRate: 0.01)
        for i in 0..<4 {
            let expected = p0.scalars[i] * (1 - 0.01 * 0.1) - 0.01 * g.scalars[i] / (abs(g.scalars[i]) + 1e-8)
            #expect(abs(params["w"]!.scalars[i] - expected) <= 1e-15)
        }
        #expect(opt.step == 1)
        for i in 0..<4 { #expect(abs(opt.firstMoments["w"]!.scalars[i] - 0.1 * g.scalars[i]) <= 1e-16) }
    }

    @Test func mismatchedGradientsAreTypedErrorsAndChangeNothing() throws {
        var params = ["a": Tensor<Double>.zeros([2]), "b": Tensor<Double>.zeros([3])]
        var opt = try AdamW<Double>()
        #expect(throws: TrainingError.missingParameter(name: "gradients", key: "b")) {
            try opt.update(parameters: &params, gradients: ["a": .zeros([2])], learningRate: 0.1)
        }
        #expect(throws: TrainingError.unexpectedParameter(name: "gradients", key: "c")) {
            try opt.update(
                parameters: &params, gradients: ["a": .zeros([2]), "b": .zeros([3]), "c": .zeros([1])],
                learningRate: 0.1)
        }
        #expect(throws: TrainingError.shapeMismatch(tensor: "gradients.b", shape: [1, 3], expected: [3])) {
            try opt.update(parameters: &params, gradients: ["a": .zeros([2]), "b": .zeros([1, 3])], learningRate: 0.1)
        }
        #expect(throws: TrainingError.invalidArgument(name: "learningRate", reason: "nan, expected a finite value ≥ 0"))
        {
            try opt.update(parameters: &params, gradients: ["a": .zeros([2]), "b": .zeros([3])], learningRate: .nan)
        }
        #expect(opt.step == 0 && opt.firstMoments.isEmpty)
        #expect(throws: TrainingError.invalidArgument(name: "beta2", reason: "1.0, expected a value in [0, 1)")) {
            try AdamW<Double>(beta2: 1)
        }
        #expect(throws: TrainingError.invalidArgument(name: "weightDecay", reason: "-0.1, expected a finite value ≥ 0"))
        {
            try AdamW<Double>(weightDecay: -0.1)
        }
    }
}
