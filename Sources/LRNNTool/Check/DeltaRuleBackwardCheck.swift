import LRNNKernels
import LRNNLinearAlgebra

/// Golden checks for the delta-rule family's backward cases (`delta_rule_backward`,
/// `gated_delta_rule_backward`, `delta_product_backward`; FORMAT.md, "Backward cases").
///
/// Each case runs in Float64 and Float32 on three paths: `chunk` (the chunked forward and
/// ``DeltaRule/backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:)``),
/// `saved` (the training forward
/// ``DeltaRule/chunked(_:scale:numHouseholder:sequences:chunkSize:output:finalState:saving:)`` and
/// the backward from its saved values,
/// ``DeltaRule/backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:workspace:gradients:saved:)``)
/// and `naive` (the reference forward and
/// ``DeltaRule/referenceBackward(_:scale:numHouseholder:sequences:outputGradient:finalStateGradient:)``).
/// The cotangents are the case's `do` and optional `dht`. A line's error is the largest golden
/// error over `o`, `ht` and every gradient (`dq`, `dk`, `dv`, `dbeta`, `dg` when `g` is present,
/// `dh0` when `h0` is), held to ``GoldenCheck/opTolerance(_:)``.
package enum DeltaRuleBackwardCheck {
    /// The golden op names this checker handles.
    package static let ops = ["delta_rule_backward", "gated_delta_rule_backward", "delta_product_backward"]

    /// Checks one case: six lines (Float64/Float32 × chunk/saved/naive).
    ///
    /// - Parameters:
    ///   - file: the case file.
    ///   - name: the case name printed on its lines.
    /// - Returns: the case's six lines.
    /// - Throws: ``SafeTensorsError`` when an input, cotangent or expected tensor is missing or
    ///   unreadable, ``GoldenCaseError`` when `num_householder` is not an integer in 1...64, `scale`
    ///   not a finite number, or a gated op lacks `g`.
    package static func check(_ file: SafeTensorsFile, name: String) throws -> [CheckLine] {
        let op = file.metadata["op"] ?? "delta_rule_backward"
        let n = try file.metadataInteger("num_householder", in: 1...64) ?? 1
        let scale = try file.metadataFiniteNumber("scale")
        let cu = try file.sequenceBoundaries()
        if op == "gated_delta_rule_backward", !file.contains("g") {
            throw GoldenCaseError("\(file.path): op gated_delta_rule_backward without its gate tensor 'g'")
        }
        var expected: [(String, Tensor<Double>)] = [
            ("o", try file.tensor("o", as: Double.self)), ("ht", try file.tensor("ht", as: Double.self)),
            ("dq", try file.tensor("dq", as: Double.self)), ("dk", try file.tensor("dk", as: Double.self)),
            ("dv", try file.tensor("dv", as: Double.self)), ("dbeta", try file.tensor("dbeta", as: Double.self)),
        ]
        if file.contains("g") { expected.append(("dg", try file.tensor("dg", as: Double.self))) }
        if file.contains("h0") { expected.append(("dh0", try file.tensor("dh0", as: Double.self))) }
        return try lines(file, Double.self, n: n, scale: scale, cu: cu, name: name, op: op, expected)
            + lines(file, Float.self, n: n, scale: scale, cu: cu, name: name, op: op, expected)
    }

    /// The three lines (chunk, saved, naive) of one precision.
    static func lines<T: LRNNScalar>(
        _ file: SafeTensorsFile, _: T.Type, n: Int, scale: Double?, cu: [Int]?, name: String, op: String,
        _ expected: [(String, Tensor<Double>)]
    ) throws -> [CheckLine] {
        let precision = T.precisionName
        let tolerance = GoldenCheck.opTolerance(precision)
        let inputs = DeltaRule.Inputs<T>(
            q: try file.tensor("q", as: T.self), k: try file.tensor("k", as: T.self),
            v: try file.tensor("v", as: T.self), beta: try file.tensor("beta", as: T.self),
            g: file.contains("g") ? try file.tensor("g", as: T.self) : nil,
            initialState: file.contains("h0") ? try file.tensor("h0", as: T.self) : nil)
        let dO = try file.tensor("do", as: T.self)
        let dht = file.contains("dht") ? try file.tensor("dht", as: T.self) : nil
        let s = scale.map { T($0) }
        return ["chunk", "saved", "naive"].map { path in
            GoldenCheck.measure(name: name, op: op, precision: precision, path: path, tolerance: tolerance) {
                let r = try run(inputs, path: path, scale: s, n: n, cu: cu, dO: dO, dht: dht)
                var computed: [String: Tensor<T>] = [
                    "o": r.output, "ht": r.finalState, "dq": r.gradient.q, "dk": r.gradient.k, "dv": r.gradient.v,
                    "dbeta": r.gradient.beta,
                ]
                computed["dg"] = r.gradient.g
                computed["dh0"] = r.gradient.initialState
                return try expected.map { tensorName, golden in
                    guard let x = computed[tensorName] else {
                        throw GoldenCaseError("\(file.path): no computed '\(tensorName)' (its input is absent)")
                    }
                    return (tensorName, x, golden)
                }
            }
        }
    }

    /// One path's forward and backward: `chunk` (chunked forward, chunked backward), `saved`
    /// (training forward, backward from its saved values) or `naive` (reference forward, reference
    /// backward).
    ///
    /// - Throws: ``KernelError`` from the kernels, for malformed `cu_seqlens`, or for extents
    ///   beyond what a golden case may ask for.
    static func run<T: LRNNScalar>(
        _ x: DeltaRule.Inputs<T>, path: String, scale: T?, n: Int, cu: [Int]?, dO: Tensor<T>, dht: Tensor<T>?
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>, gradient: DeltaRule.Inputs<T>) {
        let sequences: SequenceBoundaries?
        do {
            sequences = try cu.map { c throws(SequenceBoundariesError) in try SequenceBoundaries(c) }
        } catch {
            throw KernelError(error)
        }
        // The kernels allocate states (and the naive backward one state per step) from these extents.
        if x.q.rank == 4, x.v.rank == 4 {
            let states = sequences?.count ?? x.q.shape[0]
            let (b, t, h, dk, dv) = (x.q.shape[0], x.q.shape[1], x.q.shape[2], x.q.shape[3], x.v.shape[3])
            try requireCheckable(states: states, heads: h, dk: dk, dv: dv, tokens: b * t)
            let (steps, overflow) = t.multipliedReportingOverflow(by: n)
            if overflow { throw .invalidArgument(name: "shapes", reason: "T·n overflows") }
            try requireCheckable(states: steps, heads: 1, dk: dk, dv: dv, tokens: 0)
        }
        if path == "chunk" {
            let f = try DeltaRule.chunked(
                q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, scale: scale, initialState: x.initialState,
                cuSeqlens: sequences?.offsets, numHouseholder: n)
            let grad = try DeltaRule.backward(
                x, scale: scale, numHouseholder: n, sequences: sequences, outputGradient: dO, finalStateGradient: dht)
            return (f.output, f.finalState, grad)
        }
        if path == "saved" {
            let p = try DeltaRule.chunked(x, scale: scale, numHouseholder: n, sequences: sequences)
            var output = p.output
            var finalState = p.finalState
            let saved = DeltaRule.Saved<T>()
            try DeltaRule.chunked(
                x, scale: scale, numHouseholder: n, sequences: sequences, output: &output, finalState: &finalState,
                saving: saved)
            var grad = DeltaRule.Inputs<T>(
                q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), beta: Tensor(zeros: [0]))
            try DeltaRule.backward(
                x, scale: scale, numHouseholder: n, sequences: sequences, outputGradient: dO, finalStateGradient: dht,
                workspace: BackwardWorkspace(), gradients: &grad, saved: saved)
            return (output, finalState, grad)
        }
        let f = try DeltaRule.reference(
            q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, scale: scale, initialState: x.initialState,
            cuSeqlens: sequences?.offsets, numHouseholder: n)
        let grad = try DeltaRule.referenceBackward(
            x, scale: scale, numHouseholder: n, sequences: sequences, outputGradient: dO, finalStateGradient: dht)
        return (f.output, f.finalState, grad)
    }
}
