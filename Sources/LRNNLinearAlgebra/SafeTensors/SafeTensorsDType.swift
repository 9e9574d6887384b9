/// The element types of the safetensors format that LinearRNN reads and writes.
public enum SafeTensorsDType: String, CaseIterable, Sendable {
    /// IEEE binary64.
    case float64 = "F64"
    /// IEEE binary32.
    case float32 = "F32"
    /// IEEE binary16.
    case float16 = "F16"
    /// bfloat16: the upper 16 bits of a binary32.
    case bfloat16 = "BF16"
    /// Signed 64-bit integer.
    case int64 = "I64"
    /// Signed 32-bit integer.
    case int32 = "I32"
    /// Signed 16-bit integer.
    case int16 = "I16"
    /// Signed 8-bit integer.
    case int8 = "I8"
    /// Unsigned 8-bit integer.
    case uint8 = "U8"
    /// Boolean stored as one byte, 0 or 1.
    case bool = "BOOL"

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// Whether the type is a floating-point type.
    public var isFloatingPoint: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16: true
        default: false
        }
    }
}

/// bfloat16 conversions (round to nearest even; NaN kept quiet).
enum BFloat16 {
    static func toFloat(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    static func fromFloat(_ x: Float) -> UInt16 {
        if x.isNaN { return 0x7FC0 }
        let bits = x.bitPattern
        let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    /// Rounds a Float64 to bfloat16 in one step. Going through `Float(x)` alone would round
    /// twice: a value just above a bfloat16 tie can round to the tie in binary32 and then to
    /// even (down). When binary32 rounding lands exactly on a tie, step it one binary32 ulp
    /// towards `x` so the second rounding goes the way `x` does.
    static func fromDouble(_ x: Double) -> UInt16 {
        var f = Float(x)
        if f.isFinite, f.bitPattern & 0xFFFF == 0x8000, Double(f) != x {
            f = Double(f) < x ? f.nextUp : f.nextDown
        }
        return fromFloat(f)
    }
}
