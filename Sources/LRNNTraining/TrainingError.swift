import LRNNLinearAlgebra
import LRNNModels

/// Why a training computation refused its input. Every case names the argument, tensor, key or
/// file involved and what was expected.
public enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An argument is out of range or malformed (a negative learning rate, β ∉ [0, 1), a
    /// warm-up longer than the schedule, ragged rows, an empty data set, …).
    case invalidArgument(name: String, reason: String)
    /// A label is neither −100 nor a class index `0..<vocabSize`. `position` is the flat index
    /// of the position (row-major over the leading dimensions of the logits).
    case labelOutOfRange(position: Int, label: Int, vocabSize: Int)
    /// No position of the batch is counted (every label is −100): the mean is undefined.
    case noCountedPositions(name: String)
    /// A tensor has another shape than expected: a gradient against its parameter, logits
    /// against labels, a stored moment against its parameter.
    case shapeMismatch(tensor: String, shape: [Int], expected: [Int])
    /// A key present in the parameters is missing from `name` (gradients, a checkpoint's state).
    case missingParameter(name: String, key: String)
    /// `name` (gradients, a checkpoint's state) holds a key that is not a parameter.
    case unexpectedParameter(name: String, key: String)
    /// The model refused the batch.
    case model(ModelError)
    /// The model refused the new parameter values.
    case modelLoad(ModelLoadError)
    /// A checkpoint's safetensors file is malformed or lacks a tensor.
    case checkpoint(SafeTensorsError)
    /// A trainer checkpoint's state cannot be resumed as stored: a missing or malformed metadata
    /// value, another precision, another number of examples.
    case invalidCheckpoint(file: String, reason: String)
    /// Writing a checkpoint failed in the file system.
    case fileSystem(path: String, reason: String)

    /// One sentence naming the argument, tensor or file and what was expected.
    public var description: String {
        switch self {
        case let .invalidArgument(n, r): "argument '\(n)': \(r)"
        case let .labelOutOfRange(p, l, v):
            "label \(l) at position \(p) is neither -100 nor a class index in 0..<\(v)"
        case let .noCountedPositions(n): "\(n): every label is -100, no position is counted"
        case let .shapeMismatch(t, s, e): "tensor '\(t)' has shape \(s), expected \(e)"
        case let .missingParameter(n, k): "\(n): missing parameter '\(k)'"
        case let .unexpectedParameter(n, k): "\(n): unexpected key '\(k)' (not a parameter)"
        case let .model(e): "model: \(e)"
        case let .modelLoad(e): "model parameters: \(e)"
        case let .checkpoint(e): e.description
        case let .invalidCheckpoint(f, r): "\(f): \(r)"
        case let .fileSystem(p, r): "\(p): \(r)"
        }
    }
}
