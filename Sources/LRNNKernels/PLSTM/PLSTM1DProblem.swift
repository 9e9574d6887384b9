import LRNNLinearAlgebra

extension PLSTM1D {
    /// The validated sizes of a pLSTM 1-D call.
    ///
    /// Checks, in order: the ranks and shapes of `q`, `k`, `v`, `T`, `M`, `S`, `D` (the J sizes are
    /// read from `q`, `k`, `v`, `T` and `M`), the boundaries, `C0`, `scale`, then the finiteness of every
    /// tensor.
    struct Problem<Scalar: LRNNScalar> {
        let batch: Int
        let tokens: Int
        let heads: Int
        let cell: PLSTMCell<Scalar>
        let scale: Scalar
        let sequences: [PackedSequence]

        /// The number of states (sequences).
        var stateCount: Int { sequences.count }

        init(_ x: Inputs<Scalar>, scale: Scalar?, sequences boundaries: SequenceBoundaries?) throws(KernelError) {
            guard x.q.rank == 5, x.q.shape[3] >= 1, x.q.shape[4] >= 1 else {
                throw .shapeMismatch(tensor: "q", shape: x.q.shape, expected: "[B, T, H, DK, JQ] with DK, JQ ≥ 1")
            }
            let (b, t, h, dk, jq) = (x.q.shape[0], x.q.shape[1], x.q.shape[2], x.q.shape[3], x.q.shape[4])
            guard x.k.rank == 5, Array(x.k.shape[0..<4]) == [b, t, h, dk], x.k.shape[4] >= 1 else {
                throw .shapeMismatch(
                    tensor: "k", shape: x.k.shape, expected: "[\(b), \(t), \(h), \(dk), JK] with JK ≥ 1")
            }
            let jk = x.k.shape[4]
            guard x.v.rank == 5, Array(x.v.shape[0..<3]) == [b, t, h], x.v.shape[3] >= 1, x.v.shape[4] >= 1 else {
                throw .shapeMismatch(
                    tensor: "v", shape: x.v.shape, expected: "[\(b), \(t), \(h), DV, JV] with DV, JV ≥ 1")
            }
            let (dv, jv) = (x.v.shape[3], x.v.shape[4])
            guard x.T.rank == 5, Array(x.T.shape[0..<3]) == [b, t, h], x.T.shape[3] >= 1, x.T.shape[4] == x.T.shape[3]
            else {
                throw .shapeMismatch(tensor: "T", shape: x.T.shape, expected: "[\(b), \(t), \(h), JT, JT] with JT ≥ 1")
            }
            let jt = x.T.shape[3]
            guard x.M.rank == 6, Array(x.M.shape[0..<3]) == [b, t, h], x.M.shape[3] >= 1, x.M.shape[4] == jq,
                x.M.shape[5] == jt
            else {
                throw .shapeMismatch(
                    tensor: "M", shape: x.M.shape, expected: "[\(b), \(t), \(h), JO, \(jq), \(jt)] with JO ≥ 1")
            }
            let jo = x.M.shape[3]
            try KernelError.requireShape(x.S, [b, t, h, jt, jk, jv], "S")
            try KernelError.requireShape(x.D, [b, t, h, jo, jq, jk, jv], "D")
            let sequences = try PackedSequence.resolve(batch: b, tokens: t, boundaries)
            if let c0 = x.C0 { try KernelError.requireShape(c0, [sequences.count, h, dk, dv, jt], "C0") }
            let sc = scale ?? 1 / Scalar(dk).squareRoot()
            guard sc.isFinite else { throw .invalidArgument(name: "scale", reason: "must be finite, got \(sc)") }
            for (tensor, name) in [(x.q, "q"), (x.k, "k"), (x.v, "v"), (x.S, "S"), (x.T, "T"), (x.M, "M"), (x.D, "D")] {
                try KernelError.requireFinite(tensor, name)
            }
            if let c0 = x.C0 { try KernelError.requireFinite(c0, "C0") }
            self.batch = b
            self.tokens = t
            self.heads = h
            self.cell = PLSTMCell(dk: dk, dv: dv, jq: jq, jk: jk, jv: jv, jt: jt, jo: jo)
            self.scale = sc
            self.sequences = sequences
        }

        /// The output shape `[B, T, H, DV, JO]`.
        var outputShape: [Int] { [batch, tokens, heads, cell.dv, cell.jo] }
        /// The state shape `[N, H, DK, DV, JT]`.
        var stateShape: [Int] { [stateCount, heads, cell.dk, cell.dv, cell.jt] }

        /// Validates the cotangents of a backward call.
        func validateCotangents(outputGradient: Tensor<Scalar>?, finalStateGradient: Tensor<Scalar>?)
            throws(KernelError)
        {
            if let dy = outputGradient {
                try KernelError.requireShape(dy, outputShape, "outputGradient")
                try KernelError.requireFinite(dy, "outputGradient")
            }
            if let dc = finalStateGradient {
                try KernelError.requireShape(dc, stateShape, "finalStateGradient")
                try KernelError.requireFinite(dc, "finalStateGradient")
            }
        }
    }

    /// Validates a chunk size (≥ 1).
    static func validateChunkSize(_ chunkSize: Int) throws(KernelError) {
        guard chunkSize >= 1 else { throw .invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got \(chunkSize)") }
    }
}

/// A zero-filled scratch or result buffer owned by one kernel call (freed with the last reference).
final class PLSTMBuffer<Scalar: LRNNScalar> {
    /// The first element.
    let pointer: UnsafeMutablePointer<Scalar>
    /// The number of elements.
    let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Scalar>.allocate(capacity: Swift.max(count, 1))
        pointer.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    deinit { pointer.deallocate() }

    /// A tensor holding a copy of the elements.
    func tensor(_ shape: [Int]) -> Tensor<Scalar> {
        precondition(shape.reduce(1, *) == count, "PLSTMBuffer: \(count) elements for shape \(shape)")
        return Tensor(shape: shape, scalars: Array(UnsafeBufferPointer(start: pointer, count: count)))
    }
}

/// Runs `body` with read-only base pointers to the elements of `tensors`, in order (an empty
/// tensor's pointer is never read).
func withPLSTMPointers<Scalar: LRNNScalar, R>(
    _ tensors: [Tensor<Scalar>], _ body: ([UnsafePointer<Scalar>]) -> R
) -> R {
    var pointers: [UnsafePointer<Scalar>] = []
    pointers.reserveCapacity(tensors.count)
    let emptyBase = UnsafeMutablePointer<Scalar>.allocate(capacity: 1)
    emptyBase.initialize(to: 0)
    defer { emptyBase.deallocate() }
    func nest(_ i: Int) -> R {
        if i == tensors.count { return body(pointers) }
        return tensors[i].withUnsafeBufferPointer { buffer in
            pointers.append(buffer.baseAddress ?? UnsafePointer(emptyBase))
            return nest(i + 1)
        }
    }
    return nest(0)
}
