import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Peak resident memory of this process.
public enum PeakMemory {
    /// The peak resident set size so far, in MB (`getrusage`'s `ru_maxrss`).
    public static var peakMB: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
