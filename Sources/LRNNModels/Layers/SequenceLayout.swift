/// How the rows of a token batch `[tokens, features]` split into sequences.
///
/// `uniform(batch:length:)` is B sequences of T tokens, handed to the kernels as `[B, T, …]`;
/// `packed(cuSeqlens:)` is sequences of any lengths packed back to back, handed to the kernels
/// as `[1, tokens, …]` with `cuSeqlens`. Each sequence has its own recurrent and convolution state.
public struct SequenceLayout: Sendable, Equatable, CustomStringConvertible {
    /// Sequence `s` is rows `boundaries[s] ..< boundaries[s + 1]`.
    public let boundaries: [Int]
    /// Whether the kernels get `cuSeqlens` (packed) or a `[B, T]` batch.
    public let isPacked: Bool

    /// B sequences of T tokens each.
    /// - Precondition: B ≥ 1, T ≥ 0.
    public static func uniform(batch: Int, length: Int) -> SequenceLayout {
        precondition(batch >= 1 && length >= 0, "SequenceLayout.uniform: batch \(batch), length \(length)")
        return SequenceLayout(boundaries: (0...batch).map { $0 * length }, isPacked: false)
    }

    /// Sequences packed back to back; `cuSeqlens` starts at 0 and never decreases.
    /// - Precondition: at least one sequence, boundaries start at 0 and are non-decreasing.
    public static func packed(cuSeqlens: [Int]) -> SequenceLayout {
        precondition(
            cuSeqlens.count >= 2 && cuSeqlens[0] == 0 && zip(cuSeqlens, cuSeqlens.dropFirst()).allSatisfy { $0 <= $1 },
            "SequenceLayout.packed: malformed cuSeqlens \(cuSeqlens)")
        return SequenceLayout(boundaries: cuSeqlens, isPacked: true)
    }

    /// The number of sequences N.
    public var sequenceCount: Int { boundaries.count - 1 }
    /// The total number of tokens (rows).
    public var tokenCount: Int { boundaries.last! }
    /// The common length T of a uniform layout (tokens / N).
    public var uniformLength: Int { sequenceCount == 0 ? 0 : tokenCount / sequenceCount }
    /// The kernels' leading shape: `[B, T]` for uniform, `[1, tokens]` for packed.
    public var kernelBatchShape: [Int] { isPacked ? [1, tokenCount] : [sequenceCount, uniformLength] }
    /// `cuSeqlens` for the kernels (nil when uniform).
    public var kernelSequenceBoundaries: [Int]? { isPacked ? boundaries : nil }

    /// `uniform(B×T)` or `packed(cu)`.
    public var description: String {
        isPacked ? "packed(\(boundaries))" : "uniform(\(sequenceCount)×\(uniformLength))"
    }
}
