import LRNNLinearAlgebra

/// A checkpoint key with a shape: the shape found in the file, or the shape the model expects.
public struct KeyShape: Sendable, Equatable, CustomStringConvertible {
    /// The tensor key, e.g. `model.layers.0.attn.q_proj.weight`.
    public var key: String
    /// The tensor's extents.
    public var shape: [Int]

    /// Creates a key–shape pair.
    public init(_ key: String, _ shape: [Int]) {
        self.key = key
        self.shape = shape
    }

    /// `key [d0, d1, …]`.
    public var description: String { "\(key) \(shape)" }
}

/// A checkpoint key whose shape differs from the one the configuration implies.
public struct KeyShapeMismatch: Sendable, Equatable, CustomStringConvertible {
    /// The tensor key.
    public var key: String
    /// The shape stored in the checkpoint.
    public var shape: [Int]
    /// The shape the configuration implies.
    public var expected: [Int]

    /// Creates a mismatch record.
    public init(key: String, shape: [Int], expected: [Int]) {
        self.key = key
        self.shape = shape
        self.expected = expected
    }

    /// `key has [..], expected [..]`.
    public var description: String { "\(key) has \(shape), expected \(expected)" }
}

/// A checkpoint key stored with an element type that cannot be a model weight.
public struct KeyDType: Sendable, Equatable, CustomStringConvertible {
    /// The tensor key.
    public var key: String
    /// The safetensors dtype name found (e.g. `I64`).
    public var dtype: String

    /// Creates a dtype record.
    public init(key: String, dtype: String) {
        self.key = key
        self.dtype = dtype
    }

    /// `key (dtype)`.
    public var description: String { "\(key) (\(dtype))" }
}

/// Why a model directory could not be loaded. Every case names the file involved, and the
/// keys and shapes when the checkpoint does not match the configuration.
public enum ModelLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model directory does not exist or is not a directory.
    case directoryNotFound(path: String)
    /// A file the directory must hold is absent (`config.json`, `model.safetensors`, a shard).
    case fileNotFound(path: String)
    /// A JSON file could not be parsed, or a field has the wrong JSON type.
    case malformedJSON(file: String, reason: String)
    /// `model_type` is missing or names an architecture this engine does not implement.
    case unsupportedModelType(file: String, modelType: String)
    /// A configuration field has a value that changes the math in a way this engine does not
    /// implement (e.g. a non-null `attn` hybrid, `use_l2warp: true`, an unknown activation).
    case unsupportedConfiguration(file: String, field: String, value: String, reason: String)
    /// A configuration field has an impossible value (e.g. a head count that does not divide
    /// the dimension).
    case invalidConfiguration(file: String, field: String, reason: String)
    /// A safetensors file is malformed (the underlying reader's error).
    case checkpoint(SafeTensorsError)
    /// The sharded index names a key that its shard does not hold, or a shard holds a key
    /// the index does not list.
    case shardIndexMismatch(file: String, key: String, reason: String)
    /// Keys the configuration requires but the checkpoint lacks, with their expected shapes.
    case missingKeys(file: String, keys: [KeyShape])
    /// Keys whose stored shape differs from the shape the configuration implies.
    case shapeMismatch(file: String, mismatches: [KeyShapeMismatch])
    /// Keys the checkpoint holds that the configuration does not use, with their shapes.
    case unexpectedKeys(file: String, keys: [KeyShape])
    /// Weights stored with a non-floating-point dtype (only F64, F32, F16 and BF16 are weights).
    case badDType(file: String, keys: [KeyDType])
    /// Weights holding NaN or ±∞ (after conversion to the run precision).
    case nonFiniteWeights(file: String, keys: [String])
    /// A parameter whose values are outside the domain its layer is defined on (an S4D `A_re`
    /// with a positive real part, a `log_dt` whose step overflows), with the layer's reason.
    case invalidParameterValue(file: String, key: String, reason: String)

    /// One sentence naming the file, the field or keys, and what was expected.
    public var description: String {
        func list<S: CustomStringConvertible>(_ xs: [S]) -> String {
            let shown = xs.prefix(20).map(\.description).joined(separator: "; ")
            return xs.count > 20 ? shown + "; … (\(xs.count) in all)" : shown
        }
        switch self {
        case let .directoryNotFound(p): return "\(p): no such model directory"
        case let .fileNotFound(p): return "\(p): file not found"
        case let .malformedJSON(f, r): return "\(f): malformed JSON: \(r)"
        case let .unsupportedModelType(f, t): return "\(f): unsupported model_type '\(t)'"
        case let .unsupportedConfiguration(f, field, v, r):
            return "\(f): unsupported configuration \(field) = \(v): \(r)"
        case let .invalidConfiguration(f, field, r): return "\(f): invalid configuration \(field): \(r)"
        case let .checkpoint(e): return e.description
        case let .shardIndexMismatch(f, k, r): return "\(f): key '\(k)': \(r)"
        case let .missingKeys(f, ks): return "\(f): missing \(ks.count) key(s): \(list(ks))"
        case let .shapeMismatch(f, ms): return "\(f): \(ms.count) key(s) with the wrong shape: \(list(ms))"
        case let .unexpectedKeys(f, ks): return "\(f): \(ks.count) unexpected key(s): \(list(ks))"
        case let .badDType(f, ks): return "\(f): \(ks.count) key(s) with a non-float dtype: \(list(ks))"
        case let .nonFiniteWeights(f, ks): return "\(f): \(ks.count) key(s) holding NaN or infinity: \(list(ks))"
        case let .invalidParameterValue(f, k, r): return "\(f): parameter '\(k)': \(r)"
        }
    }
}
