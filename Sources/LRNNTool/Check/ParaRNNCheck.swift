import LRNNKernels
import LRNNLinearAlgebra

/// `lrnn check` for ops `pararnn_gru` and `pararnn_lstm` (ParaRNN's ParaGRU and ParaLSTM): inputs `x`,
/// `A`, `B`, `b` (and `C` for the LSTM), optional `h0` (and `c0`), the cotangent `dh`; expected `h`
/// (and `c`), `dx`, `dA`, `dB`, `db` (and `dC`), and `dh0` (`dc0`) with an initial state.
///
/// Each case runs the Newton-parallel forward and the chunked backward (`newton`:
/// ``/LRNNKernels/ParaGRU/chunked(_:newton:sequences:chunkSize:)``,
/// ``/LRNNKernels/ParaGRU/backward(_:newton:sequences:chunkSize:outputGradient:finalStateGradient:)`` and
/// their ``/LRNNKernels/ParaLSTM`` counterparts) and the naive ones (`naive`: `reference`,
/// `referenceBackward`), in Float64 and Float32: one line per path and precision, whose error is the
/// largest golden error of the outputs and every gradient. A Newton line's note gives the iterations
/// used (``/LRNNTool/CheckLine/info``); a Newton forward that did not converge (and fell back to the sequential solve) fails its line.
package enum ParaRNNCheck {
    /// The checker registered for op `pararnn_gru`.
    package static let gru: GoldenOpChecker = { file, name in
        try gruLines(Double.self, file, name) + gruLines(Float.self, file, name)
    }

    /// The checker registered for op `pararnn_lstm`.
    package static let lstm: GoldenOpChecker = { file, name in
        try lstmLines(Double.self, file, name) + lstmLines(Float.self, file, name)
    }

    /// Refuses cases whose outputs `[B, T, D]` would exceed the elements a golden case may ask for.
    static func requireCheckable<T>(x: Tensor<T>, A: Tensor<T>) throws(KernelError) {
        guard x.rank == 3, A.rank == 2 else { return }
        let (rows, o1) = x.shape[0].multipliedReportingOverflow(by: x.shape[1])
        let (all, o2) = rows.multipliedReportingOverflow(by: Swift.max(A.shape[1], 1))
        if o1 || o2 || all > maxCheckElements {
            throw .invalidArgument(
                name: "shapes",
                reason: "outputs [\(x.shape[0]), \(x.shape[1]), \(A.shape[1])] exceed \(maxCheckElements) elements, "
                    + "the most a golden case may ask for")
        }
    }

    /// The Newton line with the iterations its forward used (when it ran).
    static func note(_ line: CheckLine, _ report: ParaRNN.NewtonReport?) -> CheckLine {
        guard let report else { return line }
        var out = line
        out.info = "newton \(report.iterations) iterations" + (report.converged ? "" : ", not converged")
        return out
    }

    /// Fails a line whose Newton solve fell back to the sequential one.
    struct NotConverged: Error, CustomStringConvertible {
        let report: ParaRNN.NewtonReport
        var description: String { "Newton did not converge: \(report)" }
    }

    /// Both paths of a `pararnn_gru` case in precision `T`.
    static func gruLines<T: LRNNScalar>(_: T.Type, _ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let x = ParaGRU.Inputs<T>(
            x: try file.tensor("x", as: T.self), A: try file.tensor("A", as: T.self),
            B: try file.tensor("B", as: T.self), b: try file.tensor("b", as: T.self),
            initialState: file.contains("h0") ? try file.tensor("h0", as: T.self) : nil)
        try requireCheckable(x: x.x, A: x.A)
        let dh = try file.tensor("dh", as: T.self)
        var expected: [(String, Tensor<Double>)] = []
        for tensor in ["h", "dx", "dA", "dB", "db"] {
            expected.append((tensor, try file.tensor(tensor, as: Double.self)))
        }
        let expectedH0 = file.contains("dh0") ? try file.tensor("dh0", as: Double.self) : nil
        let precision = T.precisionName
        let tolerance = GoldenCheck.opTolerance(precision)
        var report: ParaRNN.NewtonReport? = nil
        func line(_ path: String, _ run: () throws -> (Tensor<T>, ParaGRU.Inputs<T>)) -> CheckLine {
            GoldenCheck.measure(name: name, op: "pararnn_gru", precision: precision, path: path, tolerance: tolerance) {
                let (h, g) = try run()
                var triples = zip(expected, [h, g.x, g.A, g.B, g.b]).map { ($0.0, $1, $0.1) }
                switch (g.initialState, expectedH0) {
                case let (dh0?, ref?): triples.append(("dh0", dh0, ref))
                case (nil, nil): break
                case (_?, nil): throw GoldenCaseError("\(name): h0 is present but the case has no dh0")
                case (nil, _?): throw GoldenCaseError("\(name): the case has dh0 but no h0")
                }
                return triples
            }
        }
        let newton = line("newton") {
            let r = try ParaGRU.chunked(x)
            report = r.newton
            guard r.newton.converged else { throw NotConverged(report: r.newton) }
            return (r.output, try ParaGRU.backward(x, outputGradient: dh, finalStateGradient: nil))
        }
        let naive = line("naive") {
            (
                try ParaGRU.reference(x).output,
                try ParaGRU.referenceBackward(x, outputGradient: dh, finalStateGradient: nil)
            )
        }
        return [note(newton, report), naive]
    }

    /// Both paths of a `pararnn_lstm` case in precision `T`.
    static func lstmLines<T: LRNNScalar>(_: T.Type, _ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let hasState = file.contains("h0") || file.contains("c0")
        let x = ParaLSTM.Inputs<T>(
            x: try file.tensor("x", as: T.self), A: try file.tensor("A", as: T.self),
            B: try file.tensor("B", as: T.self), C: try file.tensor("C", as: T.self),
            b: try file.tensor("b", as: T.self),
            initialState: hasState
                ? ParaLSTM.State(c: try file.tensor("c0", as: T.self), h: try file.tensor("h0", as: T.self)) : nil)
        try requireCheckable(x: x.x, A: x.A)
        let dh = try file.tensor("dh", as: T.self)
        var expected: [(String, Tensor<Double>)] = []
        for tensor in ["h", "c", "dx", "dA", "dB", "dC", "db"] {
            expected.append((tensor, try file.tensor(tensor, as: Double.self)))
        }
        let expectedState =
            file.contains("dh0") || file.contains("dc0")
            ? (try file.tensor("dc0", as: Double.self), try file.tensor("dh0", as: Double.self)) : nil
        let precision = T.precisionName
        let tolerance = GoldenCheck.opTolerance(precision)
        var report: ParaRNN.NewtonReport? = nil
        func line(_ path: String, _ run: () throws -> (Tensor<T>, Tensor<T>, ParaLSTM.Inputs<T>)) -> CheckLine {
            GoldenCheck.measure(name: name, op: "pararnn_lstm", precision: precision, path: path, tolerance: tolerance)
            {
                let (h, c, g) = try run()
                var triples = zip(expected, [h, c, g.x, g.A, g.B, g.C, g.b]).map { ($0.0, $1, $0.1) }
                switch (g.initialState, expectedState) {
                case let (d0?, (dc0, dh0)?):
                    triples.append(("dc0", d0.c, dc0))
                    triples.append(("dh0", d0.h, dh0))
                case (nil, nil): break
                case (_?, nil): throw GoldenCaseError("\(name): c0, h0 are present but the case has no dc0, dh0")
                case (nil, _?): throw GoldenCaseError("\(name): the case has dc0, dh0 but no c0, h0")
                }
                return triples
            }
        }
        let newton = line("newton") {
            let r = try ParaLSTM.chunked(x)
            report = r.newton
            guard r.newton.converged else { throw NotConverged(report: r.newton) }
            return (r.output, r.cell, try ParaLSTM.backward(x, outputGradient: dh, finalStateGradient: nil))
        }
        let naive = line("naive") {
            let r = try ParaLSTM.reference(x)
            return (r.output, r.cell, try ParaLSTM.referenceBackward(x, outputGradient: dh, finalStateGradient: nil))
        }
        return [note(newton, report), naive]
    }
}
