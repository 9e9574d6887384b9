/// A non-owning, strided, row-major view of a matrix: `rows × columns` elements at
/// `base[i·leadingDimension + j]`.
///
/// Views describe sub-blocks (a chunk of tokens, one head's columns) that BLAS reads through
/// leading dimensions, so no data is copied. A view is valid only while the storage it
/// points into is alive and not moved; create views inside `withUnsafe…` scopes.
///
/// Not `Sendable`: a view is a raw pointer. Work items of
/// ``Threading/parallelFor(_:_:)`` may share one only when they write disjoint elements.
public struct MatrixView<Scalar> {
    /// The first element.
    public let base: UnsafeMutablePointer<Scalar>
    /// The number of rows.
    public let rows: Int
    /// The number of columns.
    public let columns: Int
    /// The distance in elements between the starts of consecutive rows (≥ `columns`).
    public let leadingDimension: Int

    /// Creates a view; `leadingDimension` defaults to `columns` (contiguous rows).
    ///
    /// - Parameters:
    ///   - base: the first element.
    ///   - rows: the number of rows.
    ///   - columns: the number of columns.
    ///   - leadingDimension: the distance in elements between row starts (`nil`: `columns`).
    /// - Precondition: extents ≥ 0 and `leadingDimension ≥ max(columns, 1)`.
    @inlinable
    public init(
        _ base: UnsafeMutablePointer<Scalar>, rows: Int, columns: Int,
        leadingDimension: Int? = nil
    ) {
        let ld = leadingDimension ?? Swift.max(columns, 1)
        precondition(rows >= 0 && columns >= 0, "MatrixView: negative extent \(rows)×\(columns)")
        precondition(
            ld >= Swift.max(columns, 1),
            "MatrixView: leading dimension \(ld) < column count \(columns)")
        self.base = base
        self.rows = rows
        self.columns = columns
        self.leadingDimension = ld
    }

    /// Element `(i, j)`. Bounds are checked in debug builds.
    @inlinable
    public subscript(i: Int, j: Int) -> Scalar {
        get {
            assert(i >= 0 && i < rows && j >= 0 && j < columns, "MatrixView: (\(i), \(j)) outside \(rows)×\(columns)")
            return base[i * leadingDimension + j]
        }
        nonmutating set {
            assert(i >= 0 && i < rows && j >= 0 && j < columns, "MatrixView: (\(i), \(j)) outside \(rows)×\(columns)")
            base[i * leadingDimension + j] = newValue
        }
    }

    /// The sub-block of the given rows and columns, sharing storage.
    ///
    /// - Parameters:
    ///   - r: the rows of the block.
    ///   - c: the columns of the block.
    /// - Precondition: both ranges lie inside the view.
    @inlinable
    public func block(rows r: Range<Int>, columns c: Range<Int>) -> MatrixView {
        precondition(
            r.lowerBound >= 0 && r.upperBound <= rows && c.lowerBound >= 0 && c.upperBound <= columns,
            "MatrixView.block: rows \(r), columns \(c) outside \(rows)×\(columns)")
        return MatrixView(
            base + (r.lowerBound * leadingDimension + c.lowerBound), rows: r.count, columns: c.count,
            leadingDimension: leadingDimension)
    }

    /// The sub-block of the given rows, all columns.
    ///
    /// - Parameter r: the rows of the block, inside `0..<rows`.
    @inlinable
    public func rows(_ r: Range<Int>) -> MatrixView { block(rows: r, columns: 0..<columns) }

    /// Row `i` as a pointer to its first element.
    ///
    /// - Parameter i: the row, in `0..<rows`.
    @inlinable
    public func row(_ i: Int) -> UnsafeMutablePointer<Scalar> {
        precondition(i >= 0 && i < rows, "MatrixView.row: \(i) outside 0..<\(rows)")
        return base + i * leadingDimension
    }

    /// A `"rows×columns"` description used in precondition messages.
    public var shapeDescription: String { "\(rows)×\(columns) (ld \(leadingDimension))" }
}

extension MatrixView where Scalar: Numeric {
    /// Sets every element to `value`.
    ///
    /// - Parameter value: the value written to every element of the view.
    @inlinable
    public func fill(_ value: Scalar) {
        for i in 0..<rows {
            (base + i * leadingDimension).update(repeating: value, count: columns)
        }
    }

    /// Copies `source` (same extents) into this view.
    ///
    /// - Parameter source: a view with the same rows and columns (any leading dimension).
    @inlinable
    public func copy(from source: MatrixView<Scalar>) {
        precondition(
            source.rows == rows && source.columns == columns,
            "MatrixView.copy: \(source.shapeDescription) into \(shapeDescription)")
        for i in 0..<rows {
            (base + i * leadingDimension).update(from: source.base + i * source.leadingDimension, count: columns)
        }
    }
}
