/// An inclusive range of task lengths a…b (the number of bits, expression tokens or group
/// elements of an example), written `a-b` on the command line.
public struct LengthRange: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The shortest length (≥ 1).
    public let lower: Int
    /// The longest length (≥ `lower`).
    public let upper: Int

    /// Creates a range.
    ///
    /// - Parameters:
    ///   - lower: the shortest length (≥ 1).
    ///   - upper: the longest length (≥ `lower`, ≤ 1,000,000).
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` naming `lengths`.
    public init(_ lower: Int, _ upper: Int) throws(TrainingError) {
        guard lower >= 1, upper >= lower, upper <= 1_000_000 else {
            throw .invalidArgument(
                name: "lengths", reason: "\(lower)-\(upper), expected 1 ≤ a ≤ b ≤ 1000000")
        }
        self.lower = lower
        self.upper = upper
    }

    /// Parses `a-b` (or a single length `a`).
    ///
    /// - Parameter text: the range as written on the command line.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` naming `lengths` for another form
    ///   or a range out of bounds.
    public init(parsing text: String) throws(TrainingError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let a = Int(parts[0]), let b = Int(parts.last!) else {
            throw .invalidArgument(name: "lengths", reason: "'\(text)', expected a-b with integers 1 ≤ a ≤ b")
        }
        try self.init(a, b)
    }

    /// The number of lengths in the range.
    public var count: Int { upper - lower + 1 }

    /// `a-b`.
    public var description: String { "\(lower)-\(upper)" }

    /// The range split into at most `maximum` consecutive buckets of nearly equal width (the
    /// wider ones first), covering every length once.
    ///
    /// - Parameter maximum: the most buckets (≥ 1).
    /// - Returns: the buckets in increasing order.
    public func buckets(maximum: Int) -> [LengthRange] {
        let n = Swift.max(1, Swift.min(maximum, count))
        var out: [LengthRange] = []
        var start = lower
        for i in 0..<n {
            let width = count / n + (i < count % n ? 1 : 0)
            out.append(try! LengthRange(start, start + width - 1))
            start += width
        }
        return out
    }
}
