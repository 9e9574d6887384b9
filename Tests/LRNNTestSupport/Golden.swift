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

    /// Whether the golden directory exists (tests that need it are skipped, with a message, when not).
    public static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("FORMAT.md").path)
    }

    /// The reason printed when golden tests are skipped.
    public static var skipMessage: Comment {
        "golden cases not found at \(directory.path) (expected ../shared/golden beside the checkout; set LRNN_GOLDEN_DIR)"
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
}
