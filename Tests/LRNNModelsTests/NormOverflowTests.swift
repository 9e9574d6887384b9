import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@testable import LRNNModels

/// RMSNorm and the q/k L2 norm of activations whose squares overflow Float32 (|x| ≳ 1.8e19): the
/// Float32 result equals the Float64 one instead of collapsing to zero.
@Suite struct NormOverflowTests {
    static let rows: [[Double]] = [
        [3e19, -4e19, 1, 0],
        [1e38, 3e38, -2e38, 5e37],
        [2e19, 2e19, 2e19, 2e19],
        [1, 2, 3, 4],  // ordinary row: the plain path
        [1e-30, -2e-30, 0, 3e-30],  // squares underflow: ε dominates in both precisions
    ]

    func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        let num = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        let den = b.map(abs).max() ?? 0
        return den > 0 ? num / den : num
    }

    @Test("RMSNorm with and without weight")
    func rmsNorm() {
        let x64 = Tensor<Double>(shape: [5, 4], scalars: Self.rows.flatMap { $0 })
        for weight in [nil, [0.5, -1, 2, 1.5]] as [[Double]?] {
            let n64 = RMSNorm<Double>(weight: weight.map { Tensor(shape: [4], scalars: $0) }, dimension: 4, eps: 1e-6)
            let n32 = RMSNorm<Float>(
                weight: weight.map { Tensor(shape: [4], scalars: $0.map(Float.init)) }, dimension: 4, eps: 1e-6)
            var y64 = x64
            n64.apply(&y64)
            var y32 = x64.converted(to: Float.self)
            n32.apply(&y32)
            for r in 0..<5 {
                let a = Array(y32.converted(to: Double.self).scalars[(r * 4)..<(r * 4 + 4)])
                let b = Array(y64.scalars[(r * 4)..<(r * 4 + 4)])
                #expect(a.allSatisfy { $0.isFinite })
                #expect(relativeError(a, b) <= 1e-6, "row \(r): \(a) vs \(b)")
            }
        }
    }

    @Test("q/k L2 normalisation")
    func l2() {
        let x64 = Tensor<Double>(shape: [5, 4], scalars: Self.rows.flatMap { $0 })
        var y64 = x64
        l2Normalize(&y64, groupSize: 4)
        var y32 = x64.converted(to: Float.self)
        l2Normalize(&y32, groupSize: 4)
        for r in 0..<4 {
            let a = Array(y32.converted(to: Double.self).scalars[(r * 4)..<(r * 4 + 4)])
            let b = Array(y64.scalars[(r * 4)..<(r * 4 + 4)])
            #expect(relativeError(a, b) <= 1e-6, "row \(r): \(a) vs \(b)")
            // Unit length (the ε is negligible for these rows).
            #expect(abs(a.map { $0 * $0 }.reduce(0, +) - 1) <= 1e-5)
        }
    }
}
