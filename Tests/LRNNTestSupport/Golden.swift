import Foundation
import Testing

/// Locates the golden reference cases at `../shared/golden` beside the checkout.
public enum Golden {
    /// The package root, found from this source file's path.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The golden directory (`LRNN_GOLDEN_DIR` overrides `../shared/golden`).
    public static let directory: URL = {
        if let env = ProcessInfo.processInfo.environment["LRNN_GOLDEN_DIR"] {
            return URL(fileURLWithPath: env)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/golden")
    }()

    /// Whether `LRNN_REQUIRE_GOLDEN=1` is set: missing reference cases then fail the tests that
    /// need them instead of skipping them (CI sets it).
    public static var isRequired: Bool {
        ProcessInfo.processInfo.environment["LRNN_REQUIRE_GOLDEN"] == "1"
    }

    /// Whether the golden directory exists on disk.
    public static var exists: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("FORMAT.md").path)
    }

    /// Whether tests that need the golden directory run: when it exists, and always under
    /// `LRNN_REQUIRE_GOLDEN=1` (so that a missing directory fails them instead of skipping them).
    public static var isAvailable: Bool { exists || isRequired }

    /// The reason printed when golden tests are skipped.
    public static var skipMessage: Comment {
        "golden cases not found at \(directory.path) (expected ../shared/golden beside the checkout; set LRNN_GOLDEN_DIR; LRNN_REQUIRE_GOLDEN=1 makes this a failure)"
    }

    /// The regression inputs (`../shared/regressions` beside the checkout; `LRNN_REGRESSIONS_DIR`
    /// overrides): small files reduced from reported faults, each with the behaviour its README states.
    public static let regressionsDirectory: URL = {
        if let env = ProcessInfo.processInfo.environment["LRNN_REGRESSIONS_DIR"] {
            return URL(fileURLWithPath: env)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/regressions")
    }()

    /// Whether tests of the regression inputs run: when the directory exists, and always under
    /// `LRNN_REQUIRE_GOLDEN=1`.
    public static var regressionsAvailable: Bool {
        FileManager.default.fileExists(atPath: regressionsDirectory.appendingPathComponent("README.md").path)
            || isRequired
    }

    /// The reason printed when regression tests are skipped.
    public static var regressionsSkipMessage: Comment {
        "regression inputs not found at \(regressionsDirectory.path) (expected ../shared/regressions beside the checkout; set LRNN_REGRESSIONS_DIR)"
    }

    /// The path of a regression input by name.
    public static func regression(_ name: String) -> String {
        regressionsDirectory.appendingPathComponent(name).path
    }

    /// The path of a golden file or directory by name.
    public static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// Every `*.safetensors` case file at the top level of the golden directory.
    public static var caseFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".safetensors") }.sorted()
    }

    /// The tokenizer case directories (`tokenizers/*/` holding `tokenizer.json`), sorted by name.
    public static var tokenizerDirectories: [URL] {
        let root = directory.appendingPathComponent("tokenizers")
        return ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
            .map { root.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("tokenizer.json").path) }
    }
}
