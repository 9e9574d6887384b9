#if canImport(Glibc)
    import Glibc
#endif

/// One array handed to a LAPACK routine: a matrix in column-major order, a vector, or a
/// workspace, followed by a tail pad of zeros that no routine is told about.
///
/// OpenBLAS 0.3.21's gemv kernels can read past the end of the matrix they are given, by up
/// to about one column (OpenBLAS issue #4013). Inside LAPACK that matrix is often a trailing
/// sub-block of the array the caller passed, so the read goes past the caller's array, and
/// when the array ends at the end of a memory mapping the process dies (seen as a SIGSEGV in
/// `zgemv_n` under `zgesdd`). Every array LAPACK sees is therefore one of these buffers, and
/// its pad, `4·span + 64` elements for a call whose largest dimension is `span`, covers four
/// columns of any matrix of the call. LAPACK workspaces hold matrices too and get the same pad.
///
/// Unused outside ``LAPACK``; not thread-confined (each call allocates its own).
final class LAPACKBuffer<Element> {
    /// The first element.
    let base: UnsafeMutablePointer<Element>
    /// The elements LAPACK is told about (the pad follows them).
    let count: Int
    /// The zeroed elements after `count`.
    let padding: Int
    private let allocation: UnsafeMutableRawPointer
    /// The size of the mapping when the buffer was placed before a guard page, else 0.
    private let mappedBytes: Int

    /// Allocates `count` zeroed elements (at least one) and the tail pad for a call whose
    /// largest dimension (row count, column count or leading dimension) is `span`.
    ///
    /// - Parameters:
    ///   - count: the elements LAPACK may use.
    ///   - span: the call's largest dimension; the pad is `4·span + 64` elements.
    init(count: Int, span: Int) {
        precondition(_isPOD(Element.self), "LAPACKBuffer: \(Element.self) is not a plain value type")
        precondition(count >= 0 && span >= 0, "LAPACKBuffer: count \(count), span \(span)")
        self.count = Swift.max(count, 1)
        self.padding = LAPACKBufferPlacement.tailPad(span: span)
        let bytes = (self.count + padding) * MemoryLayout<Element>.stride
        if LAPACKBufferPlacement._endsAtGuardPage {
            // The pad's last byte is the last byte before a page that cannot be read.
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let dataBytes = (bytes + page - 1) / page * page
            let total = dataBytes + page
            guard let mapped = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                mapped != MAP_FAILED
            else { preconditionFailure("LAPACKBuffer: mmap of \(total) bytes failed") }
            precondition(
                mprotect(mapped + dataBytes, page, PROT_NONE) == 0, "LAPACKBuffer: mprotect failed")
            allocation = mapped
            mappedBytes = total
            base = (mapped + (dataBytes - bytes)).bindMemory(to: Element.self, capacity: self.count + padding)
        } else {
            allocation = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            allocation.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            mappedBytes = 0
            base = allocation.bindMemory(to: Element.self, capacity: self.count + padding)
        }
    }

    deinit {
        if mappedBytes > 0 {
            munmap(allocation, mappedBytes)
        } else {
            allocation.deallocate()
        }
    }

    /// The buffer's first `count` elements, in order.
    func array(_ count: Int) -> [Element] {
        precondition(count <= self.count, "LAPACKBuffer: read \(count) of \(self.count) elements")
        return Array(UnsafeBufferPointer(start: base, count: count))
    }

    /// A buffer holding `values` (a vector, or a matrix already in column-major order).
    convenience init(_ values: [Element], span: Int) {
        self.init(count: values.count, span: span)
        values.withUnsafeBufferPointer { base.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A buffer holding the row-major `rows`×`columns` matrix `scalars` in column-major order
    /// with leading dimension `max(1, rows)`.
    convenience init(rowMajor scalars: [Element], rows: Int, columns: Int, span: Int) {
        precondition(scalars.count == rows * columns, "LAPACKBuffer: \(scalars.count) scalars for \(rows)×\(columns)")
        let ld = Swift.max(1, rows)
        self.init(count: ld * columns, span: span)
        for i in 0..<rows {
            for j in 0..<columns { base[i + j * ld] = scalars[i * columns + j] }
        }
    }

    /// The column-major `rows`×`columns` matrix at the start of the buffer (leading dimension
    /// `leadingDimension`, at least `rows`) in row-major order.
    func rowMajor(rows: Int, columns: Int, leadingDimension: Int) -> [Element] {
        precondition(
            leadingDimension >= rows && (columns == 0 || leadingDimension * (columns - 1) + rows <= count),
            "LAPACKBuffer: a \(rows)×\(columns) matrix with leading dimension \(leadingDimension) in \(count)")
        var out = [Element]()
        out.reserveCapacity(rows * columns)
        for i in 0..<rows {
            for j in 0..<columns { out.append(base[i + j * leadingDimension]) }
        }
        return out
    }
}

/// Where ``LAPACKBuffer`` places its storage: a test hook, not API.
package enum LAPACKBufferPlacement {
    /// When true (in the current task), every LAPACK buffer ends exactly at a page that cannot
    /// be read or written (`PROT_NONE`), its tail pad included, so that any read past the pad
    /// crashes. Tests bind it with `withValue` around LAPACK calls.
    @TaskLocal package static var _endsAtGuardPage = false

    /// The tail pad, in elements, of every buffer of a call whose largest dimension is `span`:
    /// four columns and 64 elements.
    static func tailPad(span: Int) -> Int { 4 * span + 64 }
}
