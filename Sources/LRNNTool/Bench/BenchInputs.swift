import ComplexModule
import Foundation
import LRNNLinearAlgebra
import RealModule

/// Seeded random inputs for the benchmarks, generated straight into Float32 storage (no
/// temporaries, so a memory probe sees only the tensors themselves).
package struct BenchRandom: Sendable {
    private var state: UInt64

    /// A generator for `seed` (splitmix64).
    package init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x632B_E59B_D9B4_E019 }

    /// The next 64 random bits.
    @inline(__always)
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    @inline(__always)
    package mutating func unit() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Approximately standard normal (sum of four uniforms, rescaled: mean 0, variance 1).
    @inline(__always)
    package mutating func normal() -> Float {
        let s = unit() + unit() + unit() + unit()
        return (s - 2) * 1.732_050_8
    }

    /// A tensor of `count` values drawn by `draw`.
    package mutating func tensor(_ shape: [Int], _ draw: (inout BenchRandom) -> Float) -> Tensor<Float> {
        let n = shape.reduce(1, *)
        var g = self
        let scalars = [Float](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = draw(&g) }
            count = n
        }
        self = g
        return Tensor(shape: shape, scalars: scalars)
    }

    /// A complex tensor whose real and imaginary parts are independent standard normal draws
    /// (a cotangent of a complex state).
    package mutating func complexTensor(_ shape: [Int]) -> Tensor<Complex<Float>> {
        let n = shape.reduce(1, *)
        var g = self
        let scalars = (0..<n).map { _ in Complex(g.normal(), g.normal()) }
        self = g
        return Tensor(shape: shape, scalars: scalars)
    }

    /// A tensor whose last axis holds unit vectors (L2-normalised normal draws), as the models
    /// feed q and k to the delta rule.
    package mutating func unitRows(_ shape: [Int]) -> Tensor<Float> {
        var t = tensor(shape) { $0.normal() }
        let d = shape.last ?? 1
        t.withUnsafeMutableBufferPointer { b in
            var row = 0
            while row < b.count {
                var s: Float = 0
                for j in 0..<d { s += b[row + j] * b[row + j] }
                let inv = 1 / (s + 1e-6).squareRoot()
                for j in 0..<d { b[row + j] *= inv }
                row += d
            }
        }
        return t
    }
}

extension Tensor where Scalar == Float {
    /// `count` consecutive slices of `sliceShape` (each `sliceShape.product` scalars), slice i
    /// starting at scalar `i · stride`: the per-token inputs of a decoding step.
    func slices(_ count: Int, shape sliceShape: [Int]) -> [Tensor<Float>] {
        let n = sliceShape.reduce(1, *)
        return withUnsafeBufferPointer { b in
            (0..<count).map { i in Tensor(shape: sliceShape, scalars: Array(b[(i * n)..<((i + 1) * n)])) }
        }
    }
}
