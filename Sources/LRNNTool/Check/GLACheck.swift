import LRNNKernels
import LRNNLinearAlgebra

/// `lrnn check` for op `gla`: inputs `q`, `k`, `v`, `gk`, optional `h0` and `cu_seqlens`, metadata
/// `scale`; expected outputs `o` and `ht`.
///
/// Each case runs ``GLA/chunked(_:scale:sequences:chunkSize:subChunkSize:)`` (`chunk`) and
/// ``GLA/recurrent(_:scale:sequences:)`` (`recurrent`: the step token by token), in Float64 and Float32: one line per path and precision, whose error is
/// the larger of the golden errors of `o` and `ht`.
package enum GLACheck {
    /// The checker registered for op `gla`.
    package static let check: GoldenOpChecker = { file, name in
        try lines(Double.self, file, name) + lines(Float.self, file, name)
    }

    /// The golden inputs of one case in precision `T`.
    struct Inputs<T: LRNNScalar> {
        var q: Tensor<T>
        var k: Tensor<T>
        var v: Tensor<T>
        var gk: Tensor<T>
        var h0: Tensor<T>?
        var cuSeqlens: [Int]?
        var scale: T?
    }

    /// Both paths of one case in precision `T`.
    static func lines<T: LRNNScalar>(_: T.Type, _ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let x = Inputs<T>(
            q: try file.tensor("q", as: T.self), k: try file.tensor("k", as: T.self),
            v: try file.tensor("v", as: T.self), gk: try file.tensor("gk", as: T.self),
            h0: file.contains("h0") ? try file.tensor("h0", as: T.self) : nil,
            cuSeqlens: try file.sequenceBoundaries(),
            scale: try file.metadataFiniteNumber("scale").map { T($0) })
        // The kernels allocate states from these extents: bound them before either path runs.
        if x.q.rank == 4, x.v.rank == 4 {
            let states = x.cuSeqlens.map { Swift.max($0.count - 1, 0) } ?? x.q.shape[0]
            try requireCheckable(
                states: states, heads: x.q.shape[2], dk: x.q.shape[3], dv: x.v.shape[3],
                tokens: x.q.shape[0] * x.q.shape[1])
        }
        let oRef = try file.tensor("o", as: Double.self)
        let htRef = try file.tensor("ht", as: Double.self)
        let precision = T.precisionName
        let tolerance = GoldenCheck.opTolerance(precision)
        func line(_ path: String, _ run: () throws -> (Tensor<T>, Tensor<T>)) -> CheckLine {
            GoldenCheck.measure(name: name, op: "gla", precision: precision, path: path, tolerance: tolerance) {
                let (o, ht) = try run()
                return [("o", o, oRef), ("ht", ht, htRef)]
            }
        }
        let inputs = GLA.Inputs(q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: x.h0)
        return [
            line("chunk") {
                let r = try GLA.chunked(
                    inputs, scale: x.scale, sequences: KernelError.sequenceBoundaries(x.cuSeqlens))
                return (r.output, r.finalState)
            },
            line("recurrent") {
                let r = try GLA.recurrent(
                    inputs, scale: x.scale, sequences: KernelError.sequenceBoundaries(x.cuSeqlens))
                return (r.output, r.finalState)
            },
        ]
    }
}
