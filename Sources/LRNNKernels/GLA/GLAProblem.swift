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
            initialState: Tensor<T>?, cuSeqlens: [Int]?
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
            try KernelError.requireFinite(q, "q")
            try KernelError.requireFinite(k, "k")
            try KernelError.requireFinite(v, "v")
            try KernelError.requireFinite(gk, "gk")
            if let s0 = initialState { try KernelError.requireFinite(s0, "initialState") }
            try GLA.requireNonPositive(gk)
            self.batch = b
            self.tokens = t
            self.heads = h
            self.keyDim = dk
            self.valueDim = dv
            self.scale = sc
            self.segments = segments
        }
    }

    /// Throws ``KernelError/invalidArgument(name:reason:)`` naming `gk` when a log-decay is positive
    /// (a positive log-decay would make the state grow without bound; callers pass `log σ(·)` or `−softplus`).
    static func requireNonPositive<T: LRNNScalar>(_ gk: Tensor<T>) throws(KernelError) {
        var worst: T = 0
        for x in gk.scalars where x > worst { worst = x }
        if worst > 0 {
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
