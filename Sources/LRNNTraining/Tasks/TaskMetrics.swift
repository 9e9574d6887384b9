/// The accuracy counts of a set of examples: supervised positions and sequences, right and in
/// total.
///
/// A position is right when the argmax over the c class logits (the first c logits: class k is
/// token id k, ``StateTrackingTask``) equals its label; positions labelled −100 do not count. A
/// sequence is right when every supervised position of it is.
///
/// - accuracy = right positions / positions;
/// - scaled accuracy = (accuracy − 1/c) / (1 − 1/c), 0 at chance and 1 when perfect, as Grazzi
///   et al. (ICLR 2025, Table 3) report it (negative below chance);
/// - sequence accuracy = right sequences / sequences (for parity and arithmetic, one supervised
///   position per sequence, it equals the accuracy).
public struct TaskMetrics: Sendable, Equatable {
    /// The supervised positions counted.
    public private(set) var positions = 0
    /// The supervised positions predicted right.
    public private(set) var correctPositions = 0
    /// The sequences counted.
    public private(set) var sequences = 0
    /// The sequences with every supervised position right.
    public private(set) var correctSequences = 0

    /// Empty counts.
    public init() {}

    /// Counts one sequence.
    ///
    /// - Parameters:
    ///   - predictions: the predicted class of every position.
    ///   - labels: the label of every position, or −100; as many as `predictions`.
    /// - Precondition: equal counts.
    public mutating func add(predictions: [Int], labels: [Int]) {
        precondition(
            predictions.count == labels.count,
            "TaskMetrics.add: \(predictions.count) predictions, \(labels.count) labels")
        var all = true
        for (p, l) in zip(predictions, labels) where l != CrossEntropy.ignoreIndex {
            positions += 1
            if p == l { correctPositions += 1 } else { all = false }
        }
        sequences += 1
        if all { correctSequences += 1 }
    }

    /// Adds another set's counts.
    ///
    /// - Parameter other: the counts to add.
    public mutating func add(_ other: TaskMetrics) {
        positions += other.positions
        correctPositions += other.correctPositions
        sequences += other.sequences
        correctSequences += other.correctSequences
    }

    /// Right positions / positions (0 without positions).
    public var accuracy: Double { positions == 0 ? 0 : Double(correctPositions) / Double(positions) }

    /// Right sequences / sequences (0 without sequences).
    public var sequenceAccuracy: Double { sequences == 0 ? 0 : Double(correctSequences) / Double(sequences) }

    /// (accuracy − 1/c) / (1 − 1/c).
    ///
    /// - Parameter classCount: the number of classes c (≥ 2).
    /// - Returns: the scaled accuracy.
    public func scaledAccuracy(classCount: Int) -> Double { Self.scaled(accuracy, classCount: classCount) }

    /// (accuracy − 1/c) / (1 − 1/c).
    ///
    /// - Parameters:
    ///   - accuracy: an accuracy in [0, 1].
    ///   - classCount: the number of classes c (≥ 2).
    /// - Returns: the scaled accuracy.
    /// - Precondition: `classCount ≥ 2`.
    public static func scaled(_ accuracy: Double, classCount: Int) -> Double {
        precondition(classCount >= 2, "TaskMetrics.scaled: \(classCount) classes, expected ≥ 2")
        let chance = 1 / Double(classCount)
        return (accuracy - chance) / (1 - chance)
    }

    /// The predicted class of every row of a logits matrix: the argmax over its first
    /// `classCount` columns (the first maximum on ties).
    ///
    /// - Parameters:
    ///   - logits: row-major `[rows, vocab]` logits.
    ///   - vocabSize: the row length.
    ///   - classCount: the number of classes c (1…`vocabSize`).
    /// - Returns: one class per row.
    public static func predictions<T: BinaryFloatingPoint>(logits: [T], vocabSize: Int, classCount: Int) -> [Int] {
        precondition(
            classCount >= 1 && classCount <= vocabSize,
            "TaskMetrics.predictions: \(classCount) classes for a vocabulary of \(vocabSize)")
        let rows = logits.count / vocabSize
        return (0..<rows).map { r in
            var best = 0
            var value = logits[r * vocabSize]
            for k in 1..<classCount where logits[r * vocabSize + k] > value {
                best = k
                value = logits[r * vocabSize + k]
            }
            return best
        }
    }
}

/// The accuracies of one length bucket, with the JSON keys of `lrnn train --json`.
public struct BucketAccuracy: Sendable, Equatable, Codable {
    /// The shortest length of the bucket.
    public let length_min: Int
    /// The longest length of the bucket.
    public let length_max: Int
    /// Right supervised positions / supervised positions.
    public let accuracy: Double
    /// (accuracy − 1/c) / (1 − 1/c).
    public let scaled_accuracy: Double
    /// Sequences with every supervised position right / sequences.
    public let sequence_accuracy: Double

    /// The accuracies of counts.
    ///
    /// - Parameters:
    ///   - range: the bucket's lengths.
    ///   - metrics: its counts.
    ///   - classCount: the number of classes c.
    public init(range: LengthRange, metrics: TaskMetrics, classCount: Int) {
        length_min = range.lower
        length_max = range.upper
        accuracy = metrics.accuracy
        scaled_accuracy = metrics.scaledAccuracy(classCount: classCount)
        sequence_accuracy = metrics.sequenceAccuracy
    }
}
