import Foundation

/// Builds a safetensors file: tensors are added with the dtype to store them in, then
/// ``serialized()`` produces the bytes (header padded with spaces to a multiple of 8).
public struct SafeTensorsWriter: Sendable {
    private var entries: [(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8])] = []
    /// The `__metadata__` entries to write.
    public var metadata: [String: String]

    /// Creates an empty writer with the given metadata.
    ///
    /// - Parameter metadata: the `__metadata__` entries (string values only, as the format requires).
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a floating-point tensor stored as `dtype` (a float dtype; rounding to nearest).
    ///
    /// - Parameters:
    ///   - name: the tensor's name.
    ///   - tensor: the values.
    ///   - dtype: the stored dtype (default `F32`).
    /// - Precondition: `dtype` is a floating-point dtype and `name` is new and not `__metadata__`.
    public mutating func add<T: BinaryFloatingPoint>(
        _ name: String, _ tensor: Tensor<T>, as dtype: SafeTensorsDType = .float32
    ) {
        precondition(dtype.isFloatingPoint, "SafeTensorsWriter.add: \(dtype) is not a float dtype")
        var out = [UInt8]()
        out.reserveCapacity(tensor.count * dtype.byteCount)
        func append<I: FixedWidthInteger>(_ v: I) {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        for x in tensor.scalars {
            switch dtype {
            case .float64: append(Double(x).bitPattern)
            case .float32: append(Float(x).bitPattern)
            case .float16: append(Float16(Double(x)).bitPattern)
            case .bfloat16: append(BFloat16.fromDouble(Double(x)))
            default: break
            }
        }
        insert(name, dtype, tensor.shape, out)
    }

    /// Adds an integer or boolean tensor stored as `dtype` (values must fit; bool stores x ≠ 0).
    ///
    /// - Parameters:
    ///   - name: the tensor's name.
    ///   - tensor: the values.
    ///   - dtype: the stored dtype (default `I64`).
    /// - Precondition: `dtype` is an integer or bool dtype and every value fits in it.
    public mutating func add(_ name: String, integers tensor: Tensor<Int>, as dtype: SafeTensorsDType = .int64) {
        precondition(!dtype.isFloatingPoint, "SafeTensorsWriter.add: \(dtype) is not an integer dtype")
        var out = [UInt8]()
        out.reserveCapacity(tensor.count * dtype.byteCount)
        func append<I: FixedWidthInteger>(_ v: I) {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        for x in tensor.scalars {
            switch dtype {
            case .int64: append(Int64(x))
            case .int32: append(Int32(x))
            case .int16: append(Int16(x))
            case .int8: append(Int8(x))
            case .uint8: append(UInt8(x))
            case .bool: append(UInt8(x != 0 ? 1 : 0))
            default: break
            }
        }
        insert(name, dtype, tensor.shape, out)
    }

    private mutating func insert(_ name: String, _ dtype: SafeTensorsDType, _ shape: [Int], _ bytes: [UInt8]) {
        precondition(name != "__metadata__", "SafeTensorsWriter: '__metadata__' is reserved")
        precondition(!entries.contains { $0.name == name }, "SafeTensorsWriter: duplicate tensor '\(name)'")
        entries.append((name, dtype, shape, bytes))
    }

    /// The complete file image.
    public func serialized() -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        for e in entries {
            header[e.name] =
                [
                    "dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [offset, offset + e.bytes.count],
                ] as [String: Any]
            offset += e.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = [UInt8](
            (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8))
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for e in entries { out.append(contentsOf: e.bytes) }
        return out
    }

    /// Writes the file image to `path`.
    /// - Parameter path: the file to create or replace.
    /// - Throws: the file system's error when the file cannot be written.
    public func write(to path: String) throws {
        try Data(serialized()).write(to: URL(fileURLWithPath: path))
    }
}
