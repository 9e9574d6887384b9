import LRNNLinearAlgebra

/// The chunk kernel's gather of one input row: scaled copies and the NaN/±∞ scan in one pass.
enum DeltaRuleRowCopy {
    /// Writes `a·src[c]` to `scaled[c]` (and `src[c]` to `copy[c]` when given) for `c < count`,
    /// and returns whether `src` held a NaN or ±∞.
    ///
    /// The row is read once: for Float and Double the values are loaded as their IEEE bit
    /// patterns, tested with integer operations (exponent bits all ones ⇔ NaN or ±∞) and
    /// reinterpreted for the copies, so the loop vectorises and the scan costs no extra pass.
    @inline(__always)
    static func copy<T: LRNNScalar>(
        _ src: UnsafePointer<T>, count: Int, scale a: T, into scaled: UnsafeMutablePointer<T>,
        copy: UnsafeMutablePointer<T>?
    ) -> Bool {
        if T.self == Float.self {
            return copyFloat(
                UnsafeRawPointer(src).assumingMemoryBound(to: UInt32.self), count: count,
                scale: unsafeBitCast(a, to: Float.self),
                into: UnsafeMutableRawPointer(scaled).assumingMemoryBound(to: Float.self),
                copy: copy.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: Float.self) })
        }
        if T.self == Double.self {
            return copyDouble(
                UnsafeRawPointer(src).assumingMemoryBound(to: UInt64.self), count: count,
                scale: unsafeBitCast(a, to: Double.self),
                into: UnsafeMutableRawPointer(scaled).assumingMemoryBound(to: Double.self),
                copy: copy.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: Double.self) })
        }
        var bad = false
        for c in 0..<count {
            let x = src[c]
            if !x.isFinite { bad = true }
            scaled[c] = a * x
            copy?[c] = x
        }
        return bad
    }

    @inline(__always)
    static func copyFloat(
        _ bits: UnsafePointer<UInt32>, count: Int, scale a: Float, into scaled: UnsafeMutablePointer<Float>,
        copy: UnsafeMutablePointer<Float>?
    ) -> Bool {
        var bad: UInt32 = 0
        if let copy {
            for c in 0..<count {
                let b = bits[c]
                bad |= (((b >> 23) & 0xFF) &+ 1) >> 8
                let x = Float(bitPattern: b)
                scaled[c] = a * x
                copy[c] = x
            }
        } else {
            for c in 0..<count {
                let b = bits[c]
                bad |= (((b >> 23) & 0xFF) &+ 1) >> 8
                scaled[c] = a * Float(bitPattern: b)
            }
        }
        return bad != 0
    }

    @inline(__always)
    static func copyDouble(
        _ bits: UnsafePointer<UInt64>, count: Int, scale a: Double, into scaled: UnsafeMutablePointer<Double>,
        copy: UnsafeMutablePointer<Double>?
    ) -> Bool {
        var bad: UInt64 = 0
        if let copy {
            for c in 0..<count {
                let b = bits[c]
                bad |= (((b >> 52) & 0x7FF) &+ 1) >> 11
                let x = Double(bitPattern: b)
                scaled[c] = a * x
                copy[c] = x
            }
        } else {
            for c in 0..<count {
                let b = bits[c]
                bad |= (((b >> 52) & 0x7FF) &+ 1) >> 11
                scaled[c] = a * Double(bitPattern: b)
            }
        }
        return bad != 0
    }
}
