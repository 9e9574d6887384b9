import LRNNLinearAlgebra

/// Why a kernel refused its inputs. Shapes and values that come from data (files, users)
/// are checked and reported with this error; each case names the tensor or argument.
public enum KernelError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A tensor has the wrong shape; `expected` describes what was required.
    case shapeMismatch(tensor: String, shape: [Int], expected: String)
    /// A tensor holds NaN or ±∞ (inputs are rejected, never propagated).
    case nonFinite(tensor: String)
    /// An argument is outside its allowed range.
    case invalidArgument(name: String, reason: String)
    /// `cu_seqlens` is malformed.
    case invalidSequenceBoundaries(reason: String)

    /// One sentence naming the tensor or argument and what was expected.
    public var description: String {
        switch self {
        case let .shapeMismatch(t, s, e): "tensor '\(t)' has shape \(s), expected \(e)"
        case let .nonFinite(t): "tensor '\(t)' contains NaN or infinity"
        case let .invalidArgument(n, r): "argument '\(n)': \(r)"
        case let .invalidSequenceBoundaries(r): "cu_seqlens: \(r)"
        }
    }
}

extension KernelError {
    /// Throws ``nonFinite(tensor:)`` when `tensor` holds NaN or ±∞.
    public static func requireFinite<T: LRNNScalar>(_ tensor: Tensor<T>, _ name: String) throws(KernelError) {
        for x in tensor.scalars where !x.isFinite { throw .nonFinite(tensor: name) }
    }

    /// Throws ``shapeMismatch(tensor:shape:expected:)`` unless `tensor.shape == expected`.
    public static func requireShape<T>(_ tensor: Tensor<T>, _ expected: [Int], _ name: String) throws(KernelError) {
        if tensor.shape != expected {
            throw .shapeMismatch(tensor: name, shape: tensor.shape, expected: "\(expected)")
        }
    }

    /// Validates `cu_seqlens` against a packed length `total`: starts at 0, non-decreasing,
    /// ends at `total`. Returns the sequence boundaries as `Int`s.
    public static func validateSequenceBoundaries(_ cu: [Int], total: Int) throws(KernelError) -> [Int] {
        guard cu.count >= 2 else {
            throw .invalidSequenceBoundaries(reason: "needs at least 2 entries, got \(cu.count)")
        }
        guard cu.first == 0 else { throw .invalidSequenceBoundaries(reason: "must start at 0, starts at \(cu[0])") }
        for i in 1..<cu.count where cu[i] < cu[i - 1] {
            throw .invalidSequenceBoundaries(reason: "decreases at index \(i): \(cu[i - 1]) then \(cu[i])")
        }
        guard cu.last == total else {
            throw .invalidSequenceBoundaries(reason: "must end at the packed length \(total), ends at \(cu.last!)")
        }
        return cu
    }
}

extension KernelError {
    /// The kernel form of a refused `cu_seqlens`: ``invalidSequenceBoundaries(reason:)`` with the
    /// same reason.
    public init(_ error: SequenceBoundariesError) {
        self = .invalidSequenceBoundaries(reason: error.reason)
    }
}
