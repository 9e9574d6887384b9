import Foundation
import LRNNLinearAlgebra

/// One golden case: a safetensors file holding an op case, or a model directory.
package enum GoldenCase: Sendable, Equatable {
    /// A `.safetensors` file whose `__metadata__` names its `op`.
    case file(path: String)
    /// A directory holding `config.json` (op `model`).
    case modelDirectory(path: String)
    /// A directory holding `tokenizer.json` (a tokenizer case: `cases.json`, `decode_cases.json`, …).
    case tokenizerDirectory(path: String)

    /// The case name: the file stem or the directory name.
    package var name: String {
        switch self {
        case let .file(p): URL(fileURLWithPath: p).deletingPathExtension().lastPathComponent
        case let .modelDirectory(p), let .tokenizerDirectory(p): URL(fileURLWithPath: p).lastPathComponent
        }
    }

    /// The path on disk.
    package var path: String {
        switch self {
        case let .file(p), let .modelDirectory(p), let .tokenizerDirectory(p): p
        }
    }
}

/// Why golden cases could not be found.
package struct GoldenDiscoveryError: Error, CustomStringConvertible, Sendable {
    /// The path that does not exist or is not a case.
    package let path: String
    /// What is wrong with it.
    package let reason: String
    /// `"<path>: <reason>"`.
    package var description: String { "\(path): \(reason)" }
}

/// Finds golden cases below paths, per the golden FORMAT: a directory with `config.json`
/// is one model case (its safetensors are not op cases), a directory with `tokenizer.json` one
/// tokenizer case; other directories are searched recursively for `*.safetensors` files.
package enum GoldenDiscovery {
    /// The cases below `paths`, sorted by path within each argument.
    /// - Throws: ``GoldenDiscoveryError`` when a path does not exist.
    package static func cases(in paths: [String]) throws -> [GoldenCase] {
        var out: [GoldenCase] = []
        let fm = FileManager.default
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else {
                throw GoldenDiscoveryError(path: p, reason: "no such file or directory")
            }
            if isDir.boolValue {
                out += walk(p)
            } else if p.hasSuffix(".safetensors") {
                out.append(.file(path: p))
            } else if URL(fileURLWithPath: p).lastPathComponent == "config.json" {
                out.append(.modelDirectory(path: URL(fileURLWithPath: p).deletingLastPathComponent().path))
            } else if URL(fileURLWithPath: p).lastPathComponent == "tokenizer.json" {
                out.append(.tokenizerDirectory(path: URL(fileURLWithPath: p).deletingLastPathComponent().path))
            } else {
                throw GoldenDiscoveryError(path: p, reason: "not a .safetensors file or a directory")
            }
        }
        return out
    }

    private static func walk(_ dir: String) -> [GoldenCase] {
        var visited: Set<String> = []
        return walk(dir, visited: &visited)
    }

    /// Walks `dir`, skipping directories already visited (by their resolved path), so that a
    /// symbolic link back up the tree is followed once, not in a cycle.
    private static func walk(_ dir: String, visited: inout Set<String>) -> [GoldenCase] {
        let resolved = URL(fileURLWithPath: dir).resolvingSymlinksInPath().path
        guard visited.insert(resolved).inserted else { return [] }
        let fm = FileManager.default
        if fm.fileExists(atPath: (dir as NSString).appendingPathComponent("config.json")) {
            return [.modelDirectory(path: dir)]
        }
        if fm.fileExists(atPath: (dir as NSString).appendingPathComponent("tokenizer.json")) {
            return [.tokenizerDirectory(path: dir)]
        }
        let entries = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        var out: [GoldenCase] = []
        for e in entries where !e.hasPrefix(".") {
            let full = (dir as NSString).appendingPathComponent(e)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                out += walk(full, visited: &visited)
            } else if e.hasSuffix(".safetensors") {
                out.append(.file(path: full))
            }
        }
        return out
    }
}
