import ComplexModule

/// An owned, contiguous, row-major n-dimensional array.
///
/// Element `[i₀, i₁, …, iₖ]` lives at offset `Σ iⱼ·strideⱼ` with `strideₖ = 1` and
/// `strideⱼ = strideⱼ₊₁·shapeⱼ₊₁`. Storage is a Swift array (copy on write). Sub-blocks go to
/// BLAS as ``MatrixView``s through leading dimensions, without copies.
///
/// Thread safety: a value type, `Sendable` when `Scalar` is. Any number of threads may read one
/// tensor at once; a mutation copies shared storage first, so it never affects another copy.
public struct Tensor<Scalar> {
    /// The extent of each dimension.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    ///
    /// Read-only outside this package, so the count always matches the shape: write elements
    /// through the subscript or ``withUnsafeMutableBufferPointer(_:)``, or make a new tensor.
    public package(set) var scalars: [Scalar]

    /// Creates a tensor from its shape and row-major elements.
    ///
    /// - Parameters:
    ///   - shape: the extent of each dimension.
    ///   - scalars: the elements in row-major order.
    /// - Precondition: every extent is ≥ 0 and `scalars.count` equals the product of `shape`.
    public init(shape: [Int], scalars: [Scalar]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(
            scalars.count == shape.reduce(1, *),
            "Tensor: shape \(shape) holds \(shape.reduce(1, *)) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// Creates a tensor of the given shape with every element equal to `value`.
    ///
    /// - Parameters:
    ///   - shape: the extent of each dimension (each ≥ 0).
    ///   - value: the value of every element.
    @inlinable
    public init(shape: [Int], repeating value: Scalar) {
        self.init(shape: shape, scalars: Array(repeating: value, count: shape.reduce(1, *)))
    }

    /// The number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// The number of elements.
    @inlinable public var count: Int { scalars.count }

    /// The row-major strides, in elements.
    public var strides: [Int] {
        var s = Array(repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// The offset of a multi-index. - Precondition: one index per dimension, each in range.
    ///
    /// - Parameter indices: one index per dimension.
    /// - Returns: the position of the element in scalars.
    @inlinable
    public func offset(_ indices: [Int]) -> Int {
        precondition(
            indices.count == shape.count,
            "Tensor: \(indices.count) indices for shape \(shape)")
        var off = 0
        for (i, n) in zip(indices, shape) {
            precondition(i >= 0 && i < n, "Tensor: index \(indices) out of range for shape \(shape)")
            off = off * n + i
        }
        return off
    }

    /// The element at a multi-index.
    public subscript(_ indices: Int...) -> Scalar {
        @inlinable get { scalars[offset(indices)] }
        set { scalars[offset(indices)] = newValue }
    }

    /// The same elements under another shape with the same element count.
    ///
    /// - Parameter newShape: the new extents, whose product equals count.
    /// - Precondition: the element counts agree.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(
            newShape.reduce(1, *) == count,
            "Tensor.reshaped: shape \(shape) cannot become \(newShape)")
        return Tensor(shape: newShape, scalars: scalars)
    }

    /// Applies `transform` to every element.
    ///
    /// - Parameter transform: the function applied to each element, in row-major order.
    /// - Returns: a tensor of the same shape holding the results.
    public func map<R>(_ transform: (Scalar) throws -> R) rethrows -> Tensor<R> {
        Tensor<R>(shape: shape, scalars: try scalars.map(transform))
    }

    /// Calls `body` with a pointer to the contiguous storage.
    ///
    /// - Parameter body: a closure that reads the elements in row-major order; the pointer is valid only inside it.
    /// - Returns: what `body` returns.
    @inlinable
    public func withUnsafeBufferPointer<R>(
        _ body: (UnsafeBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with a mutable pointer to the contiguous storage.
    ///
    /// - Parameter body: a closure that reads and writes the elements in row-major order; the pointer is valid only inside it.
    /// - Returns: what `body` returns.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer(body)
    }
}

extension Tensor: Sendable where Scalar: Sendable {}
extension Tensor: Equatable where Scalar: Equatable {}

extension Tensor where Scalar: Numeric {
    /// A tensor of zeros.
    ///
    /// - Parameter shape: the extent of each dimension.
    @inlinable
    public init(zeros shape: [Int]) {
        self.init(shape: shape, repeating: 0)
    }
}

extension Tensor where Scalar: LRNNScalar {
    /// A tensor of zeros, filled by code specialised for `Float` and `Double` (a generic caller of
    /// ``init(zeros:)`` would initialise element by element through value witnesses).
    ///
    /// - Parameter shape: the extent of each dimension (each ≥ 0).
    /// - Returns: the tensor, every element 0.
    @_specialize(exported:true,where Scalar == Float)
    @_specialize(exported:true,where Scalar == Double)
    public static func zeros(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: [Scalar](repeating: 0, count: shape.reduce(1, *)))
    }
}

extension Tensor where Scalar: BinaryFloatingPoint {
    /// Converts every element to another floating-point type (rounding to nearest).
    ///
    /// - Parameter to: the destination type, `Float` or `Double` for example.
    public func converted<T: BinaryFloatingPoint>(to: T.Type = T.self) -> Tensor<T> {
        Tensor<T>(shape: shape, scalars: scalars.map { T($0) })
    }

    /// `max |x|` over all elements (0 for an empty tensor).
    public var maxAbs: Scalar {
        scalars.reduce(0) { Swift.max($0, Swift.abs($1)) }
    }

    /// Whether every element is finite.
    public var allFinite: Bool { scalars.allSatisfy { $0.isFinite } }
}

extension Tensor {
    /// Calls `body` with a view of the whole tensor as a `rows × columns` matrix (rank-2 tensors
    /// directly; otherwise the leading dimensions are flattened into rows).
    ///
    /// - Parameter body: a closure that receives the view; the view is valid only inside it.
    /// - Returns: what `body` returns.
    /// - Precondition: rank ≥ 1 (rank 1 is a single row).
    public mutating func withMatrixView<R>(_ body: (MatrixView<Scalar>) throws -> R) rethrows -> R {
        precondition(rank >= 1, "Tensor.withMatrixView: rank-0 tensor")
        let columns = shape.last!
        let rows = shape.dropLast().reduce(1, *)
        return try scalars.withUnsafeMutableBufferPointer { buf in
            try body(MatrixView(buf.baseAddress!, rows: rows, columns: columns))
        }
    }
}

extension Tensor where Scalar: LRNNScalar {

    /// Relative error `max|self − reference| / max|reference|` (absolute when the reference is all zeros).
    ///
    /// - Parameter reference: the tensor to compare with, of the same shape.
    /// - Returns: the error in Float64 (NaN when either tensor holds a NaN).
    /// - Precondition: the shapes are equal.
    public func relativeError(to reference: Tensor<Scalar>) -> Double {
        precondition(shape == reference.shape, "relativeError: shape \(shape) vs \(reference.shape)")
        var num = 0.0
        var den = 0.0
        for (x, r) in zip(scalars, reference.scalars) {
            let d = Swift.abs(Double(x) - Double(r))
            num = d.isNaN ? .nan : Swift.max(num, d)
            den = Swift.max(den, Swift.abs(Double(r)))
            if num.isNaN { return .nan }
        }
        return den > 0 ? num / den : num
    }
}

extension Tensor {
    /// A complex tensor of zeros (a zero state of a diagonal state-space model).
    ///
    /// - Parameter shape: the extent of each dimension (each ≥ 0).
    /// - Returns: the tensor, every element 0.
    public static func zeros<R: LRNNScalar>(_ shape: [Int]) -> Tensor where Scalar == Complex<R> {
        Tensor(shape: shape, scalars: [Complex<R>](repeating: .zero, count: shape.reduce(1, *)))
    }

    /// Converts every element of a complex tensor to another precision (each part rounded to nearest).
    ///
    /// - Parameter to: the destination precision, `Float` or `Double`.
    /// - Returns: a tensor of the same shape.
    public func converted<R: LRNNScalar, U: LRNNScalar>(to: U.Type = U.self) -> Tensor<Complex<U>>
    where Scalar == Complex<R> {
        Tensor<Complex<U>>(shape: shape, scalars: scalars.map { Complex(U($0.real), U($0.imaginary)) })
    }
}
