import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTraining

/// A small language model for training tests: `logits = (tanh(E[x]) ⊙ w) · Wᵀ + b` per token,
/// with fla-style keys `model.embeddings.weight [V, D]`, `model.norm.weight [D]`,
/// `lm_head.weight [V, D]` and `lm_head.bias [V]`. Its loss is ``CrossEntropy``'s, its gradients
/// are written out by hand (two BLAS products), and it checkpoints as `config.json` and
/// `model.safetensors`.
public struct ToyLanguageModel<T: LRNNScalar>: TrainableModel, Sendable {
    /// The checkpoint keys.
    public static var keys: [String] {
        ["lm_head.bias", "lm_head.weight", "model.embeddings.weight", "model.norm.weight"]
    }

    /// The vocabulary size V.
    public let vocabSize: Int
    /// The hidden size D.
    public let hiddenSize: Int
    private let values: [String: Tensor<T>]

    /// A model with seeded random parameters (uniform in ±1 for E, ±0.5 for W and b, 1 ± 0.25 for w).
    public init(vocabSize: Int, hiddenSize: Int, seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        values = [
            "model.embeddings.weight": rng.tensor([vocabSize, hiddenSize], -1...1),
            "model.norm.weight": rng.tensor([hiddenSize], 0.75...1.25),
            "lm_head.weight": rng.tensor([vocabSize, hiddenSize], -0.5...0.5),
            "lm_head.bias": rng.tensor([vocabSize], -0.5...0.5),
        ]
    }

    private init(vocabSize: Int, hiddenSize: Int, values: [String: Tensor<T>]) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.values = values
    }

    /// The expected shape of each key.
    private var shapes: [String: [Int]] {
        [
            "model.embeddings.weight": [vocabSize, hiddenSize], "model.norm.weight": [hiddenSize],
            "lm_head.weight": [vocabSize, hiddenSize], "lm_head.bias": [vocabSize],
        ]
    }

    public func parameters() -> [String: Tensor<T>] { values }

    public func updating(parameters: [String: Tensor<T>]) throws(ModelLoadError) -> ToyLanguageModel<T> {
        let missing = shapes.keys.sorted().filter { parameters[$0] == nil }.map { KeyShape($0, shapes[$0]!) }
        if !missing.isEmpty { throw .missingKeys(file: "parameters", keys: missing) }
        let unexpected = parameters.keys.sorted().filter { shapes[$0] == nil }.map {
            KeyShape($0, parameters[$0]!.shape)
        }
        if !unexpected.isEmpty { throw .unexpectedKeys(file: "parameters", keys: unexpected) }
        let wrong = shapes.keys.sorted().filter { parameters[$0]!.shape != shapes[$0]! }.map {
            KeyShapeMismatch(key: $0, shape: parameters[$0]!.shape, expected: shapes[$0]!)
        }
        if !wrong.isEmpty { throw .shapeMismatch(file: "parameters", mismatches: wrong) }
        return ToyLanguageModel(vocabSize: vocabSize, hiddenSize: hiddenSize, values: parameters)
    }

    /// The logits `[N, V]` of the flattened rows, with the hidden states `tanh(E[x])` `[N, D]`
    /// and `h = tanh(E[x]) ⊙ w` `[N, D]`.
    private func forward(_ ids: [Int]) -> (logits: Tensor<T>, act: Tensor<T>, h: Tensor<T>) {
        let (n, d, v) = (ids.count, hiddenSize, vocabSize)
        let e = values["model.embeddings.weight"]!
        let w = values["model.norm.weight"]!
        var act = Tensor<T>.zeros([n, d])
        var h = Tensor<T>.zeros([n, d])
        for (i, id) in ids.enumerated() {
            for j in 0..<d {
                let a = T.tanh(e.scalars[id * d + j])
                act.scalars[i * d + j] = a
                h.scalars[i * d + j] = a * w.scalars[j]
            }
        }
        var lw = values["lm_head.weight"]!
        let b = values["lm_head.bias"]!
        var logits = Tensor<T>(shape: [n, v], scalars: (0..<n).flatMap { _ in b.scalars })
        h.withMatrixView { hv in
            lw.withMatrixView { wv in
                logits.withMatrixView { lv in BLAS.gemm(hv, .none, wv, .transpose, into: lv, beta: 1) }
            }
        }
        return (logits, act, h)
    }

    /// Validates the batch and flattens it.
    private func flatten(_ inputIDs: [[Int]], _ labels: [[Int]]) throws(ModelError) -> (ids: [Int], labels: [Int]) {
        guard !inputIDs.isEmpty else { throw .invalidArgument(name: "inputIDs", reason: "empty batch") }
        guard labels.count == inputIDs.count, zip(inputIDs, labels).allSatisfy({ $0.count == $1.count && !$0.isEmpty })
        else { throw .invalidArgument(name: "labels", reason: "expected one label per input id") }
        let ids = inputIDs.flatMap { $0 }
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabSize }) {
            throw .tokenOutOfRange(token: bad, vocabSize: vocabSize)
        }
        return (ids, labels.flatMap { $0 })
    }

    public func loss(inputIDs: [[Int]], labels: [[Int]]) throws(ModelError) -> T {
        let (ids, flat) = try flatten(inputIDs, labels)
        do { return try CrossEntropy.loss(logits: forward(ids).logits, labels: flat) } catch {
            throw .invalidArgument(name: "labels", reason: "\(error)")
        }
    }

    public func lossAndGradients(inputIDs: [[Int]], labels: [[Int]]) throws(ModelError)
        -> (loss: T, gradients: [String: Tensor<T>])
    {
        let (ids, flat) = try flatten(inputIDs, labels)
        let (n, d, v) = (ids.count, hiddenSize, vocabSize)
        var (logits, act, h) = forward(ids)
        let ce: (loss: T, gradient: Tensor<T>)
        do { ce = try CrossEntropy.lossAndGradient(logits: logits, labels: flat) } catch {
            throw .invalidArgument(name: "labels", reason: "\(error)")
        }
        logits = ce.gradient
        var lw = values["lm_head.weight"]!
        var dW = Tensor<T>.zeros([v, d])
        var dh = Tensor<T>.zeros([n, d])
        logits.withMatrixView { g in
            h.withMatrixView { hv in dW.withMatrixView { BLAS.gemm(g, .transpose, hv, .none, into: $0) } }
            lw.withMatrixView { wv in dh.withMatrixView { BLAS.gemm(g, .none, wv, .none, into: $0) } }
        }
        var db = Tensor<T>.zeros([v])
        for i in 0..<n { for j in 0..<v { db.scalars[j] += logits.scalars[i * v + j] } }
        let w = values["model.norm.weight"]!
        var dw = Tensor<T>.zeros([d])
        var dE = Tensor<T>.zeros([v, d])
        for (i, id) in ids.enumerated() {
            for j in 0..<d {
                let a = act.scalars[i * d + j]
                let g = dh.scalars[i * d + j]
                dw.scalars[j] += g * a
                dE.scalars[id * d + j] += g * w.scalars[j] * (1 - a * a)
            }
        }
        return (
            ce.loss,
            ["model.embeddings.weight": dE, "model.norm.weight": dw, "lm_head.weight": dW, "lm_head.bias": db]
        )
    }

    public func write(to directory: String, dtype: SafeTensorsDType) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = #"{"hidden_size": \#(hiddenSize), "model_type": "toy", "vocab_size": \#(vocabSize)}"#
        try Data(config.utf8).write(
            to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("config.json")))
        var w = SafeTensorsWriter(metadata: ["format": "pt"])
        for k in values.keys.sorted() { w.add(k, values[k]!, as: dtype) }
        try w.write(to: (directory as NSString).appendingPathComponent("model.safetensors"))
    }
}
