import Foundation

/// Where one tensor lives in a safetensors file.
public struct SafeTensorInfo: Sendable, Equatable {
    /// The tensor's name (its key in the header).
    public let name: String
    /// The element type.
    public let dtype: SafeTensorsDType
    /// The extents, row-major.
    public let shape: [Int]
    /// The byte range inside the data section (after the header).
    public let byteRange: Range<Int>

    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// A validated, memory-mapped safetensors file.
///
/// Layout: an 8-byte little-endian header length `n`, `n` bytes of UTF-8 JSON mapping
/// tensor names to `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional
/// `"__metadata__"` object of strings), then the data section. Opening checks everything the
/// format requires before any tensor is read, so a malformed file raises a
/// ``SafeTensorsError`` and never causes an out-of-bounds read.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The largest header accepted, in bytes (100 MB, as the reference implementation).
    public static let maxHeaderLength = 100_000_000

    /// The path the file was opened from (used in error messages).
    public let path: String
    /// The `__metadata__` entries (empty when absent).
    public let metadata: [String: String]
    /// The tensors, by name.
    public let tensors: [String: SafeTensorInfo]
    private let file: MappedFile
    private let dataStart: Int

    /// The tensor names, sorted.
    public var names: [String] { tensors.keys.sorted() }

    /// Opens and validates the file at `path`.
    /// - Parameter path: the file to open; it is memory-mapped.
    /// - Throws: ``SafeTensorsError`` naming the file (and tensor) on any violation of the format.
    public convenience init(path: String) throws(SafeTensorsError) {
        try self.init(path: path, file: MappedFile(path: path))
    }

    /// Validates an in-memory safetensors image; `name` is used in error messages.
    /// - Parameters:
    ///   - bytes: the whole file image.
    ///   - name: the name used in place of a path in error messages.
    /// - Throws: ``SafeTensorsError`` on any violation of the format.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws(SafeTensorsError) {
        try self.init(path: name, file: MappedFile(copying: bytes))
    }

    private init(path: String, file: MappedFile) throws(SafeTensorsError) {
        self.path = path
        self.file = file
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw .truncated(file: path, size: bytes.count) }
        let n = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        guard n <= UInt64(Self.maxHeaderLength) else {
            throw .headerTooLarge(file: path, length: n, limit: Self.maxHeaderLength)
        }
        guard n <= UInt64(bytes.count - 8) else {
            throw .headerPastEnd(file: path, length: n, fileSize: bytes.count)
        }
        let headerLength = Int(n)
        dataStart = 8 + headerLength
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])
        guard String(validating: header.bindMemory(to: UInt8.self), as: UTF8.self) != nil else {
            throw .invalidUTF8(file: path)
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(header), options: [])
        } catch {
            throw .invalidJSON(file: path, reason: "\(error.localizedDescription)")
        }
        guard let object = json as? [String: Any] else {
            throw .invalidJSON(file: path, reason: "top level is not an object")
        }
        // The parser keeps one of two equal keys silently: look for them in the raw header.
        if let duplicate = JSONDuplicateKey.first(in: header) {
            throw .duplicateKey(file: path, key: duplicate.key, object: duplicate.objectPath.joined(separator: "."))
        }
        var metadata: [String: String] = [:]
        var tensors: [String: SafeTensorInfo] = [:]
        let dataSize = bytes.count - dataStart
        // Sorted, so that the first violation reported is the same on every run.
        for (name, value) in object.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw .invalidMetadata(file: path, reason: "not an object")
                }
                if m["dtype"] != nil || m["shape"] != nil || m["data_offsets"] != nil {
                    throw .invalidMetadata(
                        file: path,
                        reason: "holds a tensor entry (dtype, shape, data_offsets): the name '__metadata__' is "
                            + "reserved for the metadata object of strings and cannot name a tensor")
                }
                for (k, v) in m.sorted(by: { $0.key < $1.key }) {
                    guard !(v is NSNumber), let s = v as? String else {
                        throw .invalidMetadata(file: path, reason: "value of '\(k)' is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            tensors[name] = try Self.parseEntry(name, value, path: path, dataSize: dataSize)
        }
        // Ranges must tile the data section exactly: no overlap, no hole.
        let sorted = tensors.values.sorted {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name)
                < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name)
        }
        var position = 0
        var previous: SafeTensorInfo? = nil
        for t in sorted {
            if t.byteRange.lowerBound < position, let p = previous {
                throw .overlappingTensors(file: path, tensor: t.name, other: p.name)
            }
            if t.byteRange.lowerBound > position {
                throw .uncoveredData(file: path, begin: position, end: t.byteRange.lowerBound)
            }
            position = t.byteRange.upperBound
            previous = t
        }
        if position < dataSize { throw .uncoveredData(file: path, begin: position, end: dataSize) }
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The largest integer accepted in a header (2⁵³: every such value is exact in a JSON double).
    private static let largestInteger = 9_007_199_254_740_992.0

    /// A non-negative JSON integer; JSON booleans (which Foundation also hands out as
    /// `NSNumber`, with Objective-C type `c`), fractions and integers above 2⁵³ are rejected.
    private static func integer(_ v: Any) -> Int? {
        guard let d = wholeNumber(v), d <= largestInteger else { return nil }
        return Int(d)
    }

    /// A JSON number written as a non-negative integer, of any size, as a Double. Booleans and
    /// numbers written with a fraction or an exponent (`4.0`, `1e3`; Foundation hands them out as
    /// doubles) are not integers, as in the reference implementation; an integer literal too long
    /// for 64 bits also arrives as a double, and is accepted here so that it is reported as too large.
    private static func wholeNumber(_ v: Any) -> Double? {
        guard let num = v as? NSNumber else { return nil }
        let type = String(cString: num.objCType)
        guard type != "c" else { return nil }
        let d = num.doubleValue
        guard d.isFinite, d >= 0, d == d.rounded() else { return nil }
        if type == "d" || type == "f" { return d >= 18_446_744_073_709_551_616 ? d : nil }
        return d
    }

    /// A header shape as written, e.g. `[2305843009213693952, 8]`.
    private static func shapeText(_ values: [Any]) -> String {
        "[" + values.map { ($0 as? NSNumber)?.stringValue ?? "\($0)" }.joined(separator: ", ") + "]"
    }

    private static func parseEntry(
        _ name: String, _ value: Any, path: String, dataSize: Int
    ) throws(SafeTensorsError) -> SafeTensorInfo {
        guard let entry = value as? [String: Any] else {
            throw .invalidEntry(file: path, tensor: name, reason: "entry is not an object")
        }
        guard let dtypeName = entry["dtype"] as? String else {
            throw .invalidEntry(file: path, tensor: name, reason: "missing or non-string 'dtype'")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw .unknownDType(file: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = entry["shape"] as? [Any] else {
            throw .invalidEntry(file: path, tensor: name, reason: "missing or non-array 'shape'")
        }
        var shape: [Int] = []
        for s in shapeValues {
            guard wholeNumber(s) != nil else {
                throw .invalidEntry(
                    file: path, tensor: name,
                    reason: "shape \(shapeText(shapeValues)) holds a non-integer or negative extent")
            }
            guard let d = integer(s) else {
                throw .shapeTooLarge(file: path, tensor: name, shape: shapeText(shapeValues))
            }
            shape.append(d)
        }
        guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
            let begin = integer(offsets[0]), let end = integer(offsets[1])
        else {
            throw .invalidEntry(file: path, tensor: name, reason: "'data_offsets' must be two non-negative integers")
        }
        guard begin <= end, end <= dataSize else {
            throw .offsetsOutOfRange(file: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        // The product of the non-zero extents is bounded too, so that no product of extents
        // computed later (strides, sub-shapes) can overflow, even for a tensor with a zero extent.
        var bounded = 1
        for d in shape {
            let (p, overflow) = bounded.multipliedReportingOverflow(by: Swift.max(d, 1))
            if overflow || p > Int(UInt32.max) * 1024 {
                throw .shapeTooLarge(file: path, tensor: name, shape: shapeText(shapeValues))
            }
            bounded = p
        }
        let elements = shape.contains(0) ? 0 : bounded
        let expected = elements * dtype.byteCount
        guard expected == end - begin else {
            throw .sizeMismatch(
                file: path, tensor: name, shape: shape, dtype: dtypeName, expectedBytes: expected,
                actualBytes: end - begin)
        }
        return SafeTensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// The location of tensor `name`.
    /// - Parameter name: the tensor's name.
    /// - Throws: ``SafeTensorsError/missingTensor(file:tensor:)`` when absent.
    public func info(_ name: String) throws(SafeTensorsError) -> SafeTensorInfo {
        guard let t = tensors[name] else { throw .missingTensor(file: path, tensor: name) }
        return t
    }

    /// Whether the file holds tensor `name`.
    ///
    /// - Parameter name: the tensor's name.
    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    /// The raw bytes of tensor `name` (little-endian, as stored).
    ///
    /// - Parameters:
    ///   - name: the tensor's name.
    ///   - body: a closure that reads the bytes; the buffer is valid only inside it.
    /// - Returns: what `body` returns.
    /// - Throws: ``SafeTensorsError/missingTensor(file:tensor:)`` when absent, or what `body` throws.
    public func withRawBytes<R>(
        _ name: String, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        let t = try info(name)
        let start = dataStart + t.byteRange.lowerBound
        return try body(UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + t.byteRange.count)]))
    }

    /// Reads tensor `name` converted to the floating-point type `T` (any float, integer or
    /// boolean dtype is accepted; integers convert exactly when representable).
    /// - Parameters:
    ///   - name: the tensor's name.
    ///   - type: the element type to convert to.
    /// - Throws: ``SafeTensorsError/missingTensor(file:tensor:)`` when absent.
    public func tensor<T: BinaryFloatingPoint>(_ name: String, as type: T.Type = T.self) throws(SafeTensorsError)
        -> Tensor<T>
    {
        let t = try info(name)
        let values: [T] = readElements(t) {
            T($0)
        } intConvert: {
            T($0)
        }
        return Tensor(shape: t.shape, scalars: values)
    }

    /// Reads an integer or boolean tensor `name` as `Int`.
    /// - Parameter name: the tensor's name.
    /// - Throws: ``SafeTensorsError/unsupportedConversion(file:tensor:dtype:requested:)`` for float dtypes.
    public func integerTensor(_ name: String) throws(SafeTensorsError) -> Tensor<Int> {
        let t = try info(name)
        guard !t.dtype.isFloatingPoint else {
            throw .unsupportedConversion(file: path, tensor: name, dtype: t.dtype.rawValue, requested: "integers")
        }
        let values: [Int] = readElements(t) {
            Int($0)
        } intConvert: {
            Int($0)
        }
        return Tensor(shape: t.shape, scalars: values)
    }

    private func readElements<R>(
        _ t: SafeTensorInfo, floatConvert: (Double) -> R, intConvert: (Int64) -> R
    ) -> [R] {
        let start = dataStart + t.byteRange.lowerBound
        let raw = UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + t.byteRange.count)])
        let n = t.count
        var out = [R]()
        out.reserveCapacity(n)
        switch t.dtype {
        case .float64:
            for i in 0..<n {
                out.append(
                    floatConvert(
                        Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)))
            }
        case .float32:
            for i in 0..<n {
                out.append(
                    floatConvert(
                        Double(
                            Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian))))
            }
        case .float16:
            for i in 0..<n {
                out.append(
                    floatConvert(
                        Double(
                            Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
                    ))
            }
        case .bfloat16:
            for i in 0..<n {
                out.append(
                    floatConvert(
                        Double(BFloat16.toFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
                    ))
            }
        case .int64:
            for i in 0..<n {
                out.append(intConvert(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))))
            }
        case .int32:
            for i in 0..<n {
                out.append(
                    intConvert(Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))))
            }
        case .int16:
            for i in 0..<n {
                out.append(
                    intConvert(Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))))
            }
        case .int8:
            for i in 0..<n { out.append(intConvert(Int64(raw.load(fromByteOffset: i, as: Int8.self)))) }
        case .uint8:
            for i in 0..<n { out.append(intConvert(Int64(raw[i]))) }
        case .bool:
            for i in 0..<n { out.append(intConvert(raw[i] != 0 ? 1 : 0)) }
        }
        return out
    }

    /// A metadata value parsed as a number (golden files store numbers as strings).
    ///
    /// - Parameter key: the `__metadata__` key.
    /// - Returns: the number, or nil when the key is absent or not a number.
    public func metadataNumber(_ key: String) -> Double? {
        metadata[key].flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// A metadata value parsed as a boolean (`"true"` / `"false"`, also `"1"` / `"0"`).
    ///
    /// - Parameter key: the `__metadata__` key.
    /// - Returns: the boolean, or nil when the key is absent or not a boolean.
    public func metadataBool(_ key: String) -> Bool? {
        switch metadata[key]?.lowercased() {
        case "true", "1": true
        case "false", "0": false
        default: nil
        }
    }
}
