import Foundation
import LRNNLinearAlgebra
import LRNNModels

/// Small random models of every mixer type for property tests.
enum TinyModels {
    static let vocab = 53
    static let hidden = 32

    static let deltaNet = MixerConfiguration.deltaNet(DeltaNetConfiguration(numHeads: 2, useGate: true))
    static let deltaNetPlain = MixerConfiguration.deltaNet(
        DeltaNetConfiguration(numHeads: 4, useShortConv: false, useBeta: false, qkNorm: .sum, qkActivation: .elu))
    static let gatedDeltaNet = MixerConfiguration.gatedDeltaNet(
        GatedDeltaNetConfiguration(numHeads: 2, headDim: 8, expandV: 2, numVHeads: 4, outputGateActivation: .sigmoid))
    static let gatedDeltaProduct = MixerConfiguration.gatedDeltaProduct(
        GatedDeltaProductConfiguration(
            numHeads: 2, headDim: 16, expandV: 1, numHouseholder: 2, useForgetGate: true, allowNegEigval: true))
    static let gla = MixerConfiguration.gla(
        GLAConfiguration(numHeads: 4, expandK: 0.5, numKvHeads: 2, featureMap: .relu, useShortConv: true))
    static let glaPlain = MixerConfiguration.gla(GLAConfiguration(numHeads: 2, clampMin: -0.2))
    static let glaNoGate = MixerConfiguration.gla(
        GLAConfiguration(numHeads: 2, expandV: 2, useOutputGate: false, elementwiseAffine: false))
    static let s4d = MixerConfiguration.s4d(S4DConfiguration(stateSize: 16, initialization: .inv))
    /// Global softmax attention with grouped KV heads (4 query heads of 8, 2 KV heads).
    static let attention = MixerConfiguration.attention(AttentionConfiguration(layers: [], numHeads: 4, numKVHeads: 2))
    /// Sliding-window attention (window 7, one KV head, qkv biases, rope_theta 500).
    static let attentionWindow = MixerConfiguration.attention(
        AttentionConfiguration(layers: [], numHeads: 2, numKVHeads: 1, qkvBias: true, windowSize: 7, ropeTheta: 500))

    /// ParaGRU over the width (D = 32, 4 heads), chunks of 16 tokens.
    static let paraGRU = MixerConfiguration.paraRNN(ParaRNNConfiguration(cell: .gru, numHeads: 4, chunkSize: 16))
    /// ParaLSTM with a narrower state (D = 16, 2 heads), chunks of 8 tokens.
    static let paraLSTM = MixerConfiguration.paraRNN(
        ParaRNNConfiguration(cell: .lstm, numHeads: 2, stateSize: 16, chunkSize: 8))

    /// Every mixer, with a name for test arguments.
    static let all: [(String, MixerConfiguration)] = [
        ("delta_net", deltaNet), ("delta_net_plain", deltaNetPlain), ("gated_deltanet", gatedDeltaNet),
        ("gated_deltaproduct", gatedDeltaProduct), ("gla", gla), ("gla_plain", glaPlain),
        ("gla_no_gate", glaNoGate), ("s4d", s4d), ("attention", attention), ("attention_window", attentionWindow),
        ("pararnn_gru", paraGRU), ("pararnn_lstm", paraLSTM),
    ]

    /// The mixers an fla model type is made of (all but S4D, ParaRNN and softmax attention, which fla
    /// places only in the layers a hybrid's `attn` names).
    static let fla = all.filter {
        !["s4d", "attention", "attention_window", "pararnn_gru", "pararnn_lstm"].contains($0.0)
    }

    static func mixer(_ name: String) -> MixerConfiguration { all.first { $0.0 == name }!.1 }

    /// A model of the given mixers in order.
    static func model<T: LRNNScalar>(
        _ mixers: [MixerConfiguration], as: T.Type = T.self, seed: UInt64 = 1, tie: Bool = false
    ) throws -> CausalLM<T> {
        var b = ModelBuilder(vocabSize: vocab, hiddenSize: hidden, intermediateSize: 48, tieWordEmbeddings: tie)
        b.initializerRange = 0.2
        for m in mixers { b.append(m) }
        return try b.build(seed: seed)
    }

    /// Random token ids.
    static func ids(_ n: Int, seed: UInt64) -> [Int] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Int(g.next() % UInt64(vocab)) }
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lrnn-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}

/// Rows `r` of a `[rows, V]` tensor.
func rows<T>(_ x: Tensor<T>, _ r: Range<Int>) -> Tensor<T> {
    let v = x.shape.last!
    return Tensor(shape: [r.count, v], scalars: Array(x.scalars[(r.lowerBound * v)..<(r.upperBound * v)]))
}
