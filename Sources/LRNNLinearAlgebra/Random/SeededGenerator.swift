import RealModule

/// A seeded SplitMix64 generator: the same seed gives the same random initialisations,
/// perturbations and sampled tokens on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    ///
    /// - Parameter seed: any 64-bit value.
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in `[lower, upper)`.
    public mutating func uniform(_ lower: Double = 0, _ upper: Double = 1) -> Double {
        lower + (upper - lower) * unit()
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = Swift.max(unit(), 0x1p-60)
        let u2 = unit()
        return (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * Double.pi * u2)
    }
}
