import LRNNLinearAlgebra

extension GLA {
    /// One independent sequence of a GLA call: tokens `start ..< start + length` of batch row `batch`.
    /// Segment `n` owns entry `n` of the `[N, H, K, V]` initial and final states.
    struct Segment {
        let batch: Int
        let start: Int
        let length: Int
    }

    /// The validated sizes of a chunked or reference GLA call.
    ///
    /// Checks, in order: ranks and shapes (`q`, `k`, `gk`, `v`, `initialState`), `cuSeqlens`,
    /// `scale`, then finiteness of every tensor, then the sign of `gk` (a log-decay must be ≤ 0).
    /// With `scanInputs` false the values of q, k, v and gk are left to the caller (the chunk
    /// kernel scans them as it reads them; see ``GLA/InputFlags``).
    struct Problem<T: LRNNScalar> {
        let batch: Int
        let tokens: Int
        let heads: Int
        let keyDim: Int
        let valueDim: Int
        let scale: T
        let segments: [Segment]

        /// The number of states (sequences): `cuSeqlens.count − 1`, or `B`.
        var stateCount: Int { segments.count }

        init(
            q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, scale: T?,
            initialState: Tensor<T>?, cuSeqlens: [Int]?, scanInputs: Bool = true
        ) throws(KernelError) {
            guard q.rank == 4 else {
                throw .shapeMismatch(tensor: "q", shape: q.shape, expected: "[B, T, H, K] (rank 4)")
            }
            let (b, t, h, dk) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
            guard dk >= 1 else {
                throw .shapeMismatch(tensor: "q", shape: q.shape, expected: "[B, T, H, K] with K ≥ 1")
            }
            try KernelError.requireShape(k, [b, t, h, dk], "k")
            try KernelError.requireShape(gk, [b, t, h, dk], "gk")
            guard v.rank == 4, v.shape[0] == b, v.shape[1] == t, v.shape[2] == h, v.shape[3] >= 1 else {
                throw .shapeMismatch(tensor: "v", shape: v.shape, expected: "[\(b), \(t), \(h), V] with V ≥ 1")
            }
            let dv = v.shape[3]
            var segments: [Segment] = []
            if let cu = cuSeqlens {
                guard b == 1 else {
                    throw .shapeMismatch(
                        tensor: "q", shape: q.shape, expected: "batch size 1 when cuSeqlens is given")
                }
                let bounds = try KernelError.validateSequenceBoundaries(cu, total: t)
                for n in 0..<(bounds.count - 1) {
                    segments.append(Segment(batch: 0, start: bounds[n], length: bounds[n + 1] - bounds[n]))
                }
            } else {
                for n in 0..<b { segments.append(Segment(batch: n, start: 0, length: t)) }
            }
            if let s0 = initialState {
                try KernelError.requireShape(s0, [segments.count, h, dk, dv], "initialState")
            }
            let sc = scale ?? 1 / T(dk).squareRoot()
            guard sc.isFinite else {
                throw .invalidArgument(name: "scale", reason: "must be finite, got \(sc)")
            }
            if scanInputs {
                try GLA.requireFinite(q, "q")
                try GLA.requireFinite(k, "k")
                try GLA.requireFinite(v, "v")
                try GLA.requireLogDecay(gk)
            }
            if let s0 = initialState { try GLA.requireFinite(s0, "initialState") }
            self.batch = b
            self.tokens = t
            self.heads = h
            self.keyDim = dk
            self.valueDim = dv
            self.scale = sc
            self.segments = segments
        }
    }

    /// Throws ``KernelError/nonFinite(tensor:)`` when `tensor` holds NaN or ±∞.
    static func requireFinite<T: LRNNScalar>(_ tensor: Tensor<T>, _ name: String) throws(KernelError) {
        if scan(tensor).nonFinite { throw .nonFinite(tensor: name) }
    }

    /// What the chunk kernel found in the rows it read: NaN/±∞ in q, k, v or gk, or a positive gk.
    struct InputFlags: OptionSet {
        let rawValue: UInt8
        static let nonFiniteQ = InputFlags(rawValue: 1)
        static let nonFiniteK = InputFlags(rawValue: 2)
        static let nonFiniteV = InputFlags(rawValue: 4)
        static let nonFiniteGK = InputFlags(rawValue: 8)
        static let positiveGK = InputFlags(rawValue: 16)

        /// Throws the error the up-front checks would have thrown first (q, k, v, gk, then the sign of gk).
        func check<T: LRNNScalar>(gk: Tensor<T>) throws(KernelError) {
            if contains(.nonFiniteQ) { throw .nonFinite(tensor: "q") }
            if contains(.nonFiniteK) { throw .nonFinite(tensor: "k") }
            if contains(.nonFiniteV) { throw .nonFinite(tensor: "v") }
            try GLA.requireLogDecay(gk)
        }
    }

    /// Validates log-decays: throws ``KernelError/nonFinite(tensor:)`` for NaN/+∞ and
    /// ``KernelError/invalidArgument(name:reason:)`` naming `gk` for a positive entry (a positive
    /// log-decay would make the state grow without bound; callers pass `log σ(·)` or `−softplus(·)`).
    /// −∞ is allowed: `exp(−∞) = 0` resets the channel's state row before the token's update.
    static func requireLogDecay<T: LRNNScalar>(_ gk: Tensor<T>) throws(KernelError) {
        let r = scan(gk, allowingNegativeInfinity: true)
        if r.nonFinite { throw .nonFinite(tensor: "gk") }
        if r.positive {
            let worst = gk.scalars.reduce(0) { Swift.max($0, $1) }
            throw .invalidArgument(name: "gk", reason: "log-decays must be ≤ 0, found \(worst)")
        }
    }

    /// One branch-free pass over the IEEE bit patterns: whether any element is NaN/±∞ (all exponent
    /// bits set) and whether any is positive (sign clear and not zero). Integer OR-reductions vectorise,
    /// unlike a loop that branches on `isFinite`.
    ///
    /// With `allowingNegativeInfinity`, −∞ counts as finite (the scan of log-decays).
    static func scan<T: LRNNScalar>(
        _ tensor: Tensor<T>, allowingNegativeInfinity: Bool = false
    ) -> (nonFinite: Bool, positive: Bool) {
        tensor.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return (false, false) }
            // Large tensors are scanned in parallel slices (a memory-bound pass that one core cannot
            // saturate), small ones inline.
            let slices = b.count >= 1 << 20 ? Threading.workerCount : 1
            if slices <= 1 { return scanRange(base, b.count, allowingNegativeInfinity: allowingNegativeInfinity) }
            let per = (b.count + slices - 1) / slices
            var found = [UInt8](repeating: 0, count: slices)
            found.withUnsafeMutableBufferPointer { fb in
                let fp = fb.baseAddress!
                Threading.parallelFor(slices) { i in
                    let lo = i * per
                    let r = scanRange(
                        base + lo, Swift.max(0, Swift.min(per, b.count - lo)),
                        allowingNegativeInfinity: allowingNegativeInfinity)
                    fp[i] = (r.nonFinite ? 1 : 0) | (r.positive ? 2 : 0)
                }
            }
            let all = found.reduce(0, |)
            return (all & 1 != 0, all & 2 != 0)
        }
    }

    /// ``scan(_:allowingNegativeInfinity:)`` over `count` contiguous elements.
    static func scanRange<T: LRNNScalar>(
        _ base: UnsafePointer<T>, _ count: Int, allowingNegativeInfinity: Bool = false
    ) -> (nonFinite: Bool, positive: Bool) {
        let raw = UnsafeRawPointer(base)
        if T.self == Float.self {
            let p = raw.assumingMemoryBound(to: UInt32.self)
            if allowingNegativeInfinity {
                return scanBits(p, count, exponentMask: 0x7F80_0000, exempt: (-Float.infinity).bitPattern)
            }
            return scanBits(p, count, exponentMask: 0x7F80_0000)
        } else if T.self == Double.self {
            let p = raw.assumingMemoryBound(to: UInt64.self)
            if allowingNegativeInfinity {
                return scanBits(p, count, exponentMask: 0x7FF0_0000_0000_0000, exempt: (-Double.infinity).bitPattern)
            }
            return scanBits(p, count, exponentMask: 0x7FF0_0000_0000_0000)
        }
        var nonFinite = false
        var positive = false
        for x in UnsafeBufferPointer(start: base, count: count) {
            if !x.isFinite && !(allowingNegativeInfinity && x == -.infinity) { nonFinite = true }
            if x > 0 { positive = true }
        }
        return (nonFinite, positive)
    }

    /// ``scanBits(_:_:exponentMask:)`` with the bit pattern `exempt` (−∞) read as 0.
    @inline(__always)
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

    /// The IEEE test of ``scan(_:)`` as pure bit arithmetic, which vectorises in any context (no
    /// comparisons or branches): with `e` the exponent field, `(x & e) + lsb(e)` carries into the sign
    /// bit exactly when every exponent bit is set (NaN/±∞); `~(x | (x − 1))` has the sign bit set exactly
    /// when the sign bit is clear and x ≠ 0 (a positive number). The sign bits are ORed over the block.
    @inline(__always)
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

    /// A tensor of zeros (built here so that the fill is specialised with the kernel).
    static func zeros<T: LRNNScalar>(_ shape: [Int]) -> Tensor<T> {
        Tensor(shape: shape, scalars: [T](repeating: 0, count: shape.reduce(1, *)))
    }

    /// Validates chunk and sub-chunk sizes (both ≥ 1); returns the sub-chunk size clamped to the chunk size.
    static func validateChunking(_ chunkSize: Int, _ subChunkSize: Int) throws(KernelError) -> (Int, Int) {
        guard chunkSize >= 1 else {
            throw .invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got \(chunkSize)")
        }
        guard subChunkSize >= 1 else {
            throw .invalidArgument(name: "subChunkSize", reason: "must be ≥ 1, got \(subChunkSize)")
        }
        return (chunkSize, Swift.min(subChunkSize, chunkSize))
    }
}
