import ComplexModule
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
    /// Throws ``nonFinite(tensor:)`` when `tensor` holds NaN or ±∞ (the vectorised
    /// ``/LRNNLinearAlgebra/NonFiniteScan``).
    ///
    /// - Parameters:
    ///   - tensor: the tensor to scan.
    ///   - name: the tensor's name in the error.
    /// - Throws: ``nonFinite(tensor:)`` naming it.
    public static func requireFinite<T: LRNNScalar>(_ tensor: Tensor<T>, _ name: String) throws(KernelError) {
        if tensor.containsNonFinite { throw .nonFinite(tensor: name) }
    }

    /// Throws ``nonFinite(tensor:)`` when a complex tensor (a state) holds NaN or ±∞ in either part.
    ///
    /// - Parameters:
    ///   - tensor: the tensor to scan.
    ///   - name: the tensor's name in the error.
    /// - Throws: ``nonFinite(tensor:)`` naming it.
    public static func requireFinite<T: LRNNScalar>(_ tensor: Tensor<Complex<T>>, _ name: String) throws(KernelError) {
        for z in tensor.scalars where !(z.real.isFinite && z.imaginary.isFinite) { throw .nonFinite(tensor: name) }
    }

    /// Throws ``shapeMismatch(tensor:shape:expected:)`` unless `tensor.shape == expected`.
    public static func requireShape<T>(_ tensor: Tensor<T>, _ expected: [Int], _ name: String) throws(KernelError) {
        if tensor.shape != expected {
            throw .shapeMismatch(tensor: name, shape: tensor.shape, expected: "\(expected)")
        }
    }

    /// Validates `cu_seqlens` against a packed length `total`: starts at 0, non-decreasing,
    /// ends at `total` (through ``/LRNNLinearAlgebra/SequenceBoundaries``). Returns the sequence
    /// boundaries as `Int`s.
    ///
    /// - Parameters:
    ///   - cu: fla's `cu_seqlens`, `[N + 1]`.
    ///   - total: the packed length T.
    /// - Returns: `cu`, validated.
    /// - Throws: ``invalidSequenceBoundaries(reason:)`` with the reason of the
    ///   ``/LRNNLinearAlgebra/SequenceBoundariesError``.
    public static func validateSequenceBoundaries(_ cu: [Int], total: Int) throws(KernelError) -> [Int] {
        do {
            return try SequenceBoundaries(cu, total: total).offsets
        } catch {
            throw KernelError(error)
        }
    }
}

extension KernelError {
    /// The kernel form of a refused `cu_seqlens`: ``invalidSequenceBoundaries(reason:)`` with the
    /// same reason.
    public init(_ error: SequenceBoundariesError) {
        self = .invalidSequenceBoundaries(reason: error.reason)
    }
}
