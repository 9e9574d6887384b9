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
package enum ModelCheck {
    /// The logits tolerance of a precision: 1e-5 in Float64 (the golden itself is float32), 1e-4 in Float32.
    package static func logitsTolerance(_ precision: String) -> Double {
        precision == "Float64" ? 1e-5 : 1e-4
    }

    /// New tokens generated for a golden case.
    package static let maxNewTokens = 12

    /// The checker registered for model directories, hybrids with softmax-attention layers (fla's
    /// `attn`) included. A directory whose configuration uses a feature this engine does not
    /// implement (a ``/LRNNModels/ModelLoadError/unsupportedConfiguration(file:field:value:reason:)``,
    /// such as `use_l2warp` or an unknown field inside `attn`) gives one SKIP line with the reason;
    /// any other load error is a FAIL line.
    package static let check: GoldenModelChecker = { directory, name in
        let golden = try SafeTensorsFile(path: (directory as NSString).appendingPathComponent("golden.safetensors"))
        /// The lines of one precision; a load error is a FAIL line of that precision only (a
        /// weight may be finite in Float64 and overflow Float32).
        func run<T: LRNNScalar>(_: T.Type) throws -> [CheckLine] {
            switch Result(catching: { () throws(ModelLoadError) in try CausalLM<T>.load(directory: directory) }) {
            case let .success(model):
                return lines(model, golden: golden, name: name)
            case let .failure(error):
                if case .unsupportedConfiguration = error { throw error }
                return [
                    CheckLine(
                        name: name, op: "model", precision: T.precisionName, path: "load", error: nil,
                        tolerance: nil, status: .fail, note: "\(error)")
                ]
            }
        }
        do {
            return try run(Double.self) + run(Float.self)
        } catch let ModelLoadError.unsupportedConfiguration(_, field, value, reason) {
            return [
                CheckLine(
                    name: name, op: "model", precision: "-", path: "-", error: nil, tolerance: nil, status: .skip,
                    note: "not implemented: \(field) = \(value): \(reason)")
            ]
        }
    }

    /// The golden token ids of a model case, validated: `input_ids [B, T]` with B, T ≥ 1,
    /// `prompt_ids [1, P]` with P ≥ 1, `generated_ids [1, P + m]` starting with the prompt.
    struct GoldenIds {
        var rows: [[Int]]
        var prompt: [Int]
        var generated: [Int]

        init(_ golden: SafeTensorsFile) throws {
            let ids = try golden.integerTensor("input_ids")
            guard ids.rank == 2, ids.shape[0] >= 1, ids.shape[1] >= 1 else {
                throw GoldenCaseError("\(golden.path): input_ids has shape \(ids.shape), expected [B, T] with B, T ≥ 1")
            }
            let (b, t) = (ids.shape[0], ids.shape[1])
            guard b * t <= 1 << 20 else {
                throw GoldenCaseError("\(golden.path): input_ids has shape \(ids.shape): more than 2^20 tokens")
            }
            rows = (0..<b).map { Array(ids.scalars[($0 * t)..<(($0 + 1) * t)]) }
            let p = try golden.integerTensor("prompt_ids")
            guard p.rank == 2, p.shape[0] == 1, p.shape[1] >= 1 else {
                throw GoldenCaseError("\(golden.path): prompt_ids has shape \(p.shape), expected [1, P] with P ≥ 1")
            }
            prompt = p.scalars
            let g = try golden.integerTensor("generated_ids")
            guard g.rank == 2, g.shape[0] == 1 else {
                throw GoldenCaseError("\(golden.path): generated_ids has shape \(g.shape), expected [1, P + m]")
            }
            generated = g.scalars
        }
    }

    /// The three lines of one precision; every failure (a malformed golden file, a shape
    /// mismatch, a model error) is a FAIL line of the path it concerns.
    static func lines<T: LRNNScalar>(_ model: CausalLM<T>, golden: SafeTensorsFile, name: String) -> [CheckLine] {
        let precision = T.precisionName
        let tol = logitsTolerance(precision)
        let ids = Result { try GoldenIds(golden) }
        let ref = Result { try golden.tensor("logits", as: Double.self) }
        var out: [CheckLine] = []
        /// The golden ids and logits, with the logits' shape compared before any work.
        func inputs() throws -> ([[Int]], Tensor<Double>) {
            let rows = try ids.get().rows
            let logits = try ref.get()
            let expected = [rows.count, rows[0].count, model.vocabSize]
            guard logits.shape == expected else {
                throw GoldenShapeMismatch(tensor: "logits", computed: expected, expected: logits.shape)
            }
            return (rows, logits)
        }
        out.append(
            GoldenCheck.measure(name: name, op: "model", precision: precision, path: "chunk", tolerance: tol) {
                let (rows, logits) = try inputs()
                return [("logits", try model.logits(rows), logits)]
            })
        out.append(
            GoldenCheck.measure(name: name, op: "model", precision: precision, path: "cache", tolerance: tol) {
                let (rows, logits) = try inputs()
                let (b, t, v) = (rows.count, rows[0].count, model.vocabSize)
                var cache = model.makeCache(batchSize: b)
                var stepped = Tensor<T>(zeros: [b, t, v])
                for i in 0..<t {
                    let l = try model.decode(rows.map { $0[i] }, cache: &cache)
                    for s in 0..<b {
                        for j in 0..<v { stepped.scalars[(s * t + i) * v + j] = l.scalars[s * v + j] }
                    }
                }
                return [("logits", stepped, logits)]
            })
        do {
            let g = try ids.get()
            let result = try model.generate(prompts: [g.prompt], options: GenerationOptions(maxNewTokens: maxNewTokens))
            let got = g.prompt + result.tokens[0]
            let expected = g.generated
            let firstDiff = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            let exact = got == expected
            var note = "\(result.tokens[0].count) new tokens"
            if !exact {
                note =
                    "generated \(got.dropFirst(g.prompt.count)) vs golden \(expected.dropFirst(g.prompt.count))"
                    + (firstDiff.map { " (first difference at \($0))" } ?? " (lengths differ)")
            }
            out.append(
                CheckLine(
                    name: name, op: "model", precision: precision, path: "generate", error: exact ? 0 : 1,
                    tolerance: 0, status: exact ? .pass : .fail, note: note))
        } catch {
            out.append(
                CheckLine(
                    name: name, op: "model", precision: precision, path: "generate", error: nil, tolerance: 0,
                    status: .fail, note: "\(error)"))
        }
        return out
    }
}
