/// Why a safetensors file could not be read, or a requested tensor could not be delivered.
/// Every case names the file, and the tensor where one is involved.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or mapped.
    case cannotOpen(file: String, reason: String)
    /// The file is shorter than the 8-byte header length.
    case truncated(file: String, size: Int)
    /// The declared header length exceeds the sanity bound.
    case headerTooLarge(file: String, length: UInt64, limit: Int)
    /// The declared header length runs past the end of the file.
    case headerPastEnd(file: String, length: UInt64, fileSize: Int)
    /// The header is not valid UTF-8.
    case invalidUTF8(file: String)
    /// The header is not a JSON object.
    case invalidJSON(file: String, reason: String)
    /// A tensor entry lacks `dtype`, `shape` or `data_offsets`, or has them of the wrong type.
    case invalidEntry(file: String, tensor: String, reason: String)
    /// The header names one key twice in the same object: a tensor (at the top level, `object`
    /// empty), or a field of a tensor entry or of `__metadata__` (`object` names it).
    case duplicateKey(file: String, key: String, object: String)
    /// A tensor's extents, or their product times the dtype's byte size, exceed what can be
    /// addressed (the product overflows a 64-bit integer, or the data would exceed 2⁵³ bytes).
    /// `shape` is the shape as written in the header.
    case shapeTooLarge(file: String, tensor: String, shape: String)
    /// A tensor's dtype is not one of ``SafeTensorsDType``.
    case unknownDType(file: String, tensor: String, dtype: String)
    /// A tensor's byte range does not equal shape product × dtype size.
    case sizeMismatch(file: String, tensor: String, shape: [Int], dtype: String, expectedBytes: Int, actualBytes: Int)
    /// A tensor's offsets are reversed or lie outside the data section.
    case offsetsOutOfRange(file: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    /// Two tensors' byte ranges overlap.
    case overlappingTensors(file: String, tensor: String, other: String)
    /// Part of the data section belongs to no tensor.
    case uncoveredData(file: String, begin: Int, end: Int)
    /// `__metadata__` is not an object of string values.
    case invalidMetadata(file: String, reason: String)
    /// A requested tensor is not in the file.
    case missingTensor(file: String, tensor: String)
    /// A requested tensor has a dtype that cannot be converted to what was asked for.
    case unsupportedConversion(file: String, tensor: String, dtype: String, requested: String)
    /// A requested tensor has another shape than the caller expects.
    case unexpectedShape(file: String, tensor: String, shape: [Int], expected: String)

    /// One sentence naming the file, the tensor and what is wrong.
    public var description: String {
        switch self {
        case let .cannotOpen(f, r): "\(f): cannot open: \(r)"
        case let .truncated(f, s): "\(f): truncated: \(s) bytes, need at least 8 for the header length"
        case let .headerTooLarge(f, l, lim): "\(f): header length \(l) exceeds the limit of \(lim) bytes"
        case let .headerPastEnd(f, l, s): "\(f): header length \(l) runs past the end of the \(s)-byte file"
        case let .invalidUTF8(f): "\(f): header is not valid UTF-8"
        case let .invalidJSON(f, r): "\(f): header is not a JSON object: \(r)"
        case let .invalidEntry(f, t, r): "\(f): tensor '\(t)': \(r)"
        case let .duplicateKey(f, k, o):
            o.isEmpty
                ? "\(f): the header names tensor '\(k)' twice"
                : "\(f): the header's entry '\(o)' names key '\(k)' twice"
        case let .shapeTooLarge(f, t, sh):
            "\(f): tensor '\(t)': shape \(sh) is too large: its element count or byte size overflows"
        case let .unknownDType(f, t, d): "\(f): tensor '\(t)': unknown dtype '\(d)'"
        case let .sizeMismatch(f, t, sh, d, e, a):
            "\(f): tensor '\(t)': shape \(sh) of \(d) needs \(e) bytes but data_offsets span \(a)"
        case let .offsetsOutOfRange(f, t, b, e, n):
            "\(f): tensor '\(t)': data_offsets [\(b), \(e)] outside the \(n)-byte data section"
        case let .overlappingTensors(f, t, o): "\(f): tensors '\(o)' and '\(t)' overlap"
        case let .uncoveredData(f, b, e): "\(f): data bytes \(b)..<\(e) belong to no tensor"
        case let .invalidMetadata(f, r): "\(f): __metadata__: \(r)"
        case let .missingTensor(f, t): "\(f): no tensor named '\(t)'"
        case let .unsupportedConversion(f, t, d, r): "\(f): tensor '\(t)' is \(d), cannot be read as \(r)"
        case let .unexpectedShape(f, t, sh, e): "\(f): tensor '\(t)' has shape \(sh), expected \(e)"
        }
    }
}
