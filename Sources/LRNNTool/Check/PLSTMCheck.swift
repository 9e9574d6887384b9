import LRNNKernels
import LRNNLinearAlgebra

/// `lrnn check` for ops `plstm_1d` and `plstm_2d` (the seed-paper cases: each file is a forward and a
/// backward case at once). Each case runs the fast path (`chunked`: ``/LRNNKernels/PLSTM1D/chunked(_:scale:sequences:chunkSize:)``
/// and ``/LRNNKernels/PLSTM1D/backward(_:scale:sequences:chunkSize:outputGradient:finalStateGradient:)``,
/// or the 2-D tiled ``/LRNNKernels/PLSTM2D/chunked(_:scale:chunkSize:)`` and
/// ``/LRNNKernels/PLSTM2D/backward(_:scale:chunkSize:outputGradient:finalStateGradient:)``) and the naive
/// one (`naive`: `reference` and `referenceBackward`), in Float64 and Float32: one line per path and
/// precision, whose error is the largest golden error over the outputs and every gradient.
package enum PLSTMCheck {
    /// The checker registered for op `plstm_1d`.
    package static let check1D: GoldenOpChecker = { file, name in
        try lines1D(Double.self, file, name) + lines1D(Float.self, file, name)
    }

    /// The checker registered for op `plstm_2d`.
    package static let check2D: GoldenOpChecker = { file, name in
        try lines2D(Double.self, file, name) + lines2D(Float.self, file, name)
    }

    /// The most state elements a case may make the kernels hold at once (256 MB in Float64): far
    /// above every golden case, and low enough that a file cannot make `lrnn check` allocate
    /// gigabytes.
    static let maxStateElements = 1 << 25

    /// The states a case asks for stay within ``maxStateElements`` (the kernels allocate them from
    /// the inputs' extents: `count` states of DK × DV × JT at once).
    static func requireBoundedStates(count: Int, q: Tensor<some Any>, v: Tensor<some Any>, jt: Int) throws(KernelError)
    {
        guard q.rank >= 2, v.rank >= 2 else { return }
        let dk = q.shape[q.rank - 2]
        let dv = v.shape[v.rank - 2]
        var total = 1
        var overflow = false
        for f in [count, dk, dv, jt] {
            let (p, o) = total.multipliedReportingOverflow(by: Swift.max(f, 1))
            total = p
            overflow = overflow || o
        }
        if overflow || total > maxStateElements {
            throw .invalidArgument(
                name: "shapes", reason: "states of \(count) × \(dk) × \(dv) × \(jt) exceed \(maxStateElements) elements"
            )
        }
    }

    static func lines1D<T: LRNNScalar>(_: T.Type, _ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        func optional(_ n: String) throws -> Tensor<T>? { file.contains(n) ? try file.tensor(n, as: T.self) : nil }
        let x = PLSTM1D.Inputs(
            q: try file.tensor("q", as: T.self), k: try file.tensor("k", as: T.self),
            v: try file.tensor("v", as: T.self),
            S: try file.tensor("S", as: T.self), T: try file.tensor("T", as: T.self),
            M: try file.tensor("M", as: T.self),
            D: try file.tensor("D", as: T.self), C0: try optional("C0"))
        let scale = try file.metadataFiniteNumber("scale").map { T($0) }
        let dy = try optional("dy")
        let dC = try optional("dC_last")
        if x.q.rank == 5, x.T.rank == 5 {
            // One state per sequence and head for every chunk start (the backward keeps them), plus
            // the running ones.
            let chunks = (x.q.shape[1] + PLSTM1D.defaultChunkSize - 1) / PLSTM1D.defaultChunkSize
            try requireBoundedStates(
                count: x.q.shape[0] * x.q.shape[2] * (chunks + 4), q: x.q, v: x.v, jt: x.T.shape[3])
        }
        var names = ["y", "C_last", "dq", "dk", "dv", "dS", "dT", "dM", "dD"]
        if file.contains("dC0") || x.C0 != nil { names.append("dC0") }
        let expected = try names.map { ($0, try file.tensor($0, as: Double.self)) }
        let precision = T.precisionName
        let tolerance = GoldenCheck.opTolerance(precision)
        func line(_ path: String, _ run: () throws -> [Tensor<T>]) -> CheckLine {
            GoldenCheck.measure(name: name, op: "plstm_1d", precision: precision, path: path, tolerance: tolerance) {
                let computed = try run()
                guard computed.count == expected.count else {
                    throw GoldenCaseError("\(name): C0 and dC0 must be present together")
                }
                return zip(expected, computed).map { ($0.0, $1, $0.1) }
            }
        }
        func flatten(_ f: (output: Tensor<T>, finalState: Tensor<T>), _ g: PLSTM1D.Inputs<T>) -> [Tensor<T>] {
            [f.output, f.finalState, g.q, g.k, g.v, g.S, g.T, g.M, g.D] + (g.C0.map { [$0] } ?? [])
        }
        return [
            line("chunk") {
                flatten(
                    try PLSTM1D.chunked(x, scale: scale),
                    try PLSTM1D.backward(x, scale: scale, outputGradient: dy, finalStateGradient: dC))
            },
            line("naive") {
                flatten(
                    try PLSTM1D.reference(x, scale: scale),
                    try PLSTM1D.referenceBackward(x, scale: scale, outputGradient: dy, finalStateGradient: dC))
            },
        ]
    }

    static func lines2D<T: LRNNScalar>(_: T.Type, _ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        func optional(_ n: String) throws -> Tensor<T>? { file.contains(n) ? try file.tensor(n, as: T.self) : nil }
        let x = PLSTM2D.Inputs(
            q: try file.tensor("q", as: T.self), k: try file.tensor("k", as: T.self),
            v: try file.tensor("v", as: T.self),
            S_r: try file.tensor("S_r", as: T.self), S_d: try file.tensor("S_d", as: T.self),
            T_rl: try file.tensor("T_rl", as: T.self), T_du: try file.tensor("T_du", as: T.self),
            T_ru: try optional("T_ru"), T_dl: try optional("T_dl"), M_l: try file.tensor("M_l", as: T.self),
            M_u: try file.tensor("M_u", as: T.self), D: try file.tensor("D", as: T.self),
            C_left: try optional("C_left"),
            C_top: try optional("C_top"))
        let scale = try file.metadataFiniteNumber("scale").map { T($0) }
        let dy = try optional("dy")
        var dC: PLSTM2D.BoundaryStates<T>? = nil
        switch (try optional("dC_right"), try optional("dC_bottom")) {
        case let (right?, bottom?): dC = PLSTM2D.BoundaryStates(right: right, bottom: bottom)
        case (nil, nil): break
        default: throw GoldenCaseError("\(name): dC_right and dC_bottom must be present together")
        }
        if x.q.rank == 6, x.T_rl.rank == 6 {
            let (b, gx, gy, h) = (x.q.shape[0], x.q.shape[1], x.q.shape[2], x.q.shape[3])
            // The tile-boundary states: (tiles + 1) per row and column, at most X + 1 and Y + 1.
            try requireBoundedStates(count: b * h * 2 * (gx + 1) * (gy + 1), q: x.q, v: x.v, jt: x.T_rl.shape[4])
        }
        var names = ["y", "C_right", "C_bottom", "dq", "dk", "dv", "dS_r", "dS_d", "dT_rl", "dT_du"]
        if x.T_ru != nil { names.append("dT_ru") }
        if x.T_dl != nil { names.append("dT_dl") }
        names += ["dM_l", "dM_u", "dD"]
        if x.C_left != nil { names += ["dC_left", "dC_top"] }
        let expected = try names.map { ($0, try file.tensor($0, as: Double.self)) }
        let precision = T.precisionName
        let tolerance = GoldenCheck.opTolerance(precision)
        func line(_ path: String, _ run: () throws -> [Tensor<T>]) -> CheckLine {
            GoldenCheck.measure(name: name, op: "plstm_2d", precision: precision, path: path, tolerance: tolerance) {
                zip(expected, try run()).map { ($0.0, $1, $0.1) }
            }
        }
        func flatten(_ f: (output: Tensor<T>, finalState: PLSTM2D.BoundaryStates<T>), _ g: PLSTM2D.Inputs<T>)
            -> [Tensor<T>]
        {
            var out = [f.output, f.finalState.right, f.finalState.bottom, g.q, g.k, g.v, g.S_r, g.S_d, g.T_rl, g.T_du]
            out += [g.T_ru, g.T_dl].compactMap { $0 } + [g.M_l, g.M_u, g.D] + [g.C_left, g.C_top].compactMap { $0 }
            return out
        }
        return [
            line("chunk") {
                flatten(
                    try PLSTM2D.chunked(x, scale: scale),
                    try PLSTM2D.backward(x, scale: scale, outputGradient: dy, finalStateGradient: dC))
            },
            line("naive") {
                flatten(
                    try PLSTM2D.reference(x, scale: scale),
                    try PLSTM2D.referenceBackward(x, scale: scale, outputGradient: dy, finalStateGradient: dC))
            },
        ]
    }
}
