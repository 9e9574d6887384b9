import Foundation
import LRNNLinearAlgebra

/// The tensors of a model directory: `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json` (`{"weight_map": {key: shard file}}`).
struct CheckpointTensors {
    /// The file named in errors (the single file or the index).
    let displayName: String
    /// Each key's file and location.
    let entries: [String: (file: SafeTensorsFile, info: SafeTensorInfo)]

    /// Opens the checkpoint in `directory`.
    /// - Throws: ``ModelLoadError`` naming the file when it is missing or malformed.
    static func open(directory: String) throws(ModelLoadError) -> CheckpointTensors {
        let fm = FileManager.default
        let single = (directory as NSString).appendingPathComponent("model.safetensors")
        let index = (directory as NSString).appendingPathComponent("model.safetensors.index.json")
        if fm.fileExists(atPath: single) {
            let file: SafeTensorsFile
            do { file = try SafeTensorsFile(path: single) } catch { throw .checkpoint(error) }
            var entries: [String: (file: SafeTensorsFile, info: SafeTensorInfo)] = [:]
            for (k, v) in file.tensors { entries[k] = (file, v) }
            return CheckpointTensors(displayName: single, entries: entries)
        }
        guard fm.fileExists(atPath: index) else { throw .fileNotFound(path: single) }
        guard let data = fm.contents(atPath: index) else { throw .fileNotFound(path: index) }
        let weightMap: [String: String]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelLoadError.malformedJSON(file: index, reason: "top level is not an object")
            }
            // A key listed twice would otherwise be read from whichever shard the parser kept.
            if let duplicate = JSONDuplicateKey.first(in: data) {
                throw ModelLoadError.malformedJSON(file: index, reason: "key \(duplicate.location) appears twice")
            }
            guard let map = object["weight_map"] as? [String: Any] else {
                throw ModelLoadError.malformedJSON(file: index, reason: "field 'weight_map' missing or not an object")
            }
            var m: [String: String] = [:]
            for (k, v) in map.sorted(by: { $0.key < $1.key }) {
                guard let s = v as? String else {
                    throw ModelLoadError.malformedJSON(file: index, reason: "weight_map['\(k)'] is not a string")
                }
                m[k] = s
            }
            weightMap = m
        } catch let e as ModelLoadError {
            throw e
        } catch {
            throw .malformedJSON(file: index, reason: error.localizedDescription)
        }
        var shards: [String: SafeTensorsFile] = [:]
        for name in Set(weightMap.values).sorted() {
            guard !name.contains("/"), !name.hasPrefix(".") else {
                throw .malformedJSON(file: index, reason: "shard name '\(name)' is not a file in the directory")
            }
            let path = (directory as NSString).appendingPathComponent(name)
            guard fm.fileExists(atPath: path) else { throw .fileNotFound(path: path) }
            do { shards[name] = try SafeTensorsFile(path: path) } catch { throw .checkpoint(error) }
        }
        var entries: [String: (file: SafeTensorsFile, info: SafeTensorInfo)] = [:]
        for key in weightMap.keys.sorted() {
            let shard = shards[weightMap[key]!]!
            guard let info = shard.tensors[key] else {
                throw .shardIndexMismatch(
                    file: index, key: key, reason: "listed in '\(weightMap[key]!)' but not stored there")
            }
            entries[key] = (shard, info)
        }
        for (name, shard) in shards.sorted(by: { $0.key < $1.key }) {
            for key in shard.names where weightMap[key] != name {
                throw .shardIndexMismatch(
                    file: index, key: key, reason: "stored in '\(name)' but not listed there by the index")
            }
        }
        return CheckpointTensors(displayName: index, entries: entries)
    }
}
