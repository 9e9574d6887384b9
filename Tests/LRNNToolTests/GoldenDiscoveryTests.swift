import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

/// A scratch directory removed when the value is dropped.
final class ScratchDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("lrnn-tool-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `contents` (or a tiny valid safetensors file with op `op`) at `relative`.
    @discardableResult
    func file(_ relative: String, op: String? = nil, contents: String? = nil) throws -> String {
        let target = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if let contents {
            try Data(contents.utf8).write(to: target)
        } else {
            var w = SafeTensorsWriter(metadata: op.map { ["op": $0] } ?? [:])
            w.add("x", Tensor<Double>(shape: [2], scalars: [1, 2]), as: .float64)
            try w.write(to: target.path)
        }
        return target.path
    }

    func path(_ relative: String) -> String { url.appendingPathComponent(relative).path }
}

@Suite("golden discovery")
struct GoldenDiscoveryTests {
    @Test("directories are searched recursively; a model directory is one case and its files are not op cases")
    func recursion() throws {
        let d = try ScratchDirectory()
        try d.file("b_case.safetensors", op: "x")
        try d.file("a_case.safetensors", op: "x")
        try d.file("notes.txt", contents: "not a case")
        try d.file(".hidden.safetensors", op: "x")
        try d.file("sub/deeper/c_case.safetensors", op: "x")
        try d.file("sub/model_m/config.json", contents: "{}")
        try d.file("sub/model_m/model.safetensors")
        try d.file("sub/model_m/golden.safetensors", op: "model")
        try d.file("sub/model_m/nested/not_a_case.safetensors", op: "x")
        let cases = try GoldenDiscovery.cases(in: [d.url.path])
        #expect(
            cases == [
                .file(path: d.path("a_case.safetensors")), .file(path: d.path("b_case.safetensors")),
                .file(path: d.path("sub/deeper/c_case.safetensors")), .modelDirectory(path: d.path("sub/model_m")),
            ])
        #expect(cases.map(\.name) == ["a_case", "b_case", "c_case", "model_m"])
        // A model directory given directly, or through its config.json, is the same one case.
        #expect(
            try GoldenDiscovery.cases(in: [d.path("sub/model_m")]) == [.modelDirectory(path: d.path("sub/model_m"))])
        let viaConfig = try GoldenDiscovery.cases(in: [d.path("sub/model_m/config.json")])
        #expect(viaConfig.map(\.name) == ["model_m"])
        // A single file is one case; arguments keep their order.
        #expect(
            try GoldenDiscovery.cases(in: [d.path("b_case.safetensors"), d.path("a_case.safetensors")]).map(\.name)
                == ["b_case", "a_case"])
    }

    @Test("a missing path or a file that is not a case is a discovery error naming the path")
    func errors() throws {
        let d = try ScratchDirectory()
        let notes = try d.file("notes.txt", contents: "x")
        for p in [d.path("absent"), notes] {
            let error = #expect(throws: GoldenDiscoveryError.self) { try GoldenDiscovery.cases(in: [p]) }
            #expect(error?.path == p)
            #expect(error?.description.hasPrefix(p + ": ") == true)
        }
    }

    @Test(
        "the shared golden directory: every top-level file and model directory is a case",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func sharedGolden() throws {
        let cases = try GoldenDiscovery.cases(in: [Golden.directory.path])
        let models = cases.filter { if case .modelDirectory = $0 { true } else { false } }
        let files = cases.filter { if case .file = $0 { true } else { false } }
        #expect(models.count >= 4)
        #expect(files.count == Golden.caseFiles.count)
        for m in models { #expect(FileManager.default.fileExists(atPath: m.path + "/config.json")) }
        for f in files {
            #expect(
                !FileManager.default.fileExists(
                    atPath: URL(fileURLWithPath: f.path).deletingLastPathComponent().appendingPathComponent(
                        "config.json"
                    ).path),
                "\(f.path) lies in a model directory")
        }
    }
}

@Suite("golden discovery: links")
struct GoldenDiscoveryLinkTests {
    @Test("a symbolic link back up the tree is followed once, not in a cycle")
    func cycle() throws {
        let d = try ScratchDirectory()
        try d.file("case.safetensors", op: "hippo")
        try FileManager.default.createDirectory(atPath: d.path("a"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: d.path("a/up"), withDestinationPath: "..")
        let cases = try GoldenDiscovery.cases(in: [d.url.path])
        #expect(cases.map(\.name) == ["case"])
    }

    @Test("an empty directory holds no case")
    func empty() throws {
        let d = try ScratchDirectory()
        #expect(try GoldenDiscovery.cases(in: [d.url.path]).isEmpty)
    }
}
