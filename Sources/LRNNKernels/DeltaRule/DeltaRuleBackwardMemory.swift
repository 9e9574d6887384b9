#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Large buffers of the delta-rule backward backed by transparent huge pages where the system
/// offers them (Linux `madvise(MADV_HUGEPAGE)`, honoured in the "madvise" and "always" modes).
///
/// The backward touches every page of its gradients and of each worker's store of chunk values
/// once per call (≈ 90 MB at T = 4096, H = 8, K = V = 128 in Float32); with 4 KB pages their first
/// touch was ≈ 10 % of the backward's time in page faults and page clearing. The advice is a hint:
/// where it is refused or unavailable the memory is ordinary and the results are the same.
enum DeltaRuleBackwardMemory {
    /// The huge-page size the alignment targets (2 MB on x86-64 and most arm64 kernels).
    static let hugePage = 1 << 21

    /// Below this many bytes a buffer is left to the allocator as it is.
    static let threshold = 1 << 22

    /// Allocates `count` uninitialised scalars, 2 MB aligned and advised to use huge pages when
    /// the buffer is at least `threshold` bytes. Free with `deallocate`.
    ///
    /// - Parameter count: the number of scalars.
    /// - Returns: the buffer (uninitialised).
    static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = Swift.max(1, count) * MemoryLayout<T>.stride
        var raw: UnsafeMutableRawPointer?
        if bytes >= threshold, posix_memalign(&raw, hugePage, bytes) == 0, let raw {
            adviseHugePages(raw, bytes: bytes)
        } else {
            raw = malloc(bytes)
        }
        guard let raw else { fatalError("DeltaRuleBackwardMemory: cannot allocate \(bytes) bytes") }
        return raw.bindMemory(to: T.self, capacity: Swift.max(1, count))
    }

    /// Frees a buffer from `allocate` (`malloc`-family memory).
    ///
    /// - Parameter pointer: the buffer `allocate` returned.
    static func deallocate<T>(_ pointer: UnsafeMutablePointer<T>) {
        free(UnsafeMutableRawPointer(pointer))
    }

    /// Advises the whole 2 MB pages inside `bytes` bytes at `base` to be huge pages (no effect on
    /// a smaller buffer, or off Linux).
    ///
    /// - Parameters:
    ///   - base: the buffer's start.
    ///   - bytes: its length in bytes.
    static func adviseHugePages(_ base: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
            guard bytes >= threshold else { return }
            let start = (Int(bitPattern: base) + hugePage - 1) & ~(hugePage - 1)
            let end = (Int(bitPattern: base) + bytes) & ~(hugePage - 1)
            guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
            _ = madvise(p, end - start, MADV_HUGEPAGE)
        #endif
    }
}
