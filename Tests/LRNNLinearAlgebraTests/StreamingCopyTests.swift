import LRNNLinearAlgebra
import Testing

@Suite("StreamingCopy")
struct StreamingCopyTests {
    @Test("copies every scalar at every alignment and length, and nothing past it", arguments: precisions)
    func copies(_ type: any LRNNScalar.Type) { runCopies(type) }

    /// Calls `body` with a source holding 1, 2, … and a destination, `capacity` scalars each.
    func withBuffers<T: LRNNScalar>(
        _: T.Type, capacity: Int, _ body: (UnsafeMutablePointer<T>, UnsafeMutablePointer<T>) -> Void
    ) {
        let source = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        let destination = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        defer {
            source.deallocate()
            destination.deallocate()
        }
        for i in 0..<capacity { source[i] = T(i + 1) }
        body(source, destination)
    }

    func runCopies<T: LRNNScalar>(_: T.Type) {
        let capacity = 200
        withBuffers(T.self, capacity: capacity) { source, destination in
            // Offsets move the destination off the 16-byte boundary; lengths cover the empty copy, the
            // scalar head and tail, and several whole vector blocks.
            for offset in 0..<4 {
                for count in [0, 1, 3, 7, 15, 16, 17, 33, 64, 100, 150] {
                    destination.initialize(repeating: -1, count: capacity)
                    StreamingCopy.copy(from: source + 2, to: destination + offset, count: count)
                    for i in 0..<capacity {
                        let expected: T = i >= offset && i < offset + count ? T(i - offset + 3) : -1
                        #expect(destination[i] == expected, "offset \(offset), count \(count), index \(i)")
                    }
                }
            }
        }
    }

    @Test("copies rows between strided layouts, and nothing between or past them", arguments: precisions)
    func copiesRows(_ type: any LRNNScalar.Type) { runCopiesRows(type) }

    func runCopiesRows<T: LRNNScalar>(_: T.Type) {
        let capacity = 1200
        withBuffers(T.self, capacity: capacity) { source, destination in
            // Rows of 0…37 scalars, source rows packed or spread, destination rows spread with odd
            // strides and offsets (each row starts at another alignment).
            for (rows, count, sourceStride, destinationStride, offset) in [
                (0, 5, 5, 9, 0), (1, 0, 3, 3, 1), (3, 16, 16, 128, 0), (5, 17, 17, 43, 3), (4, 37, 40, 61, 2),
                (16, 8, 8, 64, 1),
            ] {
                destination.initialize(repeating: -1, count: capacity)
                StreamingCopy.copyRows(
                    from: source + 1, stride: sourceStride, to: destination + offset, stride: destinationStride,
                    rows: rows, count: count)
                for i in 0..<capacity {
                    let j = i - offset
                    let (r, c) = j >= 0 ? (j / destinationStride, j % destinationStride) : (-1, -1)
                    let inside = j >= 0 && r < rows && c < count
                    let expected: T = inside ? T(r * sourceStride + c + 2) : -1
                    #expect(destination[i] == expected, "rows \(rows), count \(count), index \(i)")
                }
            }
        }
    }
}
