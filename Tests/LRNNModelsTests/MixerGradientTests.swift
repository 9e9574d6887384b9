import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@testable import LRNNModels

/// The training paths of the S4D and softmax-attention mixers on their own: for
/// `L = Σ c ⊙ mixer(x)` with a random cotangent c, the pullback's dL/dx and dL/d(every parameter
/// of the mixer) against central finite differences of the inference forward (Float64, ≤ 1e-7
/// relative), on a uniform batch and on packed sequences.
@Suite struct MixerGradientTests {
    typealias FD = FiniteDifference

    static let s4dBilinear = MixerConfiguration.s4d(
        S4DConfiguration(stateSize: 8, initialization: .lin, discretization: .bilinear))

    static let mixers: [(String, MixerConfiguration)] = [
        ("s4d zoh", TinyModels.s4d), ("s4d bilinear", s4dBilinear), ("attention", TinyModels.attention),
        ("attention window", TinyModels.attentionWindow),
    ]

    /// Three sequences (70 tokens: two attention blocks), one of a single token.
    static let layouts: [SequenceLayout] = [.uniform(batch: 2, length: 11), .packed(cuSeqlens: [0, 70, 71, 90])]

    /// The inference forward of layer 0's mixer of `model` from zero states.
    static func forward(_ model: CausalLM<Double>, _ x: Tensor<Double>, _ layout: SequenceLayout) throws
        -> Tensor<Double>
    {
        var none: MixerState<Double>? = nil
        return try model.layers[0].attn.forward(x, layout: layout, state: &none)
    }

    @Test(arguments: mixers.map(\.0), layouts)
    func finiteDifferences(_ name: String, _ layout: SequenceLayout) throws {
        let configuration = Self.mixers.first { $0.0 == name }!.1
        let model: CausalLM<Double> = try TinyModels.model([configuration], seed: 4)
        let mixer = try #require(model.layers[0].attn as? any DifferentiableTokenMixer<Double>)
        var rng = SeededRandom(seed: 21)
        let x: Tensor<Double> = rng.normalTensor([layout.tokenCount, TinyModels.hidden])
        let c: Tensor<Double> = rng.normalTensor([layout.tokenCount, TinyModels.hidden])
        let (y, pullback) = try mixer.forwardWithPullback(x, layout: layout)
        #expect(y.relativeError(to: try Self.forward(model, x, layout)) <= 1e-13)
        let prefix = "model.layers.0.attn."
        let (dx, gradient) = try pullback(c)
        // The gradient is a mixer of the same type: its parameter walk gives the keys.
        let grads = Dictionary(
            uniqueKeysWithValues: gradient.namedParameterList().map { (prefix + $0.key, $0.value) })

        // One gradient per parameter of the mixer, of its shape.
        let parameters = model.parameters()
        let own = Set(parameters.keys.filter { $0.hasPrefix(prefix) })
        #expect(Set(grads.keys) == own)

        let ex = try FD.error(at: x, gradient: dx, seed: 22) { FD.dot(try Self.forward(model, $0, layout), c) }
        #expect(ex <= 1e-7, "\(name) x: \(ex)")
        for (i, key) in own.sorted().enumerated() {
            let g = try #require(grads[key])
            #expect(g.shape == parameters[key]!.shape, "\(key)")
            let err = try FD.error(at: parameters[key]!, gradient: g, seed: UInt64(30 + i)) { p in
                var moved = parameters
                moved[key] = p
                return FD.dot(try Self.forward(try model.updating(parameters: moved), x, layout), c)
            }
            #expect(err <= 1e-7, "\(name) \(key): \(err)")
        }
    }

    @Test func attentionWithQKVBiasesHasBiasGradients() throws {
        let model: CausalLM<Double> = try TinyModels.model([TinyModels.attentionWindow])
        let mixer = try #require(model.layers[0].attn as? AttentionMixer<Double>)
        var rng = SeededRandom(seed: 3)
        let layout = SequenceLayout.uniform(batch: 1, length: 9)
        let x: Tensor<Double> = rng.normalTensor([9, TinyModels.hidden])
        let gradient = try mixer.forwardWithPullback(x, layout: layout).pullback(rng.normalTensor([9, 32]))
        #expect(
            Set(gradient.parameters.namedParameterList().map(\.key))
                == [
                    "q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight", "v_proj.bias",
                    "o_proj.weight",
                ])
    }

    @Test func s4dGradientKeys() throws {
        let model: CausalLM<Double> = try TinyModels.model([TinyModels.s4d])
        let mixer = try #require(model.layers[0].attn as? S4DMixer<Double>)
        var rng = SeededRandom(seed: 4)
        let layout = SequenceLayout.uniform(batch: 1, length: 5)
        let gradient = try mixer.forwardWithPullback(rng.normalTensor([5, 32]), layout: layout)
            .pullback(rng.normalTensor([5, 32]))
        #expect(
            Set(gradient.parameters.namedParameterList().map(\.key))
                == [
                    "log_dt", "A_re", "A_im", "B_re", "B_im", "C_re", "C_im", "D", "output_linear.weight",
                    "output_linear.bias",
                ])
    }

    @Test func attentionRefusesANonFiniteOutputGradient() throws {
        let model: CausalLM<Double> = try TinyModels.model([TinyModels.attention])
        let mixer = try #require(model.layers[0].attn as? AttentionMixer<Double>)
        var rng = SeededRandom(seed: 5)
        let layout = SequenceLayout.uniform(batch: 1, length: 4)
        var dy: Tensor<Double> = rng.normalTensor([4, 32])
        dy[2, 7] = .nan
        let pullback = try mixer.forwardWithPullback(rng.normalTensor([4, 32]), layout: layout).pullback
        #expect(throws: KernelError.nonFinite(tensor: "outputGradient")) { _ = try pullback(dy) }
    }
}
