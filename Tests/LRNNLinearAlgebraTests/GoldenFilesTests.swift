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
    /// Metadata keys every case holds (besides `op`).
    var metadata: Set<String> = []
}

/// The expected-name table, transcribed from FORMAT.md.
let goldenOps: [String: GoldenOpSpec] = {
    let s4dParameters: Set<String> = ["log_dt", "A_re", "A_im", "B_re", "B_im", "C_re", "C_im"]
    let delta = GoldenOpSpec(
        tensors: ["q", "k", "v", "beta", "o", "ht"], optional: ["g", "h0", "cu_seqlens"],
        metadata: ["scale", "num_householder"])
    return [
        "delta_rule": delta,
        "gated_delta_rule": GoldenOpSpec(
            tensors: ["q", "k", "v", "beta", "g", "o", "ht"], optional: ["h0", "cu_seqlens"],
            metadata: ["scale", "num_householder"]),
        "delta_product": delta,
        "gla": GoldenOpSpec(
            tensors: ["q", "k", "v", "gk", "o", "ht"], optional: ["h0", "cu_seqlens"], metadata: ["scale"]),
        "s4d_kernel": GoldenOpSpec(tensors: s4dParameters.union(["K"]), metadata: ["L", "discretization"]),
        "s4d_conv": GoldenOpSpec(tensors: s4dParameters.union(["u", "D", "y"]), metadata: ["discretization"]),
        "s5": GoldenOpSpec(
            tensors: ["Lambda_re", "Lambda_im", "B_re", "B_im", "C_re", "C_im", "log_step", "D", "u", "y"],
            metadata: ["discretization", "conj_sym"]),
        "hippo": GoldenOpSpec(tensors: ["A", "B"], metadata: ["measure", "N"]),
        "ptd": GoldenOpSpec(
            tensors: [
                "A", "B", "C", "E", "omega", "lambda_re", "lambda_im", "G_hippo_re", "G_hippo_im", "G_perturbed_re",
                "G_perturbed_im",
            ], metadata: ["eigenvector_condition"]),
        "model": GoldenOpSpec(tensors: ["input_ids", "logits", "prompt_ids", "generated_ids"]),
    ]
}()

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
            let isInsideModel = FileManager.default.fileExists(
                atPath: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("config.json")
                    .path)
            guard let op = file.metadata["op"] else {
                // Only a model directory's checkpoint has no op.
                #expect(isInsideModel && path.hasSuffix("/model.safetensors"), "\(path): no 'op' in __metadata__")
                #expect(!file.names.isEmpty, "\(path): empty checkpoint")
                continue
            }
            let spec = try #require(goldenOps[op], "\(path): op '\(op)' is not described in FORMAT.md")
            opsSeen.insert(op)
            let names = Set(file.names)
            #expect(spec.tensors.isSubset(of: names), "\(path): missing \(spec.tensors.subtracting(names).sorted())")
            let extra = names.subtracting(spec.tensors).subtracting(spec.optional)
            #expect(extra.isEmpty, "\(path): unexpected tensors \(extra.sorted())")
            let keys = Set(file.metadata.keys)
            #expect(
                spec.metadata.isSubset(of: keys),
                "\(path): missing metadata \(spec.metadata.subtracting(keys).sorted())")
            #expect(isInsideModel == (op == "model"), "\(path): op \(op) inside a model directory: \(isInsideModel)")
            // Dtypes: float inputs are stored as F64; token ids and cu_seqlens as I64; logits F32.
            for name in file.names {
                let dtype = try file.info(name).dtype
                switch name {
                case "cu_seqlens", "input_ids", "prompt_ids", "generated_ids":
                    #expect(dtype == .int64, "\(path): \(name)")
                case "logits": #expect(dtype == .float32, "\(path): \(name)")
                default: #expect(dtype == .float64, "\(path): \(name)")
                }
            }
        }
        #expect(
            opsSeen == Set(goldenOps.keys), "ops without a golden case: \(Set(goldenOps.keys).subtracting(opsSeen))")
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
