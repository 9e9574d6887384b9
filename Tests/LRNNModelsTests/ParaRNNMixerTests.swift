import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// The ParaRNN token mixer: its configuration, and the model's gradients through it (the Newton
/// forward and the chunked adjoint) against central finite differences in Float64.
@Suite struct ParaRNNMixerTests {
    /// A model of ParaGRU, ParaLSTM (narrower state) and a ParaGRU without `o_proj`, on packed rows
    /// with ignored positions: the directional derivative of the loss over every parameter.
    @Test func modelGradientsMatchFiniteDifferences() throws {
        var b = ModelBuilder(vocabSize: TinyModels.vocab, hiddenSize: TinyModels.hidden, intermediateSize: 48)
        b.initializerRange = 0.2
        b.append(TinyModels.paraGRU)
        b.append(TinyModels.paraLSTM, mlp: false)
        b.append(.paraRNN(ParaRNNConfiguration(cell: .gru, numHeads: 2, useOutputProjection: false, chunkSize: 3)))
        let m: CausalLM<Double> = try b.build(seed: 4)
        let keys = Set(m.parameters().keys)
        for key in ["A", "B", "b", "o_proj.weight"] { #expect(keys.contains("model.layers.0.attn." + key)) }
        #expect(keys.contains("model.layers.1.attn.C"))
        #expect(!keys.contains("model.layers.2.attn.o_proj.weight"))
        #expect(m.parameters()["model.layers.1.attn.B"]?.shape == [2, 16, 3, 8])
        let err = try ModelGradientTests().directionalError(
            m, ids: ModelGradientTests.ids, labels: ModelGradientTests.labels, seed: 8)
        #expect(err <= 1e-7, "\(err)")
    }

    /// Absent fields take the documented defaults; present ones are read by their snake-case keys.
    @Test func configurationDecodesWithDefaults() throws {
        let empty = try JSONDecoder().decode(ParaRNNConfiguration.self, from: Data("{}".utf8))
        #expect(empty == ParaRNNConfiguration())
        #expect(empty.cell == .gru && empty.numHeads == 4 && empty.stateSize == nil && empty.useOutputProjection)
        #expect(empty.newtonMaxIterations == 40 && empty.chunkSize == 128)
        let json = #"{"cell": "lstm", "num_heads": 2, "state_size": 8, "newton_max_iterations": 5, "chunk_size": 16}"#
        let c = try JSONDecoder().decode(ParaRNNConfiguration.self, from: Data(json.utf8))
        #expect(
            c == ParaRNNConfiguration(cell: .lstm, numHeads: 2, stateSize: 8, newtonMaxIterations: 5, chunkSize: 16))
        let round = try JSONDecoder().decode(ParaRNNConfiguration.self, from: JSONEncoder().encode(c))
        #expect(round == c)
    }

    /// An unknown cell is refused while decoding, naming the field and the accepted spellings.
    @Test func unknownCellIsRefused() {
        #expect(
            throws: ConfigurationIssue(field: "cell", value: "rnn", reason: "expected gru or lstm", kind: .unsupported)
        ) {
            try JSONDecoder().decode(ParaRNNConfiguration.self, from: Data(#"{"cell": "rnn"}"#.utf8))
        }
    }

    /// Impossible configurations are refused by the builder, naming the field.
    @Test func invalidConfigurationsAreRefused() throws {
        let cases: [(ParaRNNConfiguration, String)] = [
            (ParaRNNConfiguration(numHeads: 3), "hidden_size"),
            (ParaRNNConfiguration(numHeads: 4, stateSize: 6), "state_size"),
            (ParaRNNConfiguration(stateSize: 16, useOutputProjection: false), "use_output_projection"),
            (ParaRNNConfiguration(newtonMaxIterations: -1), "newton_max_iterations"),
            (ParaRNNConfiguration(chunkSize: 0), "chunk_size"),
        ]
        for (c, field) in cases {
            var b = ModelBuilder(vocabSize: TinyModels.vocab, hiddenSize: TinyModels.hidden)
            b.append(.paraRNN(c))
            #expect {
                let _: CausalLM<Double> = try b.build(seed: 1)
            } throws: { error in
                guard case let .invalidConfiguration(f, _) = error as? ModelError else { return false }
                return f == field
            }
        }
    }
}
