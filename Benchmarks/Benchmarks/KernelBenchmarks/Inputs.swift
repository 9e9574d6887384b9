import Foundation
import LinearRNN

/// Seeded benchmark inputs (splitmix64), generated straight into Float32 tensors.
struct Inputs {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }

    mutating func unit() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Float((z ^ (z >> 31)) >> 40) * 0x1p-24
    }

    /// Approximately standard normal (four uniforms).
    mutating func normal() -> Float { (unit() + unit() + unit() + unit() - 2) * 1.732_050_8 }

    mutating func tensor(_ shape: [Int], _ draw: (inout Inputs) -> Float) -> Tensor<Float> {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = draw(&self) }
        return Tensor(shape: shape, scalars: values)
    }

    /// Unit vectors along the last axis (the models' L2-normalised q and k).
    mutating func unitRows(_ shape: [Int]) -> Tensor<Float> {
        let d = shape.last ?? 1
        var values = tensor(shape) { $0.normal() }.scalars
        var row = 0
        while row < values.count {
            var s: Float = 0
            for j in 0..<d { s += values[row + j] * values[row + j] }
            let inv = 1 / (s + 1e-6).squareRoot()
            for j in 0..<d { values[row + j] *= inv }
            row += d
        }
        return Tensor(shape: shape, scalars: values)
    }
}
