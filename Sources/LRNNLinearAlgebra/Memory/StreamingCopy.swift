import CLRNNStartup

/// Copies for large write-once buffers: non-temporal stores on x86-64, which write whole cache
/// lines without first reading them (halving the memory traffic of a copy into a buffer far larger
/// than the caches) and leave the caches to the data still in use; a plain copy elsewhere.
package enum StreamingCopy {
    /// Copies `count` scalars from `source` to `destination` with non-temporal stores, then fences
    /// them (a plain copy on other CPUs and for scalar types other than `Float` and `Double`).
    ///
    /// - Parameters:
    ///   - source: the scalars to copy.
    ///   - destination: where they go; must not overlap `source`.
    ///   - count: the number of scalars (≥ 0).
    @inlinable
    package static func copy<T: LRNNScalar>(
        from source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int
    ) {
        if T.self == Float.self {
            streamFloat(
                UnsafeRawPointer(source).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(destination).assumingMemoryBound(to: Float.self), count)
        } else if T.self == Double.self {
            streamDouble(
                UnsafeRawPointer(source).assumingMemoryBound(to: Double.self),
                UnsafeMutableRawPointer(destination).assumingMemoryBound(to: Double.self), count)
        } else {
            destination.update(from: source, count: count)
        }
    }

    /// The `Float` copy (the C shim's non-temporal loop).
    ///
    /// - Parameters:
    ///   - source: the scalars to copy.
    ///   - destination: where they go.
    ///   - count: the number of scalars.
    @usableFromInline
    static func streamFloat(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        lrnn_stream_copy_f32(destination, source, count)
    }

    /// The `Double` copy (the C shim's non-temporal loop).
    ///
    /// - Parameters:
    ///   - source: the scalars to copy.
    ///   - destination: where they go.
    ///   - count: the number of scalars.
    @usableFromInline
    static func streamDouble(
        _ source: UnsafePointer<Double>, _ destination: UnsafeMutablePointer<Double>, _ count: Int
    ) {
        lrnn_stream_copy_f64(destination, source, count)
    }

    /// Copies `rows` rows of `count` scalars, row r from `source + r·sourceStride` to
    /// `destination + r·destinationStride`, with non-temporal stores and one fence at the end.
    ///
    /// - Parameters:
    ///   - source: the first source row.
    ///   - sourceStride: the distance between source rows, in scalars.
    ///   - destination: the first destination row; no row may overlap a source row.
    ///   - destinationStride: the distance between destination rows, in scalars.
    ///   - rows: the number of rows.
    ///   - count: the scalars per row.
    @inlinable
    package static func copyRows<T: LRNNScalar>(
        from source: UnsafePointer<T>, stride sourceStride: Int, to destination: UnsafeMutablePointer<T>,
        stride destinationStride: Int, rows: Int, count: Int
    ) {
        if T.self == Float.self {
            lrnn_stream_copy_rows_f32(
                UnsafeMutableRawPointer(destination).assumingMemoryBound(to: Float.self), destinationStride,
                UnsafeRawPointer(source).assumingMemoryBound(to: Float.self), sourceStride, rows, count)
        } else if T.self == Double.self {
            lrnn_stream_copy_rows_f64(
                UnsafeMutableRawPointer(destination).assumingMemoryBound(to: Double.self), destinationStride,
                UnsafeRawPointer(source).assumingMemoryBound(to: Double.self), sourceStride, rows, count)
        } else {
            for r in 0..<rows {
                (destination + r * destinationStride).update(from: source + r * sourceStride, count: count)
            }
        }
    }
}
