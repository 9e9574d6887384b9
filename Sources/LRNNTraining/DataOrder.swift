import LRNNLinearAlgebra

/// The seeded order in which a ``Trainer`` visits its examples: a fresh permutation of all
/// examples every epoch, drawn from a generator that depends only on the seed and the epoch.
///
/// Epoch e's order is a Fisher–Yates shuffle driven by ``/LRNNLinearAlgebra/SeededGenerator``
/// (SplitMix64) seeded with `seed + e · 0xD1B54A32D192ED03` (wrapping), each swap index taken as
/// the high 64 bits of `r · (i + 1)` for a 64-bit draw r. The whole state is therefore
/// `(seed, epoch, position)`, which a checkpoint stores, and the order is the same on every
/// platform and Swift version.
public struct DataOrder: Sendable, Equatable {
    /// The number of examples ordered (≥ 1).
    public let count: Int
    /// The seed of every epoch's generator.
    public let seed: UInt64
    /// The current epoch (0 first).
    public private(set) var epoch: Int
    /// The index in the current epoch's order of the next example (0..<count).
    public private(set) var position: Int
    /// The current epoch's order.
    public private(set) var order: [Int]

    /// Creates the order at a given point.
    ///
    /// - Parameters:
    ///   - count: the number of examples (≥ 1).
    ///   - seed: the seed.
    ///   - epoch: the epoch to start in (≥ 0).
    ///   - position: the position in that epoch's order to start at (`0..<count`).
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` naming the value out of range.
    public init(count: Int, seed: UInt64, epoch: Int = 0, position: Int = 0) throws(TrainingError) {
        guard count >= 1 else { throw .invalidArgument(name: "count", reason: "\(count) examples, expected ≥ 1") }
        guard epoch >= 0 else { throw .invalidArgument(name: "epoch", reason: "\(epoch), expected ≥ 0") }
        guard position >= 0 && position < count else {
            throw .invalidArgument(name: "position", reason: "\(position), expected in 0..<\(count)")
        }
        self.count = count
        self.seed = seed
        self.epoch = epoch
        self.position = position
        self.order = Self.permutation(count: count, seed: seed, epoch: epoch)
    }

    /// The index of the next example; moves to the next epoch's order after the last one.
    ///
    /// - Returns: an index in `0..<count`.
    public mutating func next() -> Int {
        let i = order[position]
        position += 1
        if position == count {
            epoch += 1
            position = 0
            order = Self.permutation(count: count, seed: seed, epoch: epoch)
        }
        return i
    }

    /// Epoch `epoch`'s permutation of `0..<count`.
    ///
    /// - Parameters:
    ///   - count: the number of examples (≥ 0).
    ///   - seed: the order's seed.
    ///   - epoch: the epoch (≥ 0).
    /// - Returns: a permutation of `0..<count`.
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var g = SeededGenerator(seed: seed &+ UInt64(truncatingIfNeeded: epoch) &* 0xD1B5_4A32_D192_ED03)
        var p = Array(0..<Swift.max(0, count))
        var i = p.count - 1
        while i > 0 {
            let j = Int(truncatingIfNeeded: g.next().multipliedFullWidth(by: UInt64(i + 1)).high)
            p.swapAt(i, j)
            i -= 1
        }
        return p
    }
}
