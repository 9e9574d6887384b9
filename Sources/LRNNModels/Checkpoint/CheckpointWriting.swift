import Foundation
import LRNNLinearAlgebra

extension CausalLM {
    /// A safetensors writer holding every parameter under its fla key (``parameters()``), stored
    /// as `dtype`.
    ///
    /// - Parameter dtype: the stored dtype of every parameter.
    public func checkpointWriter(dtype: SafeTensorsDType = .float32) -> SafeTensorsWriter {
        var w = SafeTensorsWriter(metadata: ["format": "pt"])
        for (k, v) in parameters().sorted(by: { $0.key < $1.key }) { w.add(k, v, as: dtype) }
        return w
    }

    /// The fla `config.json` of a model whose layers all use one fla mixer, softmax-attention
    /// layers aside (listed in `attn`, one entry per attention shape), as a checkpoint of it would
    /// carry; nil for a stack of several other mixers, a stack with MLP-less blocks, one without
    /// any fla mixer, or an empty one.
    public func flaConfigurationJSON() -> Data? {
        let own = mixers.filter {
            if case .attention = $0 { return false }
            return true
        }
        guard let first = own.first, own.allSatisfy({ $0 == first }),
            let mixerFields = first.registration.flaConfigurationFields()
        else { return nil }
        guard layers.allSatisfy({ $0.mlp != nil }) else { return nil }
        var c = configuration
        c.modelType = first.modelType
        c.attention = []
        for (i, m) in mixers.enumerated() {
            guard case var .attention(a) = m else { continue }
            a.layers = []
            if let j = c.attention.firstIndex(where: {
                var b = $0; b.layers = []; return b == a
            }) {
                c.attention[j].layers.append(i)
            } else {
                a.layers = [i]
                c.attention.append(a)
            }
        }
        var json = encodedObject(c)
        json.merge(mixerFields) { a, _ in a }
        return try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
    }

    /// Writes `config.json` and `model.safetensors` into `directory` (created if needed), in the
    /// layout ``load(directory:)`` and fla read.
    /// - Parameters:
    ///   - directory: the directory to write into.
    ///   - dtype: the stored dtype of every parameter.
    /// - Throws: ``ModelError/invalidArgument(name:reason:)`` for a stack fla cannot describe
    ///   (mixed mixers), or the file system's error.
    public func write(to directory: String, dtype: SafeTensorsDType = .float32) throws {
        guard let json = flaConfigurationJSON() else {
            throw ModelError.invalidArgument(
                name: "model", reason: "only a stack of one mixer type with MLPs has an fla config.json")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try json.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("config.json")))
        try checkpointWriter(dtype: dtype).write(
            to: (directory as NSString).appendingPathComponent("model.safetensors"))
    }
}
