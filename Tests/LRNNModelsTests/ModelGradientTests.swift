import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// `CausalLM.lossAndGradients` against central finite differences of `loss` in Float64 along
/// random directions over every parameter at once, and its typed errors.
@Suite struct ModelGradientTests {
    typealias FD = FiniteDifference

    /// Packed rows of different lengths (one of a single token), some positions ignored.
    static let ids = [[3, 1, 4, 1, 5, 9, 2, 6, 5], [7], [8, 9, 7, 9, 3, 2]]
    static let labels = [[1, 4, -100, 5, 9, 2, -100, 5, 3], [-100], [9, 7, 9, 3, 2, -100]]

    /// The directional derivative of the loss along random directions over all parameters.
    func directionalError(_ model: CausalLM<Double>, ids: [[Int]], labels: [[Int]], seed: UInt64) throws -> Double {
        let (loss, grads) = try model.lossAndGradients(inputIDs: ids, labels: labels)
        let params = model.parameters()
        #expect(Set(grads.keys) == Set(params.keys))
        for (k, g) in grads { #expect(g.shape == params[k]!.shape, "\(k)") }
        #expect(abs(loss - (try model.loss(inputIDs: ids, labels: labels))) <= 1e-13 * loss)
        var rng = SeededRandom(seed: seed)
        var worst = 0.0
        for _ in 0..<2 {
            // One unit direction over every parameter at once.
            var direction: [String: Tensor<Double>] = [:]
            for (k, p) in params.sorted(by: { $0.key < $1.key }) { direction[k] = rng.normalTensor(p.shape) }
            let norm = direction.values.reduce(0) { $0 + FD.dot($1, $1) }.squareRoot()
            direction = direction.mapValues { $0.map { $0 / norm } }
            let analytic = params.keys.reduce(0) { $0 + FD.dot(grads[$1]!, direction[$1]!) }
            func at(_ s: Double) throws -> Double {
                let moved = params.reduce(into: [String: Tensor<Double>]()) {
                    $0[$1.key] = FD.shifted($1.value, direction[$1.key]!, s)
                }
                return try model.updating(parameters: moved).loss(inputIDs: ids, labels: labels)
            }
            let fd = try FD.derivative(at)
            worst = max(worst, abs(fd - analytic) / abs(analytic))
        }
        return worst
    }

    @Test(arguments: TinyModels.fla.map(\.0))
    func finiteDifferences(_ name: String) throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name), TinyModels.mixer(name)])
        let err = try directionalError(m, ids: Self.ids, labels: Self.labels, seed: 5)
        #expect(err <= 1e-7, "\(name): \(err)")
    }

    @Test func tiedEmbeddingsAndMixedStackWithoutMLP() throws {
        var b = ModelBuilder(
            vocabSize: TinyModels.vocab, hiddenSize: TinyModels.hidden, intermediateSize: 48, tieWordEmbeddings: true)
        b.initializerRange = 0.2
        b.append(TinyModels.gatedDeltaProduct)
        b.append(TinyModels.gla, mlp: false)
        b.append(TinyModels.deltaNet)
        let m: CausalLM<Double> = try b.build(seed: 3)
        #expect(m.parameters()["lm_head.weight"] == nil)
        let err = try directionalError(m, ids: Self.ids, labels: Self.labels, seed: 6)
        #expect(err <= 1e-7, "\(err)")
    }

    @Test func uniformBatch() throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.gatedDeltaNet])
        let ids = [Array(Self.ids[0].prefix(6)), Self.ids[2]]
        let labels = [Array(Self.labels[0].prefix(6)), Self.labels[2]]
        #expect(try directionalError(m, ids: ids, labels: labels, seed: 7) <= 1e-7)
    }

    @Test func packedEqualsSeparateSequences() throws {
        // Sequences are independent: the packed batch's loss·N is the sum of each row's loss·N_b.
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.gla])
        let (loss, grads) = try m.lossAndGradients(inputIDs: Self.ids, labels: Self.labels)
        let a = try m.lossAndGradients(inputIDs: [Self.ids[0]], labels: [Self.labels[0]])
        let c = try m.lossAndGradients(inputIDs: [Self.ids[2]], labels: [Self.labels[2]])
        #expect(abs(loss * 12 - (a.loss * 7 + c.loss * 5)) <= 1e-12)
        let key = "model.layers.0.attn.q_proj.weight"
        let combined = Tensor<Double>(
            shape: grads[key]!.shape,
            scalars: zip(a.gradients[key]!.scalars, c.gradients[key]!.scalars).map { ($0 * 7 + $1 * 5) / 12 })
        #expect(grads[key]!.relativeError(to: combined) <= 1e-12)
    }

    @Test func float32AgreesWithFloat64() throws {
        let m64: CausalLM<Double> = try TinyModels.model([TinyModels.deltaNet, TinyModels.gla])
        let m32: CausalLM<Float> = try TinyModels.model([TinyModels.deltaNet, TinyModels.gla])
        let m64r = try m64.updating(parameters: m32.parameters().mapValues { $0.converted(to: Double.self) })
        let (l64, g64) = try m64r.lossAndGradients(inputIDs: Self.ids, labels: Self.labels)
        let (l32, g32) = try m32.lossAndGradients(inputIDs: Self.ids, labels: Self.labels)
        #expect(abs(Double(l32) - l64) <= 1e-5 * l64)
        for (k, g) in g64 { #expect(g32[k]!.converted(to: Double.self).relativeError(to: g) <= 1e-4, "\(k)") }
    }

    // MARK: errors

    let model: CausalLM<Double> = try! TinyModels.model([TinyModels.deltaNet])

    @Test func emptyBatch() {
        #expect(throws: ModelError.invalidArgument(name: "inputIDs", reason: "empty batch")) {
            try model.lossAndGradients(inputIDs: [], labels: [])
        }
    }

    @Test func labelRowCount() {
        #expect(throws: ModelError.invalidArgument(name: "labels", reason: "1 rows of labels for 2 sequences")) {
            try model.lossAndGradients(inputIDs: [[1, 2], [3]], labels: [[1, 2]])
        }
    }

    @Test func labelRowLength() {
        #expect(throws: ModelError.invalidArgument(name: "labels[1]", reason: "2 labels for a sequence of 1 tokens")) {
            try model.loss(inputIDs: [[1, 2], [3]], labels: [[1, 2], [3, 4]])
        }
    }

    @Test func labelOutOfRange() {
        let reason = "53 is neither -100 nor a token id in 0..<53"
        #expect(throws: ModelError.invalidArgument(name: "labels[0][1]", reason: reason)) {
            try model.lossAndGradients(inputIDs: [[1, 2]], labels: [[1, 53]])
        }
        #expect(
            throws: ModelError.invalidArgument(
                name: "labels[0][0]", reason: "-1 is neither -100 nor a token id in 0..<53")
        ) {
            try model.loss(inputIDs: [[1, 2]], labels: [[-1, 2]])
        }
    }

    @Test func noCountedPosition() {
        let reason = "every position is -100: no position to average over"
        #expect(throws: ModelError.invalidArgument(name: "labels", reason: reason)) {
            try model.lossAndGradients(inputIDs: [[1, 2], []], labels: [[-100, -100], []])
        }
    }

    @Test func tokenOutOfRange() {
        #expect(throws: ModelError.tokenOutOfRange(token: 60, vocabSize: 53)) {
            try model.lossAndGradients(inputIDs: [[1, 60]], labels: [[1, 2]])
        }
    }

    // MARK: S4D and softmax attention

    /// A hybrid stack: delta_net, S4D (zoh, no MLP), grouped-KV attention, S4D (bilinear),
    /// windowed attention with biases, on packed rows (one of 70 tokens: two attention blocks).
    @Test func hybridStackWithS4DAndAttention() throws {
        var b = ModelBuilder(vocabSize: TinyModels.vocab, hiddenSize: TinyModels.hidden, intermediateSize: 48)
        b.initializerRange = 0.2
        b.append(TinyModels.deltaNet)
        b.append(TinyModels.s4d, mlp: false)
        b.append(TinyModels.attention)
        b.append(MixerGradientTests.s4dBilinear)
        b.append(TinyModels.attentionWindow)
        let m: CausalLM<Double> = try b.build(seed: 8)
        let long = TinyModels.ids(70, seed: 9)
        let ids = Self.ids + [long]
        let labels = Self.labels + [long.enumerated().map { $0.offset % 5 == 0 ? -100 : long[($0.offset + 1) % 70] }]
        let err = try directionalError(m, ids: ids, labels: labels, seed: 10)
        #expect(err <= 1e-7, "\(err)")
    }

    @Test func hybridFloat32AgreesWithFloat64() throws {
        let mixers = [TinyModels.s4d, TinyModels.attentionWindow, MixerGradientTests.s4dBilinear]
        let m64: CausalLM<Double> = try TinyModels.model(mixers)
        let m32: CausalLM<Float> = try TinyModels.model(mixers)
        let m64r = try m64.updating(parameters: m32.parameters().mapValues { $0.converted(to: Double.self) })
        let (l64, g64) = try m64r.lossAndGradients(inputIDs: Self.ids, labels: Self.labels)
        let (l32, g32) = try m32.lossAndGradients(inputIDs: Self.ids, labels: Self.labels)
        #expect(abs(Double(l32) - l64) <= 1e-5 * l64)
        for (k, g) in g64 { #expect(g32[k]!.converted(to: Double.self).relativeError(to: g) <= 1e-4, "\(k)") }
    }

    @Test(arguments: ["s4d", "attention", "attention_window"])
    func twoLayersOfOneMixer(_ name: String) throws {
        let m: CausalLM<Double> = try TinyModels.model([TinyModels.mixer(name), TinyModels.mixer(name)])
        let err = try directionalError(m, ids: Self.ids, labels: Self.labels, seed: 12)
        #expect(err <= 1e-7, "\(name): \(err)")
    }
}
