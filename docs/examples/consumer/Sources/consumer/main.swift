// A LinearRNN consumer: loads an fla checkpoint, runs a forward pass and compares it with the
// logits fla computed; runs the chunkwise delta rule on random inputs and compares it with the
// token-by-token reference; generates text through a Hugging Face tokenizer, streamed.
//
//     swift run consumer [GOLDEN_DIR]      (default ../shared/golden, from the repository root)
import Foundation
import LinearRNN

let goldenDirectory = CommandLine.arguments.dropFirst().first ?? "../shared/golden"
let modelDirectory = goldenDirectory + "/model_gated_deltanet"

guard FileManager.default.fileExists(atPath: modelDirectory + "/config.json") else {
    print("consumer: SKIP — no golden model at \(modelDirectory) (pass the golden directory as the argument)")
    exit(0)
}

do {
    // 1. A forward pass of an fla checkpoint (config.json + model.safetensors), in Float32.
    let model = try CausalLM<Float>.load(directory: modelDirectory)
    let golden = try SafeTensorsFile(path: modelDirectory + "/golden.safetensors")
    let ids = try golden.integerTensor("input_ids")  // [B, T]
    let expected = try golden.tensor("logits", as: Float.self)  // [B, T, vocab]
    let (batch, length) = (ids.shape[0], ids.shape[1])
    let prompts = (0..<batch).map { b in Array(ids.scalars[(b * length)..<((b + 1) * length)]) }
    let logits = try model.logits(prompts)  // [B, T, vocab]
    let logitsError = logits.relativeError(to: expected)
    print(
        "model  \(model.configuration.modelType): \(model.layers.count) layers, hidden \(model.hiddenSize),",
        "vocab \(model.vocabSize); logits \(logits.shape), relative error vs fla \(logitsError)")

    // 2. One chunk kernel: the gated delta rule, chunked (BLAS-3) vs the naive reference, Float64.
    var rng = SeededGenerator(seed: 42)
    func random(_ shape: [Int], _ range: ClosedRange<Double>) -> Tensor<Double> {
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: (0..<count).map { _ in Double.random(in: range, using: &rng) })
    }
    let (b, t, h, k, v) = (2, 200, 3, 32, 24)
    let q = random([b, t, h, k], -1...1)
    let keys = random([b, t, h, k], -1...1).l2NormalizedRows(width: k)
    let values = random([b, t, h, v], -1...1)
    let beta = random([b, t, h], 0...1)
    let g = random([b, t, h], -0.1...0)
    let fast = try DeltaRule.chunked(q: q, k: keys, v: values, beta: beta, g: g)
    let slow = try DeltaRule.reference(q: q, k: keys, v: values, beta: beta, g: g)
    let outputError = fast.output.relativeError(to: slow.output)
    let stateError = fast.finalState.relativeError(to: slow.finalState)
    print(
        "kernel DeltaRule.chunked [B=\(b), T=\(t), H=\(h), K=\(k), V=\(v)] vs reference:",
        "output \(outputError), final state \(stateError)")

    // 3. Text in, text out: a tokenizer.json (here the golden SentencePiece-style one), a model of
    //    its vocabulary (random weights, so the text is gibberish), and the new tokens decoded as
    //    they arrive; a character split over several byte tokens is printed once it is complete.
    let tokenizer = try Tokenizer.load(directory: goldenDirectory + "/tokenizers/sentencepiece_bpe")
    var builder = ModelBuilder(
        vocabSize: tokenizer.vocabularySize, hiddenSize: 64, eosTokenIds: tokenizer.eosTokenId.map { [$0] } ?? [])
    builder.initializerRange = 0.5
    builder.append(.gatedDeltaNet(GatedDeltaNetConfiguration(numHeads: 2, headDim: 16)))
    let textModel: CausalLM<Float> = try builder.build(seed: 3)
    let promptIds = tokenizer.encode("The state of a linear RNN")  // <s> added by the post-processor
    var stream = DecodeStream(tokenizer: tokenizer)
    var streamed = ""
    let generated = try textModel.generate(prompts: [promptIds], options: GenerationOptions(maxNewTokens: 24)) {
        _, token in streamed += stream.step(token)
    }
    streamed += stream.finish()
    let wholeText = tokenizer.decode(generated.tokens[0], skipSpecialTokens: true)
    print("text   \(promptIds.count) prompt tokens -> \(generated.tokens[0].count) new: \(streamed.debugDescription)")

    let ok = logitsError < 1e-4 && outputError < 1e-10 && stateError < 1e-10 && streamed == wholeText
    print(ok ? "consumer: OK" : "consumer: FAILED")
    exit(ok ? 0 : 1)
} catch {
    print("consumer: error: \(error)")
    exit(1)
}

extension Tensor where Scalar == Double {
    /// Each run of `width` scalars scaled to unit Euclidean norm (keys of the delta rule).
    func l2NormalizedRows(width: Int) -> Tensor {
        var normalized = scalars
        for start in stride(from: 0, to: count, by: width) {
            let row = scalars[start..<(start + width)]
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in row.indices { normalized[i] = scalars[i] / norm }
        }
        return Tensor(shape: shape, scalars: normalized)
    }
}
