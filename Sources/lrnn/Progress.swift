import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Progress on stderr, only when stderr is a terminal (never in pipes, files or CI logs, so
/// stdout and redirected stderr stay clean).
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

    /// Runs `body` while a background thread shows `label` and the elapsed seconds on one
    /// updating stderr line (four times a second), for long single calls that report no steps
    /// of their own. Without a terminal it just runs `body`.
    static func whileRunning<R, E: Error>(_ label: String, _ body: () throws(E) -> R) throws(E) -> R {
        guard isTerminal else { return try body() }
        let ticker = Ticker(label: label)
        ticker.start()
        defer {
            ticker.stop()
            finish()
        }
        return try body()
    }
}

/// The elapsed-time line of ``Progress/whileRunning(_:_:)``.
private final class Ticker: @unchecked Sendable {
    private let label: String
    private let condition = NSCondition()
    private var stopped = false
    private var done = false

    init(label: String) { self.label = label }

    func start() {
        let begin = Date()
        Thread.detachNewThread { [self] in
            condition.lock()
            while !stopped {
                let line = String(format: "\r\u{1B}[K%@ … %.1f s", label, Date().timeIntervalSince(begin))
                FileHandle.standardError.write(Data(line.utf8))
                _ = condition.wait(until: Date().addingTimeInterval(0.25))
            }
            done = true
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Stops the thread and waits until it has written its last line.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !done { condition.wait() }
        condition.unlock()
    }
}
