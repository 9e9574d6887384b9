import Foundation

/// The outcome of one golden case on one path in one precision.
package struct CheckLine: Codable, Sendable, Equatable {
    /// Whether the line passed, failed or was skipped.
    package enum Status: String, Codable, Sendable {
        /// Error within tolerance (or an exact match where exactness is required).
        case pass = "PASS"
        /// Error above tolerance, or the case could not be evaluated.
        case fail = "FAIL"
        /// Not evaluated (e.g. unsupported op); counted neither as passed nor failed.
        case skip = "SKIP"
    }

    /// The case name (file stem or model directory name).
    package var name: String
    /// The golden op (`delta_rule`, `gla`, `model`, …).
    package var op: String
    /// `"Float64"` or `"Float32"` (`"-"` for skipped lines).
    package var precision: String
    /// The code path evaluated: `chunk`, `recurrent`, `naive`, `direct`, `generate`, …
    package var path: String
    /// The relative error `max|x − ref| / max|ref|` (largest over the outputs), if measured.
    package var error: Double?
    /// The tolerance the error was held to.
    package var tolerance: Double?
    /// The verdict.
    package var status: Status
    /// Extra information: which output was worst, why a case was skipped or failed.
    package var note: String?
    /// What the path reports about its own run whatever the verdict (the Newton iterations a
    /// ParaRNN line used), printed after the result; nil for most lines.
    package var info: String? = nil

    /// Creates a line.
    package init(
        name: String, op: String, precision: String, path: String, error: Double?,
        tolerance: Double?, status: Status, note: String? = nil
    ) {
        self.name = name
        self.op = op
        self.precision = precision
        self.path = path
        self.error = error
        self.tolerance = tolerance
        self.status = status
        self.note = note
    }

    /// A measured line: PASS when `error ≤ tolerance` (NaN fails).
    package static func measured(
        name: String, op: String, precision: String, path: String, error: Double,
        tolerance: Double, note: String? = nil
    ) -> CheckLine {
        CheckLine(
            name: name, op: op, precision: precision, path: path, error: error, tolerance: tolerance,
            status: error <= tolerance ? .pass : .fail, note: note)
    }
}

/// The lines of a whole `lrnn check` run and their totals.
package struct CheckReport: Codable, Sendable {
    /// Every line, in the order evaluated.
    package var lines: [CheckLine]
    /// Lines that passed.
    package var passed: Int { lines.filter { $0.status == .pass }.count }
    /// Lines that failed.
    package var failed: Int { lines.filter { $0.status == .fail }.count }
    /// Lines that were skipped.
    package var skipped: Int { lines.filter { $0.status == .skip }.count }

    /// Creates a report from lines.
    package init(lines: [CheckLine]) { self.lines = lines }

    /// The aligned text table, one line per case and path, then `K skipped` when lines were
    /// skipped, and always ending with the line `N passed, M failed`.
    package func text() -> String {
        var rows: [[String]] = []
        for l in lines {
            if l.status == .skip {
                rows.append([l.name, l.op, l.precision, l.path, "-", "-", "skipped (\(l.note ?? ""))"])
                continue
            }
            let err = l.error.map { String(format: "%.3e", $0) } ?? "-"
            let tol = l.tolerance.map { String(format: "%.0e", $0) } ?? "-"
            var status = l.status.rawValue
            if l.status == .fail, let n = l.note { status += " (\(n))" }
            if let i = l.info { status += " [\(i)]" }
            rows.append([l.name, l.op, l.precision, l.path, err, tol, status])
        }
        let header = ["case", "op", "precision", "path", "err", "tol", "result"]
        let all = [header] + rows
        let widths = (0..<header.count).map { c in all.map { $0[c].count }.max() ?? 0 }
        var out = ""
        for r in all {
            let cells = r.enumerated().map { i, s in
                i == r.count - 1 ? s : s.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }
            out += cells.joined(separator: "  ") + "\n"
        }
        if skipped > 0 { out += "\(skipped) skipped\n" }
        return out + "\(passed) passed, \(failed) failed\n"
    }

    /// The report as one JSON object: `{"lines": [...], "passed": N, "failed": M, "skipped": K}`.
    /// A non-finite error is written as the string `"NaN"`, `"Infinity"` or `"-Infinity"`.
    package func json() -> String {
        struct Payload: Encodable {
            let lines: [CheckLine]
            let passed: Int
            let failed: Int
            let skipped: Int
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        // A NaN error (a failed line) must not make the whole report unencodable.
        enc.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let data = (try? enc.encode(Payload(lines: lines, passed: passed, failed: failed, skipped: skipped))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
