extension Tensor {
    /// The elements of batch entries `batches` (dimension 0) and positions `tokens` (dimension 1),
    /// as a new tensor `[batches.count, tokens.count, …]` with the trailing dimensions unchanged.
    ///
    /// A `[B, T, H, D]` input gives `[B', T', H, D]`; a `[B, T, H]` input `[B', T', H]`. Used to cut
    /// one token (`tokens: t..<(t + 1)`) or one packed sequence out of a batch.
    ///
    /// - Parameters:
    ///   - batches: the batch entries to keep, inside `0..<shape[0]`.
    ///   - tokens: the positions to keep, inside `0..<shape[1]`.
    /// - Returns: the copied elements, row-major.
    /// - Precondition: rank ≥ 2 and both ranges in bounds.
    public func slice(batches: Range<Int>, tokens: Range<Int>) -> Tensor {
        precondition(rank >= 2, "Tensor.slice: rank \(rank), expected ≥ 2")
        precondition(
            batches.lowerBound >= 0 && batches.upperBound <= shape[0] && tokens.lowerBound >= 0
                && tokens.upperBound <= shape[1],
            "Tensor.slice: batches \(batches), tokens \(tokens) outside shape \(shape)")
        let per = shape.dropFirst(2).reduce(1, *)
        var out: [Scalar] = []
        out.reserveCapacity(batches.count * tokens.count * per)
        for b in batches {
            let first = (b * shape[1] + tokens.lowerBound) * per
            out += scalars[first..<(first + tokens.count * per)]
        }
        var newShape = shape
        newShape[0] = batches.count
        newShape[1] = tokens.count
        return Tensor(shape: newShape, scalars: out)
    }

    /// The entries `range` of dimension 0, as a new tensor `[range.count, …]`: for example the
    /// states `[N', H, K, V]` of some sequences out of `[N, H, K, V]`.
    ///
    /// - Parameter range: the entries to keep, inside `0..<shape[0]`.
    /// - Returns: the copied elements, row-major.
    /// - Precondition: rank ≥ 1 and the range in bounds.
    public func slice(batches range: Range<Int>) -> Tensor {
        precondition(rank >= 1, "Tensor.slice: rank-0 tensor")
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[0],
            "Tensor.slice: batches \(range) outside shape \(shape)")
        let per = shape.dropFirst().reduce(1, *)
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape, scalars: Array(scalars[(range.lowerBound * per)..<(range.upperBound * per)]))
    }

    /// Overwrites batch entries `batches` and positions `tokens` with `values`, the inverse of
    /// ``slice(batches:tokens:)``.
    ///
    /// - Parameters:
    ///   - batches: the batch entries to write, inside `0..<shape[0]`.
    ///   - tokens: the positions to write, inside `0..<shape[1]`.
    ///   - values: `[batches.count, tokens.count, …]` with this tensor's trailing dimensions.
    /// - Precondition: the shapes agree and both ranges are in bounds.
    public mutating func replaceSlice(batches: Range<Int>, tokens: Range<Int>, with values: Tensor) {
        precondition(
            rank >= 2 && values.shape == [batches.count, tokens.count] + shape.dropFirst(2),
            "Tensor.replaceSlice: \(values.shape) into batches \(batches), tokens \(tokens) of \(shape)")
        precondition(
            batches.lowerBound >= 0 && batches.upperBound <= shape[0] && tokens.lowerBound >= 0
                && tokens.upperBound <= shape[1],
            "Tensor.replaceSlice: batches \(batches), tokens \(tokens) outside shape \(shape)")
        let per = shape.dropFirst(2).reduce(1, *)
        let span = tokens.count * per
        for (j, b) in batches.enumerated() {
            let first = (b * shape[1] + tokens.lowerBound) * per
            scalars.replaceSubrange(first..<(first + span), with: values.scalars[(j * span)..<((j + 1) * span)])
        }
    }

    /// Overwrites the entries `range` of dimension 0 with `values`, the inverse of
    /// ``slice(batches:)``.
    ///
    /// - Parameters:
    ///   - range: the entries to write, inside `0..<shape[0]`.
    ///   - values: `[range.count, …]` with this tensor's trailing dimensions.
    /// - Precondition: the shapes agree and the range is in bounds.
    public mutating func replaceSlice(batches range: Range<Int>, with values: Tensor) {
        precondition(
            rank >= 1 && values.shape == [range.count] + shape.dropFirst(),
            "Tensor.replaceSlice: \(values.shape) into batches \(range) of \(shape)")
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[0],
            "Tensor.replaceSlice: batches \(range) outside shape \(shape)")
        let per = shape.dropFirst().reduce(1, *)
        scalars.replaceSubrange((range.lowerBound * per)..<(range.upperBound * per), with: values.scalars)
    }
}
