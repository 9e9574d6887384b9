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
            initialState: Tensor<T>?, sequences boundaries: SequenceBoundaries?, scanInputs: Bool = true
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
            let segments = try PackedSequence.resolve(batch: b, tokens: t, boundaries).map {
                Segment(batch: $0.batch, start: $0.start, length: $0.length)
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

        /// ``init(q:k:v:gk:scale:initialState:sequences:scanInputs:)`` with the boundaries as fla's
        /// `cu_seqlens` list (validated first).
        init(
            q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, scale: T?,
            initialState: Tensor<T>?, cuSeqlens: [Int]?, scanInputs: Bool = true
        ) throws(KernelError) {
            try self.init(
                q: q, k: k, v: v, gk: gk, scale: scale, initialState: initialState,
                sequences: KernelError.sequenceBoundaries(cuSeqlens), scanInputs: scanInputs)
        }
    }

    /// Throws ``KernelError/nonFinite(tensor:)`` when `tensor` holds NaN or ±∞.
    static func requireFinite<T: LRNNScalar>(_ tensor: Tensor<T>, _ name: String) throws(KernelError) {
        try KernelError.requireFinite(tensor, name)
    }

    /// What the chunk kernel found in the rows it read: NaN/±∞ in q, k, v or gk, or a positive gk.
    struct InputFlags: OptionSet {
        let rawValue: UInt8
        static let nonFiniteQ = InputFlags(rawValue: 1)
        static let nonFiniteK = InputFlags(rawValue: 2)
        static let nonFiniteV = InputFlags(rawValue: 4)
        static let nonFiniteGK = InputFlags(rawValue: 8)
        static let positiveGK = InputFlags(rawValue: 16)
        /// A NaN or ±∞ in the output cotangent dO (the backward's fused scan).
        static let nonFiniteOutputGradient = InputFlags(rawValue: 32)

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
        let r = NonFiniteScan.scan(gk, allowingNegativeInfinity: true)
        if r.nonFinite { throw .nonFinite(tensor: "gk") }
        if r.positive {
            let worst = gk.scalars.reduce(0) { Swift.max($0, $1) }
            throw .invalidArgument(name: "gk", reason: "log-decays must be ≤ 0, found \(worst)")
        }
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
