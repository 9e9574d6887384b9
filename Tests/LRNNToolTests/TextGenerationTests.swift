import Foundation
import LRNNModels
import LRNNTestSupport
import LRNNTokenizers
import LRNNTool
import Testing

/// `lrnn generate --prompt`: a model directory holding a tokenizer, text in and streamed text out.
@Suite struct TextGenerationTests {
    /// A tiny random GLA model whose vocabulary is the SentencePiece golden tokenizer's (2,000
    /// ids; the golden models' 97 ids fit no golden tokenizer), with that tokenizer's files
    /// copied in, so that the directory is a text model. EOS is `</s>` (2).
    static func textModel(in d: ScratchDirectory) throws -> String {
        let dir = d.path("text_model")
        var b = ModelBuilder(vocabSize: 2000, hiddenSize: 32, intermediateSize: 48, eosTokenIds: [2])
        b.initializerRange = 0.5
        b.append(.gla(GLAConfiguration(numHeads: 2)))
        try b.build(as: Float.self, seed: 7).write(to: dir)
        let source = Golden.directory.appendingPathComponent("tokenizers/sentencepiece_bpe")
        for f in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: source.appendingPathComponent(f).path, toPath: dir + "/" + f)
        }
        return dir
    }

    @Test(.enabled(if: Golden.isAvailable, Golden.skipMessage))
    func promptIsEncodedAndTheStreamedTextIsTheDecode() throws {
        let d = try ScratchDirectory()
        let dir = try Self.textModel(in: d)
        let text = try TextGeneration(directory: dir)
        let ids = try text.promptIds("Hello world", chat: false)
        #expect(ids == [1, 899, 1464, 338, 372, 366, 617])  // <s> and the golden case's ids
        let request = GenerateRequest(
            modelDirectory: dir, prompts: [ids], overrides: GenerationOverrides(maxNewTokens: 40), precision: "f32")
        var stream = text.stream()
        var pieces: [String] = []
        var streamedIds: [Int] = []
        let result = try GenerateTool.run(request) { sequence, token in
            #expect(sequence == 0)
            streamedIds.append(token)
            pieces.append(stream.step(token))
        }
        pieces.append(stream.finish())
        #expect(streamedIds == result.tokens[0])
        #expect(!result.tokens[0].isEmpty && result.tokens[0].count <= 40)
        // Stops at EOS (config.json's eos_token_id), or runs the whole budget without one.
        if let eos = result.tokens[0].firstIndex(of: 2) {
            #expect(eos == result.tokens[0].count - 1)
        } else {
            #expect(result.tokens[0].count == 40)
        }
        #expect(pieces.joined() == text.text(result.tokens[0]))
        // Greedy decoding is deterministic: the same request gives the same ids.
        #expect(try GenerateTool.run(request).tokens == result.tokens)
        let json = GenerateTool.json(request: request, result: result, text: [text.text(result.tokens[0])])
        let object = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["prompt_ids"] as? [[Int]] == [ids])
        #expect(object["text"] as? [String] == [text.text(result.tokens[0])])
    }

    @Test(.enabled(if: Golden.isAvailable, Golden.skipMessage))
    func textErrorsAreOneLineMessages() throws {
        let d = try ScratchDirectory()
        let dir = try Self.textModel(in: d)
        let text = try TextGeneration(directory: dir)
        // An empty prompt is the BOS alone with a Llama-style tokenizer, and nothing (an error) with a
        // byte-level one.
        #expect(try text.promptIds("", chat: false) == [1])
        let byteLevel = try TextGeneration(
            directory: Golden.directory.appendingPathComponent("tokenizers/byte_level_bpe").path)
        #expect(
            (#expect(throws: TokenizeToolError.self) { try byteLevel.promptIds("", chat: false) })?.description
                == "--prompt: the text encodes to no token (give a non-empty prompt)")
        #expect(
            try byteLevel.promptIds("hi", chat: true) == [2001, 1385, 198, 71, 72, 2002, 198, 2001, 918, 432, 571, 198])
        #expect(
            (#expect(throws: TokenizeToolError.self) { try text.promptIds("hi", chat: true) })?.description
                == "--chat: chat template: tokenizer_config.json has no chat_template")
        let golden = Golden.directory.appendingPathComponent("model_gla").path
        #expect(
            (#expect(throws: TokenizeToolError.self) { try TextGeneration(directory: golden) })?.description
                == "\(golden)/tokenizer.json: cannot read: no such file")
    }
}
