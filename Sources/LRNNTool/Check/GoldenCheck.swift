import Foundation
import LRNNLinearAlgebra

/// Evaluates one golden op case: given the opened file and the case name, returns one
/// line per path and precision.
public typealias GoldenOpChecker = @Sendable (_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine]

/// Evaluates one model directory case.
public typealias GoldenModelChecker = @Sendable (_ directory: String, _ name: String) throws -> [CheckLine]

/// Runs golden cases: dispatches each file on its `op` metadata to the registered checker.
public enum GoldenCheck {
    /// Runs every case and returns the report. A case that cannot be read or throws yields a
    /// FAIL line carrying the error; an op with no checker yields a SKIP line.
    public static func run(_ cases: [GoldenCase], progress: ((Int, Int, String) -> Void)? = nil) -> CheckReport {
        var lines: [CheckLine] = []
        for (i, c) in cases.enumerated() {
            progress?(i, cases.count, c.name)
            lines += run(c)
        }
        return CheckReport(lines: lines)
    }

    /// Runs one case.
    public static func run(_ c: GoldenCase) -> [CheckLine] {
        switch c {
        case let .modelDirectory(dir):
            guard let checker = CheckRegistry.model else {
                return [
                    CheckLine(
                        name: c.name, op: "model", precision: "-", path: "-", error: nil, tolerance: nil, status: .skip,
                        note: "unsupported op: model")
                ]
            }
            do { return try checker(dir, c.name) } catch {
                return [
                    CheckLine(
                        name: c.name, op: "model", precision: "-", path: "-", error: nil, tolerance: nil, status: .fail,
                        note: "\(error)")
                ]
            }
        case let .file(path):
            let file: SafeTensorsFile
            do { file = try SafeTensorsFile(path: path) } catch {
                return [
                    CheckLine(
                        name: c.name, op: "?", precision: "-", path: "-", error: nil, tolerance: nil, status: .fail,
                        note: "\(error)")
                ]
            }
            guard let op = file.metadata["op"] else {
                return [
                    CheckLine(
                        name: c.name, op: "?", precision: "-", path: "-", error: nil, tolerance: nil, status: .fail,
                        note: "\(path): no 'op' in __metadata__")
                ]
            }
            guard let checker = CheckRegistry.ops[op] else {
                return [
                    CheckLine(
                        name: c.name, op: op, precision: "-", path: "-", error: nil, tolerance: nil, status: .skip,
                        note: "unsupported op: \(op)")
                ]
            }
            do { return try checker(file, c.name) } catch {
                return [
                    CheckLine(
                        name: c.name, op: op, precision: "-", path: "-", error: nil, tolerance: nil, status: .fail,
                        note: "\(error)")
                ]
            }
        }
    }

    /// The golden tolerance for a precision (FORMAT.md): 1e-9 in Float64, 1e-4 in Float32.
    public static func opTolerance(_ precision: String) -> Double {
        precision == "Float64" ? 1e-9 : 1e-4
    }
}

/// Relative error of `x` against a Float64 reference, per FORMAT.md:
/// `max|x − ref| / max|ref|` (absolute when the reference is all zero; NaN if any x is NaN).
///
/// - Precondition: equal element counts.
public func goldenError<T: BinaryFloatingPoint>(_ x: Tensor<T>, _ ref: Tensor<Double>) -> Double {
    precondition(x.count == ref.count, "goldenError: \(x.shape) vs \(ref.shape)")
    var num = 0.0
    var den = 0.0
    for (a, r) in zip(x.scalars, ref.scalars) {
        let d = abs(Double(a) - r)
        if d.isNaN { return .nan }
        num = max(num, d)
        den = max(den, abs(r))
    }
    return den > 0 ? num / den : num
}
