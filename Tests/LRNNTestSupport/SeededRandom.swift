import LRNNLinearAlgebra
import RealModule

/// The library's ``SeededGenerator`` (SplitMix64) plus the tensor helpers property tests use,
/// so that every test is reproducible from its seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var base: SeededGenerator

    /// Creates a generator from a seed.
    public init(seed: UInt64) { base = SeededGenerator(seed: seed) }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 { base.next() }

    /// Uniform in `range`.
    public mutating func uniform(_ range: ClosedRange<Double> = -1...1) -> Double {
        Double.random(in: range, using: &self)
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne...1, using: &self)
        let u2 = Double.random(in: 0...1, using: &self)
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// A tensor of the given shape with uniform entries in `range`.
    public mutating func tensor<T: LRNNScalar>(
        _ shape: [Int], _ range: ClosedRange<Double> = -1...1, as: T.Type = T.self
    ) -> Tensor<T> {
        let n = shape.reduce(1, *)
        var s = [T]()
        s.reserveCapacity(n)
        for _ in 0..<n { s.append(T(uniform(range))) }
        return Tensor(shape: shape, scalars: s)
    }

    /// A tensor of the given shape with standard normal entries.
    public mutating func normalTensor<T: LRNNScalar>(_ shape: [Int], as: T.Type = T.self) -> Tensor<T> {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: (0..<n).map { _ in T(normal()) })
    }
}

@inline(__always) private func _log(_ x: Double) -> Double { Double.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Double.cos(x) }
