import LRNNLinearAlgebra

/// The validated sizes of a ParaRNN call (either cell): `x [B, T, Din]`, `A [3, D]`,
/// `B [Hh, Din/Hh, 3, D/Hh]`, `b [3, D]`, the cell's extra tensors and states `[N, D]`.
///
/// Rows: token t of batch entry e is row `e·T + t` of every `[B, T, ·]` tensor. The projection `u`
/// is stored head-major, `[rows, Hh, 3, D/Hh]` (one GEMM per head writes a head's three gates): gate g
/// of channel n = e·D/Hh + j is column `e·3·D/Hh + g·D/Hh + j` = `gateOffsets[n] + g·D/Hh`.
struct ParaRNNProblem {
    let batch: Int
    let tokens: Int
    let inputSize: Int
    let stateSize: Int
    let heads: Int
    let sequences: [PackedSequence]

    /// Din / Hh.
    var headInput: Int { inputSize / heads }
    /// D / Hh.
    var headState: Int { stateSize / heads }
    /// B·T.
    var rows: Int { batch * tokens }
    /// N.
    var stateCount: Int { sequences.count }
    /// The column of gate 0 of every channel n in a row of `u`: `n + 2·(D/Hh)·⌊n / (D/Hh)⌋` (gate g
    /// adds `g·D/Hh`).
    var gateOffsets: [Int] { (0..<stateSize).map { $0 + 2 * headState * ($0 / headState) } }

    /// Checks the shapes of `x`, `A`, `B`, `b` and the sequence boundaries, then the values of all four.
    ///
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)``,
    ///   ``KernelError/invalidSequenceBoundaries(reason:)``, ``KernelError/nonFinite(tensor:)``.
    init<T: LRNNScalar>(
        x: Tensor<T>, A: Tensor<T>, B: Tensor<T>, b: Tensor<T>, sequences boundaries: SequenceBoundaries?
    ) throws(KernelError) {
        guard x.rank == 3, x.shape[2] >= 1 else {
            throw .shapeMismatch(tensor: "x", shape: x.shape, expected: "[B, T, Din] with Din ≥ 1")
        }
        guard A.rank == 2, A.shape[0] == 3, A.shape[1] >= 1 else {
            throw .shapeMismatch(tensor: "A", shape: A.shape, expected: "[3, D] with D ≥ 1")
        }
        let (bt, t, din, d) = (x.shape[0], x.shape[1], x.shape[2], A.shape[1])
        guard B.rank == 4, B.shape[0] >= 1, B.shape[2] == 3, B.shape[0] * B.shape[1] == din,
            B.shape[0] * B.shape[3] == d
        else {
            throw .shapeMismatch(
                tensor: "B", shape: B.shape,
                expected: "[Hh, \(din)/Hh, 3, \(d)/Hh] with Hh ≥ 1 dividing \(din) and \(d)")
        }
        try KernelError.requireShape(b, [3, d], "b")
        batch = bt
        tokens = t
        inputSize = din
        stateSize = d
        heads = B.shape[0]
        sequences = try PackedSequence.resolve(batch: bt, tokens: t, boundaries)
        try KernelError.requireFinite(x, "x")
        try KernelError.requireFinite(A, "A")
        try KernelError.requireFinite(B, "B")
        try KernelError.requireFinite(b, "b")
    }

    /// Checks an optional per-sequence state `[N, D]`: shape, then values.
    func requireState<T: LRNNScalar>(_ s: Tensor<T>?, _ name: String) throws(KernelError) {
        guard let s else { return }
        try KernelError.requireShape(s, [stateCount, stateSize], name)
        try KernelError.requireFinite(s, name)
    }

    /// Checks an output gradient `[B, T, D]`: shape, then values.
    func requireOutputGradient<T: LRNNScalar>(_ g: Tensor<T>?, _ name: String) throws(KernelError) {
        guard let g else { return }
        try KernelError.requireShape(g, [batch, tokens, stateSize], name)
        try KernelError.requireFinite(g, name)
    }

    /// The work chunks of the Newton scans: every sequence's rows cut into pieces of at most
    /// `chunkSize` tokens (empty sequences have none), and each sequence's chunk range.
    func chunks(_ chunkSize: Int) -> (chunks: [ParaRNNChunk], perSequence: [Range<Int>]) {
        var out: [ParaRNNChunk] = []
        var ranges: [Range<Int>] = []
        for (slot, s) in sequences.enumerated() {
            let first = out.count
            var start = s.start
            while start < s.end {
                let end = Swift.min(start + chunkSize, s.end)
                let base = s.batch * tokens
                out.append(
                    ParaRNNChunk(
                        slot: slot, rows: (base + start)..<(base + end), isFirst: start == s.start, isLast: end == s.end
                    ))
                start = end
            }
            ranges.append(first..<out.count)
        }
        return (out, ranges)
    }
}

/// Rows `rows` of sequence `slot`; `isFirst` when they start the sequence (the previous state is the
/// initial state), `isLast` when they end it (the final state's cotangent enters at its last row).
struct ParaRNNChunk: Sendable {
    let slot: Int
    let rows: Range<Int>
    let isFirst: Bool
    let isLast: Bool
}

/// Validates a chunk size (≥ 1).
func requireParaRNNChunkSize(_ chunkSize: Int) throws(KernelError) {
    guard chunkSize >= 1 else {
        throw .invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got \(chunkSize)")
    }
}

/// The largest magnitude of an optional tensor (0 when absent), in Float64.
func paraRNNMaxAbs<T: LRNNScalar>(_ t: Tensor<T>?) -> Double {
    guard let t else { return 0 }
    return Double(t.maxAbs)
}
