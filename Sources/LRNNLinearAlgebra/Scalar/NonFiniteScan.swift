/// The vectorised scan for NaN, ±∞ and positive values that every kernel runs over its inputs.
///
/// NaN and ±∞ are exactly the IEEE values whose exponent bits are all ones, so the scan works on
/// the bit patterns with integer operations and an OR-reduction: no comparisons or branches, so
/// the compiler vectorises the loop and a scan runs at memory speed. With `e` the exponent mask,
/// `(x & e) + lsb(e)` carries into the sign bit exactly when every exponent bit is set, and
/// `~(x | (x − 1))` has the sign bit set exactly when x is positive (sign clear, not zero).
///
/// The pointer forms are inlinable, for kernels that scan rows as they first read them.
public enum NonFiniteScan {
    /// Whether any of `count` scalars at `p` is NaN or ±∞ (`nonFinite`) and whether any is
    /// positive (`positive`, +∞ included), in one pass.
    ///
    /// - Parameters:
    ///   - p: the first scalar.
    ///   - count: the number of contiguous scalars (≥ 0).
    ///   - allowingNegativeInfinity: when true, −∞ counts as finite (and not positive): the scan
    ///     of log decays, where −∞ is a reset.
    /// - Returns: the two findings.
    @inlinable
    public static func scan<T: LRNNScalar>(
        _ p: UnsafePointer<T>, count: Int, allowingNegativeInfinity: Bool = false
    ) -> (nonFinite: Bool, positive: Bool) {
        let raw = UnsafeRawPointer(p)
        if MemoryLayout<T>.size == 4 && T.exponentBitCount == 8 {
            let bits = raw.assumingMemoryBound(to: UInt32.self)
            return allowingNegativeInfinity
                ? scanBits(bits, count, exponentMask: 0x7F80_0000, exempt: (-Float.infinity).bitPattern)
                : scanBits(bits, count, exponentMask: 0x7F80_0000)
        }
        if MemoryLayout<T>.size == 8 && T.exponentBitCount == 11 {
            let bits = raw.assumingMemoryBound(to: UInt64.self)
            return allowingNegativeInfinity
                ? scanBits(bits, count, exponentMask: 0x7FF0_0000_0000_0000, exempt: (-Double.infinity).bitPattern)
                : scanBits(bits, count, exponentMask: 0x7FF0_0000_0000_0000)
        }
        var nonFinite = false
        var positive = false
        for x in UnsafeBufferPointer(start: p, count: count) {
            if !x.isFinite && !(allowingNegativeInfinity && x == -.infinity) { nonFinite = true }
            if x > 0 { positive = true }
        }
        return (nonFinite, positive)
    }

    /// Whether any of `count` scalars at `p` is NaN or ±∞.
    ///
    /// - Parameters:
    ///   - p: the first scalar.
    ///   - count: the number of contiguous scalars (≥ 0).
    /// - Returns: true when one is NaN or infinite.
    @inlinable
    public static func containsNonFinite<T: LRNNScalar>(_ p: UnsafePointer<T>, count: Int) -> Bool {
        scan(p, count: count).nonFinite
    }

    /// Whether any of `count` scalars at `p` is NaN or +∞ (−∞ allowed: a log-decay reset).
    ///
    /// - Parameters:
    ///   - p: the first scalar.
    ///   - count: the number of contiguous scalars (≥ 0).
    /// - Returns: true when one is NaN or +∞.
    @inlinable
    public static func containsNaNOrPositiveInfinity<T: LRNNScalar>(_ p: UnsafePointer<T>, count: Int) -> Bool {
        scan(p, count: count, allowingNegativeInfinity: true).nonFinite
    }

    /// ``scan(_:count:allowingNegativeInfinity:)`` over a whole tensor; tensors of 2²⁰ elements or
    /// more are scanned in ``Threading/workerCount`` parallel slices (a memory-bound pass that
    /// one core cannot saturate).
    ///
    /// - Parameters:
    ///   - tensor: the tensor to scan.
    ///   - allowingNegativeInfinity: when true, −∞ counts as finite and not positive.
    /// - Returns: whether an element is NaN or ±∞ and whether one is positive.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func scan<T: LRNNScalar>(
        _ tensor: Tensor<T>, allowingNegativeInfinity: Bool = false
    ) -> (nonFinite: Bool, positive: Bool) {
        tensor.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return (false, false) }
            let slices = b.count >= 1 << 20 ? Threading.workerCount : 1
            if slices <= 1 { return scan(base, count: b.count, allowingNegativeInfinity: allowingNegativeInfinity) }
            let per = (b.count + slices - 1) / slices
            var found = [UInt8](repeating: 0, count: slices)
            found.withUnsafeMutableBufferPointer { fb in
                let fp = fb.baseAddress!
                Threading.parallelFor(slices) { i in
                    let lo = i * per
                    let r = scan(
                        base + lo, count: Swift.max(0, Swift.min(per, b.count - lo)),
                        allowingNegativeInfinity: allowingNegativeInfinity)
                    fp[i] = (r.nonFinite ? 1 : 0) | (r.positive ? 2 : 0)
                }
            }
            let all = found.reduce(0, |)
            return (all & 1 != 0, all & 2 != 0)
        }
    }

    /// The bit test over `n` patterns, with the pattern `exempt` (−∞) read as 0.
    @inlinable @inline(__always)
    static func scanBits<U: FixedWidthInteger & UnsignedInteger>(
        _ p: UnsafePointer<U>, _ n: Int, exponentMask: U, exempt: U
    ) -> (nonFinite: Bool, positive: Bool) {
        let signBit: U = 1 << (U.bitWidth - 1)
        let exponentLSB = exponentMask & (~exponentMask &+ 1)
        var bad: U = 0
        var positive: U = 0
        for i in 0..<n {
            let x = p[i] == exempt ? 0 : p[i]
            bad |= (x & exponentMask) &+ exponentLSB
            positive |= ~(x | (x &- 1))
        }
        return (bad & signBit != 0, positive & signBit != 0)
    }

    /// The bit test over `n` patterns.
    @inlinable @inline(__always)
    static func scanBits<U: FixedWidthInteger & UnsignedInteger>(
        _ p: UnsafePointer<U>, _ n: Int, exponentMask: U
    ) -> (nonFinite: Bool, positive: Bool) {
        let signBit: U = 1 << (U.bitWidth - 1)
        let exponentLSB = exponentMask & (~exponentMask &+ 1)
        var bad: U = 0
        var positive: U = 0
        for i in 0..<n {
            let x = p[i]
            bad |= (x & exponentMask) &+ exponentLSB
            positive |= ~(x | (x &- 1))
        }
        return (bad & signBit != 0, positive & signBit != 0)
    }
}

extension Tensor where Scalar: LRNNScalar {
    /// Whether any element is NaN or ±∞ (the vectorised ``NonFiniteScan``).
    public var containsNonFinite: Bool { NonFiniteScan.scan(self).nonFinite }
}
