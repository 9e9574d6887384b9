import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Peak resident memory of this process.
package enum PeakMemory {
    /// The peak resident set size so far, in MB: Linux's `VmHWM` (which ``resetPeak()`` can
    /// reset, and which starts afresh at `exec`), else `getrusage`'s `ru_maxrss` (which Linux
    /// carries over from the parent across `exec`, so a child process would report its parent's peak).
    package static var peakMB: Double {
        if let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                if let kb = kilobytes(line.dropFirst(6)) { return kb / 1024 }
            }
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// The current resident set size in MB (`VmRSS`), or nil where unavailable.
    package static var currentMB: Double? {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return kilobytes(line.dropFirst(6)).map { $0 / 1024 }
        }
        return nil
    }

    /// The number in a `/proc/self/status` value such as `"\t  90344 kB"`.
    static func kilobytes(_ field: Substring) -> Double? {
        field.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Double($0) }
    }

    /// Resets the peak to the current resident size (Linux: writes 5 to `/proc/self/clear_refs`).
    /// Returns false where that is not possible (the peak then stays the process-wide one).
    @discardableResult
    package static func resetPeak() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }
}
