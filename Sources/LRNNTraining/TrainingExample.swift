/// One training sequence: its input ids and the label of every position.
///
/// Labels are scored as given (fla's and the golden cases' convention when labels are passed
/// explicitly): position t of `inputIDs` is scored against `labels[t]`, and −100
/// (``CrossEntropy/ignoreIndex``) leaves it out.
public struct TrainingExample: Sendable, Equatable, Hashable {
    /// The token ids, one per position (at least one).
    public let inputIDs: [Int]
    /// The target id of each position, or −100; as many as `inputIDs`.
    public let labels: [Int]

    /// Creates an example.
    ///
    /// - Parameters:
    ///   - inputIDs: the token ids (non-empty, each ≥ 0).
    ///   - labels: one label per position, each ≥ 0 or −100.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` naming the field.
    public init(inputIDs: [Int], labels: [Int]) throws(TrainingError) {
        guard !inputIDs.isEmpty else { throw .invalidArgument(name: "inputIDs", reason: "empty sequence") }
        guard labels.count == inputIDs.count else {
            throw .invalidArgument(
                name: "labels", reason: "\(labels.count) labels for \(inputIDs.count) input ids, expected equal counts")
        }
        if let i = inputIDs.firstIndex(where: { $0 < 0 }) {
            throw .invalidArgument(name: "inputIDs", reason: "id \(inputIDs[i]) at position \(i), expected ≥ 0")
        }
        if let i = labels.firstIndex(where: { $0 < 0 && $0 != CrossEntropy.ignoreIndex }) {
            throw .invalidArgument(name: "labels", reason: "label \(labels[i]) at position \(i), expected ≥ 0 or -100")
        }
        self.inputIDs = inputIDs
        self.labels = labels
    }

    /// A next-token example from a token sequence: inputs `tokens[0..<n−1]`, labels `tokens[1..<n]`.
    ///
    /// - Parameter tokens: at least two token ids, each ≥ 0.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` for fewer than two tokens or a
    ///   negative id.
    public init(nextTokenOf tokens: [Int]) throws(TrainingError) {
        guard tokens.count >= 2 else {
            throw .invalidArgument(name: "tokens", reason: "\(tokens.count) tokens, expected at least 2")
        }
        try self.init(inputIDs: Array(tokens.dropLast()), labels: Array(tokens.dropFirst()))
    }

    /// The number of counted positions (labels other than −100).
    public var countedPositions: Int { CrossEntropy.countedPositions(labels) }
}
