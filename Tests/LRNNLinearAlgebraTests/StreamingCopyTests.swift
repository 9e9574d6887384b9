import LRNNLinearAlgebra
import Testing

@Suite("StreamingCopy")
struct StreamingCopyTests {
    @Test("copies every scalar at every alignment and length, and nothing past it", arguments: precisions)
    func copies(_ type: any LRNNScalar.Type) { runCopies(type) }

    func runCopies<T: LRNNScalar>(_: T.Type) {
        let capacity = 200
        let source = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        let destination = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        defer {
            source.deallocate()
            destination.deallocate()
        }
        for i in 0..<capacity { source[i] = T(i + 1) }
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
