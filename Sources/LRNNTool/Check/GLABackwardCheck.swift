import LRNNKernels
import LRNNLinearAlgebra

/// `lrnn check` for op `gla_backward`: the inputs of op `gla` (`q`, `k`, `v`, `gk`, optional `h0` and
/// `cu_seqlens`, metadata `scale`), the cotangents `do` and optional `dht`; expected `o`, `ht`, `dq`,
/// `dk`, `dv`, `dgk` and, with `h0`, `dh0`.
///
/// Each case runs the chunked forward and backward (`chunk`: ``/LRNNKernels/GLA/chunked(q:k:v:gk:scale:initialState:cuSeqlens:chunkSize:subChunkSize:)``
/// and ``/LRNNKernels/GLA/backward(_:scale:sequences:chunkSize:subChunkSize:outputGradient:finalStateGradient:)``)
/// the training forward and the backward from its saved states (`saved`:
/// ``/LRNNKernels/GLA/chunked(_:scale:sequences:chunkSize:subChunkSize:output:finalState:saving:)`` and
/// ``/LRNNKernels/GLA/backward(_:scale:sequences:chunkSize:subChunkSize:outputGradient:finalStateGradient:workspace:gradients:saved:)``)
/// and the naive ones (`naive`: ``/LRNNKernels/GLA/reference(q:k:v:gk:scale:initialState:cuSeqlens:)`` and
/// ``/LRNNKernels/GLA/referenceBackward(_:scale:sequences:outputGradient:finalStateGradient:)``), in
/// Float64 and Float32: one line per path and precision, whose error is the largest golden error of
/// `o`, `ht` and every gradient.
package enum GLABackwardCheck {
    /// The checker registered for op `gla_backward`.
    package static let check: GoldenOpChecker = { file, name in
        try lines(Double.self, file, name) + lines(Float.self, file, name)
    }

    /// The three paths (chunk, saved, naive) of one case in precision `T`.
    static func lines<T: LRNNScalar>(_: T.Type, _ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let x = GLA.Inputs<T>(
            q: try file.tensor("q", as: T.self), k: try file.tensor("k", as: T.self),
            v: try file.tensor("v", as: T.self), gk: try file.tensor("gk", as: T.self),
            initialState: file.contains("h0") ? try file.tensor("h0", as: T.self) : nil)
        let cu = try file.sequenceBoundaries()
        let scale = try file.metadataFiniteNumber("scale").map { T($0) }
        let outputGradient = try file.tensor("do", as: T.self)
        let finalStateGradient = file.contains("dht") ? try file.tensor("dht", as: T.self) : nil
        // The kernels allocate states from these extents: bound them before either path runs.
        if x.q.rank == 4, x.v.rank == 4 {
            let states = cu.map { Swift.max($0.count - 1, 0) } ?? x.q.shape[0]
            try requireCheckable(
                states: states, heads: x.q.shape[2], dk: x.q.shape[3], dv: x.v.shape[3],
                tokens: x.q.shape[0] * x.q.shape[1])
        }
        var expected: [(String, Tensor<Double>)] = []
        for tensor in ["o", "ht", "dq", "dk", "dv", "dgk"] {
            expected.append((tensor, try file.tensor(tensor, as: Double.self)))
        }
        let expectedH0 = file.contains("dh0") ? try file.tensor("dh0", as: Double.self) : nil
        let precision = T.precisionName
        let tolerance = GoldenCheck.opTolerance(precision)
        func line(_ path: String, _ run: () throws -> (Tensor<T>, Tensor<T>, GLA.Inputs<T>)) -> CheckLine {
            GoldenCheck.measure(name: name, op: "gla_backward", precision: precision, path: path, tolerance: tolerance)
            {
                let (o, ht, g) = try run()
                let computed = [o, ht, g.q, g.k, g.v, g.gk]
                var triples = zip(expected, computed).map { ($0.0, $1, $0.1) }
                switch (g.initialState, expectedH0) {
                case let (dh0?, ref?): triples.append(("dh0", dh0, ref))
                case (nil, nil): break
                case (_?, nil): throw GoldenCaseError("\(name): h0 is present but the case has no dh0")
                case (nil, _?): throw GoldenCaseError("\(name): the case has dh0 but no h0")
                }
                return triples
            }
        }
        // Malformed boundaries become the kernels' error on each line.
        func boundaries() throws(KernelError) -> SequenceBoundaries? {
            guard let cu else { return nil }
            do { return try SequenceBoundaries(cu) } catch { throw KernelError(error) }
        }
        return [
            line("chunk") {
                let r = try GLA.chunked(
                    q: x.q, k: x.k, v: x.v, gk: x.gk, scale: scale, initialState: x.initialState, cuSeqlens: cu)
                let g = try GLA.backward(
                    x, scale: scale, sequences: try boundaries(), outputGradient: outputGradient,
                    finalStateGradient: finalStateGradient)
                return (r.output, r.finalState, g)
            },
            line("saved") {
                let sequences = try boundaries()
                let r = try GLA.chunked(x, scale: scale, sequences: sequences)
                var output = r.output
                var finalState = r.finalState
                let saved = GLA.Saved<T>()
                try GLA.chunked(
                    x, scale: scale, sequences: sequences, output: &output, finalState: &finalState, saving: saved)
                var g = GLA.Inputs<T>(
                    q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), gk: Tensor(zeros: [0]))
                try GLA.backward(
                    x, scale: scale, sequences: sequences, outputGradient: outputGradient,
                    finalStateGradient: finalStateGradient, workspace: BackwardWorkspace(), gradients: &g, saved: saved)
                return (output, finalState, g)
            },
            line("naive") {
                let r = try GLA.reference(
                    q: x.q, k: x.k, v: x.v, gk: x.gk, scale: scale, initialState: x.initialState, cuSeqlens: cu)
                let g = try GLA.referenceBackward(
                    x, scale: scale, sequences: try boundaries(), outputGradient: outputGradient,
                    finalStateGradient: finalStateGradient)
                return (r.output, r.finalState, g)
            },
        ]
    }
}
