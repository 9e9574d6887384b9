import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A read-only memory mapping of a whole file, unmapped on deinit.
final class MappedFile: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    private let mapped: Bool
    private var owned: UnsafeMutableRawBufferPointer? = nil

    init(path: String) throws(SafeTensorsError) {
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused below as not a
        // regular file); the flag does not affect reads of regular files.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        if fd < 0 { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) != S_IFREG { throw .cannotOpen(file: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            mapped = false
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .cannotOpen(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: p, count: size)
        mapped = true
    }

    init(copying data: [UInt8]) {
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(1, data.count), alignment: 16)
        data.withUnsafeBytes { src in
            if let base = src.baseAddress { p.baseAddress!.copyMemory(from: base, byteCount: data.count) }
        }
        bytes = UnsafeRawBufferPointer(start: p.baseAddress, count: data.count)
        mapped = false
        owned = p
    }

    deinit {
        if mapped, let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
        owned?.deallocate()
    }
}
