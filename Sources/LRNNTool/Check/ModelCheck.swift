import Foundation
import LRNNLinearAlgebra
import LRNNModels

/// Checks one golden model directory (FORMAT.md, `model` cases): loads it in Float64 and in
/// Float32 and reports, per precision,
/// - `chunk`: logits of `input_ids` through the prefill path vs golden `logits`
///   (tolerance 1e-5 in Float64, 1e-4 in Float32);
/// - `cache`: the same logits fed one token at a time through the decoding path;
/// - `generate`: greedy generation from `prompt_ids` (12 new tokens or EOS included) through
///   the cache, which must equal `generated_ids` exactly.
public enum ModelCheck {
    /// The logits tolerance of a precision: 1e-5 in Float64 (the golden itself is float32), 1e-4 in Float32.
    public static func logitsTolerance(_ precision: String) -> Double {
        precision == "Float64" ? 1e-5 : 1e-4
    }

    /// New tokens generated for a golden case.
    public static let maxNewTokens = 12

    /// The checker registered for model directories.
    public static let check: GoldenModelChecker = { directory, name in
        let golden = try SafeTensorsFile(path: (directory as NSString).appendingPathComponent("golden.safetensors"))
        return try lines(CausalLM<Double>.load(directory: directory), golden: golden, name: name)
            + lines(CausalLM<Float>.load(directory: directory), golden: golden, name: name)
    }

    /// The three lines of one precision.
    static func lines<T: LRNNScalar>(_ model: CausalLM<T>, golden: SafeTensorsFile, name: String) throws -> [CheckLine]
    {
        let precision = T.precisionName
        let tol = logitsTolerance(precision)
        let ids = try golden.integerTensor("input_ids")
        let ref = try golden.tensor("logits", as: Double.self)
        let (b, t) = (ids.shape[0], ids.shape[1])
        let rows = (0..<b).map { Array(ids.scalars[($0 * t)..<(($0 + 1) * t)]) }
        var out: [CheckLine] = []

        let logits = try model.logits(rows)
        out.append(
            .measured(
                name: name, op: "model", precision: precision, path: "chunk", error: goldenError(logits, ref),
                tolerance: tol, note: "logits \(logits.shape)"))

        var cache = model.makeCache(batchSize: b)
        var stepped = Tensor<T>(zeros: [b, t, model.vocabSize])
        let v = model.vocabSize
        for i in 0..<t {
            let l = try model.decode(rows.map { $0[i] }, cache: &cache)
            for s in 0..<b {
                for j in 0..<v { stepped.scalars[(s * t + i) * v + j] = l.scalars[s * v + j] }
            }
        }
        out.append(
            .measured(
                name: name, op: "model", precision: precision, path: "cache", error: goldenError(stepped, ref),
                tolerance: tol, note: "token-by-token logits"))

        let prompt = try golden.integerTensor("prompt_ids").scalars
        let expected = try golden.integerTensor("generated_ids").scalars
        let result = try model.generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: maxNewTokens))
        let got = prompt + result.tokens[0]
        let firstDiff = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        let exact = got == expected
        var note = "\(result.tokens[0].count) new tokens"
        if !exact {
            note =
                "generated \(got.dropFirst(prompt.count)) vs golden \(expected.dropFirst(prompt.count))"
                + (firstDiff.map { " (first difference at \($0))" } ?? " (lengths differ)")
        }
        out.append(
            CheckLine(
                name: name, op: "model", precision: precision, path: "generate", error: exact ? 0 : 1, tolerance: 0,
                status: exact ? .pass : .fail, note: note))
        return out
    }
}
