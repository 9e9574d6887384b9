import LRNNKernels
import LRNNLinearAlgebra

/// Golden checks for the delta-rule family (`delta_rule`, `gated_delta_rule`, `delta_product`).
///
/// Each case runs in Float64 and Float32 on two paths: `chunk`
/// (``DeltaRule/chunked(_:scale:numHouseholder:sequences:chunkSize:)``) and `recurrent`
/// (``DeltaRule/recurrent(_:scale:numHouseholder:sequences:)``: the step token by token, one packed
/// sequence at a time with `cu_seqlens`). A line's error is the larger of the golden
/// errors of `o` and `ht`, held to ``GoldenCheck/opTolerance(_:)``.
package enum DeltaRuleCheck {
    /// The golden op names this checker handles.
    package static let ops = ["delta_rule", "gated_delta_rule", "delta_product"]

    /// Checks one case: four lines (Float64/Float32 × chunk/recurrent).
    ///
    /// - Throws: ``SafeTensorsError`` when an input or expected tensor is missing or unreadable,
    ///   ``GoldenCaseError`` when `num_householder` is not an integer in 1...64 or `scale` not a finite number.
    package static func check(_ file: SafeTensorsFile, name: String) throws -> [CheckLine] {
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
        let inputs = DeltaRule.Inputs(q: q, k: k, v: v, beta: beta, g: g, initialState: h0)
        let chunk = Result { () throws(KernelError) -> (Tensor<T>, Tensor<T>) in
            let r = try DeltaRule.chunked(
                inputs, scale: s, numHouseholder: n, sequences: KernelError.sequenceBoundaries(cu))
            return (r.output, r.finalState)
        }
        let recurrent = Result { () throws(KernelError) -> (Tensor<T>, Tensor<T>) in
            let r = try DeltaRule.recurrent(
                inputs, scale: s, numHouseholder: n, sequences: KernelError.sequenceBoundaries(cu))
            return (r.output, r.finalState)
        }
        return [("chunk", chunk), ("recurrent", recurrent)]
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
