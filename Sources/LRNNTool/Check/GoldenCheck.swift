import Foundation
import LRNNLinearAlgebra

/// Evaluates one golden op case: given the opened file and the case name, returns one
/// line per path and precision.
package typealias GoldenOpChecker = @Sendable (_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine]

/// Evaluates one model or tokenizer directory case.
package typealias GoldenModelChecker = @Sendable (_ directory: String, _ name: String) throws -> [CheckLine]

/// Runs golden cases: dispatches each file on its `op` metadata to the registered checker.
package enum GoldenCheck {
    /// Runs every case and returns the report. A case that cannot be read or throws yields a
    /// FAIL line carrying the error; an op with no checker yields a SKIP line.
    package static func run(_ cases: [GoldenCase], progress: ((Int, Int, String) -> Void)? = nil) -> CheckReport {
        var lines: [CheckLine] = []
        for (i, c) in cases.enumerated() {
            progress?(i, cases.count, c.name)
            lines += run(c)
        }
        return CheckReport(lines: lines)
    }

    /// Runs one case.
    package static func run(_ c: GoldenCase) -> [CheckLine] {
        switch c {
        case let .modelDirectory(dir):
            var lines: [CheckLine]
            if let checker = CheckRegistry.model {
                do { lines = try checker(dir, c.name) } catch {
                    lines = [
                        CheckLine(
                            name: c.name, op: "model", precision: "-", path: "-", error: nil, tolerance: nil,
                            status: .fail, note: "\(error)")
                    ]
                }
            } else {
                lines = [
                    CheckLine(
                        name: c.name, op: "model", precision: "-", path: "-", error: nil, tolerance: nil, status: .skip,
                        note: "unsupported op: model")
                ]
            }
            // Further op cases stored with the model (`train_golden.safetensors`, op `model_train`).
            for extra in modelDirectoryOpFiles(dir) {
                lines += run(.file(path: extra)).map { line in
                    var l = line
                    l.name = c.name + "/" + l.name
                    return l
                }
            }
            return lines
        case let .tokenizerDirectory(dir):
            guard let checker = CheckRegistry.tokenizer else {
                return [
                    CheckLine(
                        name: c.name, op: "tokenizer", precision: "-", path: "-", error: nil, tolerance: nil,
                        status: .skip, note: "not implemented: tokenizer cases")
                ]
            }
            do { return try checker(dir, c.name) } catch {
                return [
                    CheckLine(
                        name: c.name, op: "tokenizer", precision: "-", path: "-", error: nil, tolerance: nil,
                        status: .fail, note: "\(error)")
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
            // Extents bound the work as well as the memory: a tensor with a zero extent holds no
            // data, yet its other extents (T = 2^30 tokens of zero heads) would still be looped over.
            for info in file.tensors.values.sorted(by: { $0.name < $1.name }) {
                let (bounded, overflow) = info.shape.reduce((1, false)) { acc, d in
                    let (p, o) = acc.0.multipliedReportingOverflow(by: Swift.max(d, 1))
                    return (p, acc.1 || o)
                }
                if overflow || bounded > maxCheckElements {
                    return [
                        CheckLine(
                            name: c.name, op: op, precision: "-", path: "-", error: nil, tolerance: nil, status: .fail,
                            note:
                                "tensor '\(info.name)': shape \(info.shape) exceeds the \(maxCheckElements) elements a "
                                + "golden case may ask for (zero extents counted as 1)")
                    ]
                }
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

    /// The op case files inside a model directory: every `*.safetensors` but the checkpoint
    /// (`model.safetensors` and its shards `model-*.safetensors`) and `golden.safetensors`, sorted.
    static func modelDirectoryOpFiles(_ dir: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return entries.filter {
            $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") && $0 != "golden.safetensors"
                && $0 != "model.safetensors" && !$0.hasPrefix("model-")
        }.sorted().map { (dir as NSString).appendingPathComponent($0) }
    }

    /// The golden tolerance for a precision (FORMAT.md): 1e-9 in Float64, 1e-4 in Float32.
    package static func opTolerance(_ precision: String) -> Double {
        precision == "Float64" ? 1e-9 : 1e-4
    }
}

/// A computed tensor whose shape differs from the golden tensor it is compared with: the case
/// FAILs with this message instead of comparing elements that do not correspond.
package struct GoldenShapeMismatch: Error, Equatable, Sendable, CustomStringConvertible {
    /// The golden tensor's name (`o`, `ht`, `K`, `y`, `logits`, …).
    package let tensor: String
    /// The shape the engine computed.
    package let computed: [Int]
    /// The shape stored in the golden file.
    package let expected: [Int]

    /// Creates a mismatch record.
    package init(tensor: String, computed: [Int], expected: [Int]) {
        self.tensor = tensor
        self.computed = computed
        self.expected = expected
    }

    /// `tensor 'K': computed shape [1, 10], golden shape [1, 11]`.
    package var description: String {
        "tensor '\(tensor)': computed shape \(computed), golden shape \(expected)"
    }
}

/// Why a golden case cannot be evaluated as its file states it: a missing or impossible
/// metadata value, a golden tensor of the wrong rank. The case FAILs with this message.
package struct GoldenCaseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong with the case.
    package let description: String

    /// Creates an error with its message.
    package init(_ description: String) { self.description = description }
}

/// Relative error of `x` against a Float64 reference, per FORMAT.md:
/// `max|x − ref| / max|ref|` (absolute when the reference is all zero; NaN if any x is NaN).
///
/// Shapes are compared first: elements are compared only when they correspond.
///
/// - Parameters:
///   - x: the computed tensor.
///   - ref: the golden tensor.
///   - tensor: the golden tensor's name, for the error.
/// - Throws: ``GoldenShapeMismatch`` naming the tensor and both shapes when they differ.
package func goldenError<T: BinaryFloatingPoint>(
    _ x: Tensor<T>, _ ref: Tensor<Double>, tensor: String
) throws(GoldenShapeMismatch) -> Double {
    guard x.shape == ref.shape else {
        throw GoldenShapeMismatch(tensor: tensor, computed: x.shape, expected: ref.shape)
    }
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

extension GoldenCheck {
    /// One measured line whose computation may throw: the largest golden error of the tensors
    /// `body` returns (each compared shape first), or a FAIL line carrying the error — a shape
    /// mismatch, a kernel error, a malformed case — so that one bad tensor never stops the run.
    ///
    /// - Parameters:
    ///   - name: the case name.
    ///   - op: the golden op.
    ///   - precision: `"Float64"` or `"Float32"`.
    ///   - path: the code path evaluated.
    ///   - tolerance: the tolerance the error is held to.
    ///   - body: computes `(tensor name, computed, golden)` triples.
    /// - Returns: the line; its note names the worst tensor when there are several.
    package static func measure<T: BinaryFloatingPoint>(
        name: String, op: String, precision: String, path: String, tolerance: Double,
        _ body: () throws -> [(String, Tensor<T>, Tensor<Double>)]
    ) -> CheckLine {
        do {
            let outputs = try body()
            // The largest error; a NaN, once seen, stays the worst.
            var worst: (tensor: String, error: Double)? = nil
            for (tensor, x, ref) in outputs {
                let e = try goldenError(x, ref, tensor: tensor)
                if let w = worst, w.error.isNaN || !(e.isNaN || e > w.error) { continue }
                worst = (tensor, e)
            }
            let (tensor, error) = worst ?? ("-", 0)
            return .measured(
                name: name, op: op, precision: precision, path: path, error: error, tolerance: tolerance,
                note: outputs.count > 1 ? "worst: \(tensor)" : nil)
        } catch {
            return CheckLine(
                name: name, op: op, precision: precision, path: path, error: nil, tolerance: tolerance,
                status: .fail, note: "\(error)")
        }
    }
}

extension SafeTensorsFile {
    /// A metadata number that must be finite when present, or nil when the key is absent.
    ///
    /// - Parameter key: the `__metadata__` key.
    /// - Throws: ``GoldenCaseError`` when the value is present but not a finite number.
    func metadataFiniteNumber(_ key: String) throws(GoldenCaseError) -> Double? {
        guard let raw = metadata[key] else { return nil }
        guard let d = metadataNumber(key), d.isFinite else {
            throw GoldenCaseError("\(path): metadata '\(key)' is '\(raw)', expected a finite number")
        }
        return d
    }

    /// `cu_seqlens` as FORMAT.md stores it (an integer tensor `[N+1]`), or nil when absent.
    ///
    /// - Throws: ``GoldenCaseError`` for another rank; ``SafeTensorsError`` for a float dtype.
    func sequenceBoundaries() throws -> [Int]? {
        guard contains("cu_seqlens") else { return nil }
        let cu = try integerTensor("cu_seqlens")
        guard cu.rank == 1 else {
            throw GoldenCaseError("\(path): cu_seqlens has shape \(cu.shape), expected [N + 1]")
        }
        return cu.scalars
    }

    /// A metadata boolean (`true`/`false`, `1`/`0`), or nil when the key is absent.
    ///
    /// - Parameter key: the `__metadata__` key.
    /// - Throws: ``GoldenCaseError`` when the value is present but not a boolean.
    func metadataStrictBool(_ key: String) throws(GoldenCaseError) -> Bool? {
        guard let raw = metadata[key] else { return nil }
        guard let b = metadataBool(key) else {
            throw GoldenCaseError("\(path): metadata '\(key)' is '\(raw)', expected true or false")
        }
        return b
    }

    /// A metadata value that must be a whole number in `range` (golden files store numbers as
    /// strings), or nil when the key is absent.
    ///
    /// - Parameters:
    ///   - key: the `__metadata__` key.
    ///   - range: the values the case may hold.
    /// - Throws: ``GoldenCaseError`` when the value is present but not a whole number in `range`.
    func metadataInteger(_ key: String, in range: ClosedRange<Int>) throws(GoldenCaseError) -> Int? {
        guard let raw = metadata[key] else { return nil }
        guard let d = metadataNumber(key), d.isFinite, d == d.rounded(), d >= Double(range.lowerBound),
            d <= Double(range.upperBound)
        else {
            throw GoldenCaseError(
                "\(path): metadata '\(key)' is '\(raw)', expected an integer in \(range.lowerBound)...\(range.upperBound)"
            )
        }
        return Int(d)
    }
}
