import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Progress on stderr, only when stderr is a terminal.
enum Progress {
    static var isTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    /// A reporter `(done, total, item)` writing one updating line, or nil when stderr is not a terminal.
    static func reporter(label: String) -> ((Int, Int, String) -> Void)? {
        guard isTerminal else { return nil }
        return { i, n, item in
            FileHandle.standardError.write(Data("\r\u{1B}[K\(label) \(i + 1)/\(n) \(item)".utf8))
        }
    }

    /// Clears the progress line.
    static func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
