import LRNNKernels
import LRNNLinearAlgebra

/// `lrnn check` for op `gla`: inputs `q`, `k`, `v`, `gk`, optional `h0` and `cu_seqlens`, metadata
/// `scale`; expected outputs `o` and `ht`.
///
/// Each case runs the chunked kernel (`chunk`) and ``GLA/step(q:k:v:gk:scale:state:)`` token by token
/// per sequence (`recurrent`), in Float64 and Float32: one line per path and precision, whose error is
/// the larger of the golden errors of `o` and `ht`.
public enum GLACheck {
    /// The checker registered for op `gla`.
    public static let check: GoldenOpChecker = { file, name in
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
        return [
            line("chunk") {
                let r = try GLA.chunked(
                    q: x.q, k: x.k, v: x.v, gk: x.gk, scale: x.scale, initialState: x.h0, cuSeqlens: x.cuSeqlens)
                return (r.output, r.finalState)
            },
            line("recurrent") { try recurrent(x) },
        ]
    }

    /// Runs ``GLA/step(q:k:v:gk:scale:state:)`` token by token: all batch rows together, or one packed
    /// sequence at a time when `cu_seqlens` is present.
    static func recurrent<T: LRNNScalar>(_ x: Inputs<T>) throws -> (Tensor<T>, Tensor<T>) {
        guard x.q.rank == 4 else {
            throw KernelError.shapeMismatch(tensor: "q", shape: x.q.shape, expected: "[B, T, H, K]")
        }
        let (b, t, h, dk) = (x.q.shape[0], x.q.shape[1], x.q.shape[2], x.q.shape[3])
        // Every tensor is sliced by these extents below: check all of them first.
        try KernelError.requireShape(x.k, x.q.shape, "k")
        try KernelError.requireShape(x.gk, x.q.shape, "gk")
        guard x.v.rank == 4, Array(x.v.shape.prefix(3)) == [b, t, h] else {
            throw KernelError.shapeMismatch(tensor: "v", shape: x.v.shape, expected: "[\(b), \(t), \(h), V]")
        }
        let dv = x.v.shape[3]
        try requireCheckable(states: b, heads: h, dk: dk, dv: dv, tokens: b * t)
        var output = Tensor<T>(zeros: [b, t, h, dv])
        // (batch row, first token, token count) per sequence.
        let sequences: [(Int, Int, Int)]
        if let cu = x.cuSeqlens {
            guard b == 1 else {
                throw KernelError.shapeMismatch(tensor: "q", shape: x.q.shape, expected: "batch size 1 with cu_seqlens")
            }
            let bounds = try KernelError.validateSequenceBoundaries(cu, total: t)
            sequences = (0..<(bounds.count - 1)).map { (0, bounds[$0], bounds[$0 + 1] - bounds[$0]) }
        } else {
            sequences = (0..<b).map { ($0, 0, t) }
        }
        try requireCheckable(states: sequences.count, heads: h, dk: dk, dv: dv, tokens: b * t)
        let stateSize = h * dk * dv
        var finalState = x.h0 ?? Tensor<T>(zeros: [sequences.count, h, dk, dv])
        try KernelError.requireShape(finalState, [sequences.count, h, dk, dv], "h0")
        for (n, (row, start, count)) in sequences.enumerated() {
            let range = (n * stateSize)..<((n + 1) * stateSize)
            var state = Tensor(shape: [1, h, dk, dv], scalars: Array(finalState.scalars[range]))
            for i in start..<(start + count) {
                let o = try GLA.step(
                    q: token(x.q, row, i), k: token(x.k, row, i), v: token(x.v, row, i), gk: token(x.gk, row, i),
                    scale: x.scale, state: &state)
                let first = (row * t + i) * h * dv
                output.scalars.replaceSubrange(first..<(first + h * dv), with: o.scalars)
            }
            finalState.scalars.replaceSubrange(range, with: state.scalars)
        }
        return (output, finalState)
    }

    /// Token `i` of batch row `row` of a `[B, T, H, D]` tensor, as `[1, 1, H, D]`.
    static func token<T>(_ x: Tensor<T>, _ row: Int, _ i: Int) -> Tensor<T> {
        let size = x.shape[2] * x.shape[3]
        let first = (row * x.shape[1] + i) * size
        return Tensor(shape: [1, 1, x.shape[2], x.shape[3]], scalars: Array(x.scalars[first..<(first + size)]))
    }
}
