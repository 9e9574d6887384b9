import LRNNKernels
import LRNNLinearAlgebra

/// Golden checks for the delta-rule family (`delta_rule`, `gated_delta_rule`, `delta_product`).
///
/// Each case runs in Float64 and Float32 on two paths: `chunk`
/// (``DeltaRule/chunked(q:k:v:beta:g:scale:initialState:cuSeqlens:numHouseholder:chunkSize:)``) and
/// `recurrent` (``DeltaRule/step(q:k:v:beta:g:scale:numHouseholder:state:)`` token by token, one
/// packed sequence at a time with `cu_seqlens`). A line's error is the larger of the golden
/// errors of `o` and `ht`, held to ``GoldenCheck/opTolerance(_:)``.
public enum DeltaRuleCheck {
    /// The golden op names this checker handles.
    public static let ops = ["delta_rule", "gated_delta_rule", "delta_product"]

    /// Checks one case: four lines (Float64/Float32 × chunk/recurrent).
    ///
    /// - Throws: ``SafeTensorsError`` when an input or expected tensor is missing or unreadable,
    ///   ``GoldenCaseError`` when `num_householder` is not an integer in 1...64 or `scale` not a finite number.
    public static func check(_ file: SafeTensorsFile, name: String) throws -> [CheckLine] {
        let op = file.metadata["op"] ?? "delta_rule"
        let expectedO = try file.tensor("o", as: Double.self)
        let expectedH = try file.tensor("ht", as: Double.self)
        let n = try file.metadataInteger("num_householder", in: 1...64) ?? 1
        let scale = try file.metadataFiniteNumber("scale")
        let cu = try file.sequenceBoundaries()
        if op == "gated_delta_rule", !file.contains("g") {
            throw GoldenCaseError("\(file.path): op gated_delta_rule without its gate tensor 'g'")
        }
        let context = (name: name, op: op, o: expectedO, ht: expectedH)
        return try lines(file, Double.self, n: n, scale: scale, cu: cu, context)
            + lines(file, Float.self, n: n, scale: scale, cu: cu, context)
    }

    /// The two lines (chunk, recurrent) of one precision.
    static func lines<T: LRNNScalar>(
        _ file: SafeTensorsFile, _: T.Type, n: Int, scale: Double?, cu: [Int]?,
        _ context: (name: String, op: String, o: Tensor<Double>, ht: Tensor<Double>)
    ) throws -> [CheckLine] {
        let precision = T.precisionName
        let tolerance = GoldenCheck.opTolerance(precision)
        return try paths(file, T.self, n: n, scale: scale, cu: cu).map { path, result in
            GoldenCheck.measure(
                name: context.name, op: context.op, precision: precision, path: path, tolerance: tolerance
            ) {
                let (o, ht) = try result.get()
                return [("o", o, context.o), ("ht", ht, context.ht)]
            }
        }
    }

    /// Runs both paths in precision `T`, results as Float64 tensors (or the kernel's error).
    static func paths<T: LRNNScalar>(
        _ file: SafeTensorsFile, _: T.Type, n: Int, scale: Double?, cu: [Int]?
    ) throws -> [(String, Result<(Tensor<T>, Tensor<T>), KernelError>)] {
        let q = try file.tensor("q", as: T.self)
        let k = try file.tensor("k", as: T.self)
        let v = try file.tensor("v", as: T.self)
        let beta = try file.tensor("beta", as: T.self)
        let g = file.contains("g") ? try file.tensor("g", as: T.self) : nil
        let h0 = file.contains("h0") ? try file.tensor("h0", as: T.self) : nil
        let s = scale.map { T($0) }
        // The kernels allocate states from these extents: bound them before either path runs.
        if q.rank == 4, v.rank == 4 {
            let states = cu.map { Swift.max($0.count - 1, 0) } ?? q.shape[0]
            try requireCheckable(
                states: states, heads: q.shape[2], dk: q.shape[3], dv: v.shape[3], tokens: q.shape[0] * q.shape[1])
        }
        let chunk = Result { () throws(KernelError) -> (Tensor<T>, Tensor<T>) in
            let r = try DeltaRule.chunked(
                q: q, k: k, v: v, beta: beta, g: g, scale: s, initialState: h0, cuSeqlens: cu, numHouseholder: n)
            return (r.output, r.finalState)
        }
        let recurrent = Result { () throws(KernelError) -> (Tensor<T>, Tensor<T>) in
            try stepThrough(q: q, k: k, v: v, beta: beta, g: g, scale: s, initialState: h0, cuSeqlens: cu, n: n)
        }
        return [("chunk", chunk), ("recurrent", recurrent)]
    }

    /// The recurrent path: ``DeltaRule/step(q:k:v:beta:g:scale:numHouseholder:state:)`` token by
    /// token, over all batch entries at once, or over one packed sequence at a time with `cu_seqlens`.
    ///
    /// - Throws: ``KernelError`` from the step kernel or for malformed `cu_seqlens` / shapes.
    public static func stepThrough<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>?, scale: T?,
        initialState: Tensor<T>?, cuSeqlens: [Int]?, n: Int
    ) throws(KernelError) -> (Tensor<T>, Tensor<T>) {
        guard q.rank == 4 else { throw .shapeMismatch(tensor: "q", shape: q.shape, expected: "[B, T, H, K]") }
        let (b, t, h, dk) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        guard n >= 1, n <= 64 else {
            throw .invalidArgument(name: "numHouseholder", reason: "must be in 1...64, got \(n)")
        }
        // Every tensor is sliced by these extents below: check all of them first.
        let steps = t * n
        try KernelError.requireShape(k, [b, steps, h, dk], "k")
        guard v.rank == 4, Array(v.shape.prefix(3)) == [b, steps, h] else {
            throw .shapeMismatch(tensor: "v", shape: v.shape, expected: "[\(b), \(steps), \(h), V]")
        }
        let dv = v.shape[3]
        try KernelError.requireShape(beta, [b, steps, h], "beta")
        if let g { try KernelError.requireShape(g, [b, t, h], "g") }
        try requireCheckable(states: b, heads: h, dk: dk, dv: dv, tokens: b * t)
        // Sequences as (first batch entry, batch count, token range).
        var sequences: [(batch: Range<Int>, tokens: Range<Int>)]
        if let cu = cuSeqlens {
            guard b == 1 else { throw .invalidSequenceBoundaries(reason: "requires batch size B = 1, got B = \(b)") }
            let bounds = try KernelError.validateSequenceBoundaries(cu, total: t)
            sequences = (0..<(bounds.count - 1)).map { (0..<1, bounds[$0]..<bounds[$0 + 1]) }
        } else {
            sequences = [(0..<b, 0..<t)]
        }
        let states = cuSeqlens == nil ? b : sequences.count
        try requireCheckable(states: states, heads: h, dk: dk, dv: dv, tokens: b * t)
        if let initialState { try KernelError.requireShape(initialState, [states, h, dk, dv], "initialState") }
        var output = Tensor<T>(zeros: [b, t, h, dv])
        var final = initialState ?? Tensor<T>(zeros: [states, h, dk, dv])
        let stateSize = h * dk * dv
        /// Rows `t·per ..< (t + count)·per` of every batch entry in `range`, as `[B', count, …]`.
        func slice(_ x: Tensor<T>, _ batches: Range<Int>, _ row: Int, _ count: Int) -> Tensor<T> {
            let per = x.count / max(x.shape[0] * x.shape[1], 1)
            var out: [T] = []
            out.reserveCapacity(batches.count * count * per)
            for bi in batches {
                let base = (bi * x.shape[1] + row) * per
                out += x.scalars[base..<(base + count * per)]
            }
            var shape = x.shape
            shape[0] = batches.count
            shape[1] = count
            return Tensor(shape: shape, scalars: out)
        }
        for (si, seq) in sequences.enumerated() {
            let first = cuSeqlens == nil ? 0 : si
            let count = cuSeqlens == nil ? b : 1
            var state = Tensor(
                shape: [count, h, dk, dv],
                scalars: Array(final.scalars[(first * stateSize)..<((first + count) * stateSize)]))
            for tok in seq.tokens {
                let o = try DeltaRule.step(
                    q: slice(q, seq.batch, tok, 1), k: slice(k, seq.batch, tok * n, n),
                    v: slice(v, seq.batch, tok * n, n), beta: slice(beta, seq.batch, tok * n, n),
                    g: g.map { slice($0, seq.batch, tok, 1) }, scale: scale, numHouseholder: n, state: &state)
                for (j, bi) in seq.batch.enumerated() {
                    let dst = (bi * t + tok) * h * dv
                    for e in 0..<(h * dv) { output.scalars[dst + e] = o.scalars[j * h * dv + e] }
                }
            }
            for e in 0..<(count * stateSize) { final.scalars[first * stateSize + e] = state.scalars[e] }
        }
        return (output, final)
    }
}

/// The most elements a golden case may make the checker allocate for one state or output
/// tensor (2²⁸: 2 GiB in Float64), so that a small file with absurd extents is a FAIL line
/// instead of an allocation the process cannot survive.
let maxCheckElements = 1 << 28

/// Refuses a case whose states `[states, H, K, V]` or outputs `[tokens, H, V]` would exceed
/// ``maxCheckElements``.
///
/// - Throws: ``KernelError/invalidArgument(name:reason:)`` naming the extents.
func requireCheckable(states: Int, heads: Int, dk: Int, dv: Int, tokens: Int) throws(KernelError) {
    let (perState, o1) = heads.multipliedReportingOverflow(by: dk)
    let (perState2, o2) = perState.multipliedReportingOverflow(by: dv)
    let (all, o3) = perState2.multipliedReportingOverflow(by: Swift.max(states, 1))
    let (out1, o4) = tokens.multipliedReportingOverflow(by: heads)
    let (out, o5) = out1.multipliedReportingOverflow(by: dv)
    if o1 || o2 || o3 || o4 || o5 || all > maxCheckElements || out > maxCheckElements {
        throw .invalidArgument(
            name: "shapes",
            reason: "states [\(states), \(heads), \(dk), \(dv)] or outputs [\(tokens), \(heads), \(dv)] exceed "
                + "\(maxCheckElements) elements, the most a golden case may ask for")
    }
}
