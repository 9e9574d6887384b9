import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// The pLSTM 1-D mixer in a model: gradients through the training path against finite
/// differences, prefill + decode against one forward pass, and its refused configurations.
@Suite struct PLSTM1DMixerTests {
    /// J sizes above 1 (JT = 1, the built transition).
    static let mixer = MixerConfiguration.pLSTM1D(
        PLSTM1DConfiguration(
            numHeads: 2, keyDim: 4, valueDim: 3, queryStates: 2, keyStates: 2, valueStates: 2, outputStates: 2))

    /// `lossAndGradients` of a two-layer pLSTM model along random directions over every parameter,
    /// against central finite differences (Float64), on packed rows of different lengths.
    @Test func finiteDifferences() throws {
        let m: CausalLM<Double> = try TinyModels.model([Self.mixer, Self.mixer])
        #expect(m.parameters()["model.layers.1.attn.transition_proj.bias"]?.shape == [2])
        let err = try ModelGradientTests().directionalError(
            m, ids: ModelGradientTests.ids, labels: ModelGradientTests.labels, seed: 11)
        #expect(err <= 1e-7, "\(err)")
    }

    /// Prefill of 37 tokens, then 23 decoding steps through the kernel's step, equal one forward pass.
    @Test func prefillThenDecodeEqualsFullForward() throws {
        let m: CausalLM<Double> = try TinyModels.model([Self.mixer, TinyModels.mixer("gla")])
        let ids = TinyModels.ids(60, seed: 12)
        let full = try m.logits([ids]).reshaped([ids.count, m.vocabSize])
        var cache = m.makeCache(batchSize: 1)
        var out = try m.forward([Array(ids[..<37])], cache: &cache).scalars
        for t in ids[37...] { out += try m.decode([t], cache: &cache).scalars }
        let err = Tensor(shape: full.shape, scalars: out).relativeError(to: full)
        #expect(err < 1e-10, "\(err)")
    }

    /// JT > 1 (the matrix transition) and a zero head count are refused, naming the field.
    @Test func refusedConfigurations() throws {
        var b = ModelBuilder(vocabSize: 11, hiddenSize: 8, intermediateSize: 16)
        b.append(.pLSTM1D(PLSTM1DConfiguration(transitionStates: 2)))
        #expect(
            throws: ModelError.invalidConfiguration(
                field: "JT",
                reason: "2: only JT = 1 is built (the near-orthogonal matrix transition is not implemented)")
        ) { _ = try b.build(as: Double.self, seed: 1) }
        var c = ModelBuilder(vocabSize: 11, hiddenSize: 8, intermediateSize: 16)
        c.append(.pLSTM1D(PLSTM1DConfiguration(numHeads: 0)))
        #expect(throws: ModelError.invalidConfiguration(field: "num_heads", reason: "0: must be ≥ 1")) {
            _ = try c.build(as: Double.self, seed: 1)
        }
    }
}
