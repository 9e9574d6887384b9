import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// What golden FORMAT.md promises for each `op`: the tensors and metadata every case holds.
struct GoldenOpSpec {
    /// Tensors every case of the op holds.
    var tensors: Set<String>
    /// Tensors a case may hold in addition.
    var optional: Set<String> = []
    /// Name prefixes of further tensors a case may hold (`grad.` per parameter, `info_` informational).
    var optionalPrefixes: [String] = []
    /// Metadata keys every case holds (besides `op`).
    var metadata: Set<String> = []
    /// Whether the case lives inside a model directory (beside `config.json`).
    var insideModel = false

    /// The backward case of this forward op (FORMAT.md, "Backward cases"): the same tensors
    /// plus the cotangents `cotangents` and one `d<x>` per float input (required for the
    /// required inputs, optional for the optional ones).
    func backward(
        inputs: Set<String>, optionalInputs: Set<String>, cotangents: Set<String>, optionalCotangents: Set<String> = []
    )
        -> GoldenOpSpec
    {
        GoldenOpSpec(
            tensors: tensors.union(cotangents).union(inputs.map { "d" + $0 }),
            optional: optional.union(optionalCotangents).union(optionalInputs.map { "d" + $0 }),
            metadata: metadata)
    }
}

/// The expected-name table, transcribed from FORMAT.md (every op it describes, the backward,
/// training and seed-paper families included).
let goldenOps: [String: GoldenOpSpec] = {
    let s4dParameters: Set<String> = ["log_dt", "A_re", "A_im", "B_re", "B_im", "C_re", "C_im"]
    let s5Parameters: Set<String> = ["Lambda_re", "Lambda_im", "B_re", "B_im", "C_re", "C_im", "log_step", "D"]
    let delta = GoldenOpSpec(
        tensors: ["q", "k", "v", "beta", "o", "ht"], optional: ["g", "h0", "cu_seqlens"],
        metadata: ["scale", "num_householder"])
    let gated = GoldenOpSpec(
        tensors: ["q", "k", "v", "beta", "g", "o", "ht"], optional: ["h0", "cu_seqlens"],
        metadata: ["scale", "num_householder"])
    let gla = GoldenOpSpec(
        tensors: ["q", "k", "v", "gk", "o", "ht"], optional: ["h0", "cu_seqlens"], metadata: ["scale"])
    let s4dConv = GoldenOpSpec(tensors: s4dParameters.union(["u", "D", "y"]), metadata: ["discretization"])
    let s5 = GoldenOpSpec(tensors: s5Parameters.union(["u", "y"]), metadata: ["discretization", "conj_sym"])
    let pararnnGRU = GoldenOpSpec(
        tensors: ["x", "A", "B", "b", "h", "dh", "dx", "dA", "dB", "db"], optional: ["h0", "dh0"],
        optionalPrefixes: ["info_"], metadata: ["num_heads"])
    let pararnnLSTM = GoldenOpSpec(
        tensors: ["x", "A", "B", "C", "b", "h", "c", "dh", "dx", "dA", "dB", "dC", "db"],
        optional: ["c0", "h0", "dc0", "dh0"], optionalPrefixes: ["info_"], metadata: ["num_heads"])
    let plstm1D = GoldenOpSpec(
        tensors: ["q", "k", "v", "S", "T", "M", "D", "y", "C_last", "dy", "dq", "dk", "dv", "dS", "dT", "dM", "dD"],
        optional: ["C0", "dC0", "dC_last"], optionalPrefixes: ["info_"], metadata: ["scale"])
    let plstm2D = GoldenOpSpec(
        tensors: [
            "q", "k", "v", "S_r", "S_d", "T_rl", "T_du", "M_l", "M_u", "D", "y", "C_right", "C_bottom", "dy", "dq",
            "dk", "dv", "dS_r", "dS_d", "dT_rl", "dT_du", "dM_l", "dM_u", "dD",
        ],
        optional: [
            "T_dl", "T_ru", "dT_dl", "dT_ru", "C_left", "C_top", "dC_left", "dC_top", "dC_right", "dC_bottom",
        ], optionalPrefixes: ["info_"], metadata: ["scale", "mode"])
    return [
        "delta_rule": delta,
        "gated_delta_rule": gated,
        "delta_product": delta,
        "gla": gla,
        "s4d_kernel": GoldenOpSpec(tensors: s4dParameters.union(["K"]), metadata: ["L", "discretization"]),
        "s4d_conv": s4dConv,
        "s5": s5,
        "hippo": GoldenOpSpec(tensors: ["A", "B"], metadata: ["measure", "N"]),
        "ptd": GoldenOpSpec(
            tensors: [
                "A", "B", "C", "E", "omega", "lambda_re", "lambda_im", "G_hippo_re", "G_hippo_im", "G_perturbed_re",
                "G_perturbed_im",
            ], metadata: ["eigenvector_condition"]),
        "model": GoldenOpSpec(
            tensors: ["input_ids", "logits", "prompt_ids", "generated_ids"], insideModel: true),
        "delta_rule_backward": delta.backward(
            inputs: ["q", "k", "v", "beta"], optionalInputs: ["g", "h0"], cotangents: ["do"],
            optionalCotangents: ["dht"]),
        "delta_product_backward": delta.backward(
            inputs: ["q", "k", "v", "beta"], optionalInputs: ["g", "h0"], cotangents: ["do"],
            optionalCotangents: ["dht"]),
        "gated_delta_rule_backward": gated.backward(
            inputs: ["q", "k", "v", "beta", "g"], optionalInputs: ["h0"], cotangents: ["do"],
            optionalCotangents: ["dht"]),
        "gla_backward": gla.backward(
            inputs: ["q", "k", "v", "gk"], optionalInputs: ["h0"], cotangents: ["do"], optionalCotangents: ["dht"]),
        "s4d_conv_backward": s4dConv.backward(
            inputs: s4dParameters.union(["u", "D"]), optionalInputs: [], cotangents: ["dy"]),
        "s5_backward": s5.backward(inputs: s5Parameters.union(["u"]), optionalInputs: [], cotangents: ["dy"]),
        "model_train": GoldenOpSpec(
            tensors: ["input_ids", "labels", "loss", "loss_trajectory", "grad_norm_trajectory"],
            optionalPrefixes: ["grad."],
            metadata: [
                "model_type", "adamw_steps", "adamw_lr", "adamw_beta1", "adamw_beta2", "adamw_eps",
                "adamw_weight_decay", "clip_grad_norm",
            ], insideModel: true),
        "pararnn_gru": pararnnGRU,
        "pararnn_lstm": pararnnLSTM,
        "plstm_1d": plstm1D,
        "plstm_2d": plstm2D,
    ]
}()

/// FORMAT.md's text, for ops this table does not know yet: a newer golden directory may add
/// ops, and each must at least be described there (as `` `op` ``).
let goldenFormatText: String =
    (try? String(contentsOf: Golden.directory.appendingPathComponent("FORMAT.md"), encoding: .utf8)) ?? ""

/// Every `*.safetensors` file below `dir`, recursively, sorted.
func safetensorsFiles(below dir: URL) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: dir.path) else { return [] }
    return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".safetensors") }.sorted()
        .map { dir.appendingPathComponent($0).path }
}

@Suite("golden files", .enabled(if: Golden.isAvailable, Golden.skipMessage))
struct GoldenFilesTests {
    @Test("every golden file opens, reads in full, and holds the tensors FORMAT.md names for its op")
    func everyFile() throws {
        let files = safetensorsFiles(below: Golden.directory)
        #expect(files.count >= 20, "found \(files.count) golden files")
        var opsSeen: Set<String> = []
        for path in files {
            let file = try SafeTensorsFile(path: path)
            for name in file.names {
                let info = try file.info(name)
                let values = try file.tensor(name, as: Double.self)
                #expect(values.shape == info.shape)
                #expect(values.allFinite, "\(path): tensor \(name) holds non-finite values")
            }
            let modelDirectory = FileManager.default.fileExists(
                atPath: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("config.json")
                    .path)
            guard let op = file.metadata["op"] else {
                // Only a model directory's checkpoint has no op.
                #expect(modelDirectory && path.hasSuffix("/model.safetensors"), "\(path): no 'op' in __metadata__")
                #expect(!file.names.isEmpty, "\(path): empty checkpoint")
                continue
            }
            let isInsideModel = modelDirectory
            guard let spec = goldenOps[op] else {
                // A newer op: accepted when FORMAT.md describes it; its tensors are not pinned here.
                #expect(goldenFormatText.contains("`\(op)`"), "\(path): op '\(op)' is not described in FORMAT.md")
                continue
            }
            opsSeen.insert(op)
            let names = Set(file.names)
            #expect(spec.tensors.isSubset(of: names), "\(path): missing \(spec.tensors.subtracting(names).sorted())")
            let extra = names.subtracting(spec.tensors).subtracting(spec.optional).filter { name in
                !spec.optionalPrefixes.contains { name.hasPrefix($0) }
            }
            #expect(extra.isEmpty, "\(path): unexpected tensors \(extra.sorted())")
            let keys = Set(file.metadata.keys)
            #expect(
                spec.metadata.isSubset(of: keys),
                "\(path): missing metadata \(spec.metadata.subtracting(keys).sorted())")
            #expect(isInsideModel == spec.insideModel, "\(path): op \(op) inside a model directory: \(isInsideModel)")
            // Dtypes: float inputs are stored as F64; token ids, labels and cu_seqlens as I64; logits F32.
            for name in file.names where !name.hasPrefix("info_") {
                let dtype = try file.info(name).dtype
                switch name {
                case "cu_seqlens", "input_ids", "prompt_ids", "generated_ids", "labels":
                    #expect(dtype == .int64, "\(path): \(name)")
                case "logits": #expect(dtype == .float32, "\(path): \(name)")
                default: #expect(dtype == .float64, "\(path): \(name)")
                }
            }
            // model_train: exactly one grad.<key> per checkpoint tensor, of its shape.
            if op == "model_train" {
                let checkpoint = try SafeTensorsFile(
                    path: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(
                        "model.safetensors"
                    ).path)
                let grads = Set(file.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
                #expect(grads == Set(checkpoint.names), "\(path): grad.<key> set differs from the checkpoint's keys")
                for key in grads.intersection(checkpoint.names) {
                    #expect(try file.info("grad." + key).shape == checkpoint.info(key).shape, "\(path): grad.\(key)")
                }
            }
        }
        // Every op described here has at least one case (the directory may hold more ops).
        #expect(
            Set(goldenOps.keys).isSubset(of: opsSeen),
            "ops without a golden case: \(Set(goldenOps.keys).subtracting(opsSeen).sorted())")
    }

    @Test("every model directory holds config.json, model.safetensors and golden.safetensors")
    func modelDirectories() throws {
        let entries = try FileManager.default.contentsOfDirectory(atPath: Golden.directory.path)
        let models = entries.filter {
            FileManager.default.fileExists(atPath: Golden.directory.appendingPathComponent($0 + "/config.json").path)
        }
        #expect(models.count >= 4)
        for m in models {
            for f in ["config.json", "model.safetensors", "golden.safetensors"] {
                #expect(FileManager.default.fileExists(atPath: Golden.path(m + "/" + f)), "\(m)/\(f)")
            }
            let config = try JSONSerialization.jsonObject(
                with: Data(contentsOf: Golden.directory.appendingPathComponent(m + "/config.json")))
            #expect((config as? [String: Any])?["model_type"] is String, "\(m): config.json has no model_type")
        }
    }
}

@Suite("reference directories")
struct ReferenceDirectoryTests {
    @Test("under LRNN_REQUIRE_GOLDEN=1 the golden and regression directories must exist")
    func requiredDirectoriesExist() {
        guard Golden.isRequired else { return }
        #expect(Golden.exists, "LRNN_REQUIRE_GOLDEN=1 but no golden cases at \(Golden.directory.path)")
        #expect(
            FileManager.default.fileExists(
                atPath: Golden.regressionsDirectory.appendingPathComponent("README.md").path),
            "LRNN_REQUIRE_GOLDEN=1 but no regression inputs at \(Golden.regressionsDirectory.path)")
    }
}
