import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTraining
import Testing

@Suite("Cross-entropy loss")
struct CrossEntropyTests {
    /// The loss by its definition, in Double: log of the sum of exponentials, then the mean.
    static func naiveLoss(_ logits: Tensor<Double>, _ labels: [Int]) -> Double {
        let v = logits.shape.last!
        var total = 0.0
        var n = 0
        for (i, l) in labels.enumerated() where l != -100 {
            let row = logits.scalars[(i * v)..<((i + 1) * v)]
            total += log(row.map { exp($0) }.reduce(0, +)) - row[row.startIndex + l]
            n += 1
        }
        return total / Double(n)
    }

    static func batch(seed: UInt64) -> (Tensor<Double>, [Int]) {
        var rng = SeededRandom(seed: seed)
        let logits: Tensor<Double> = rng.tensor([3, 5, 11], -4...4)
        let labels = (0..<15).map { i in i % 4 == 1 ? -100 : Int(rng.next() % 11) }
        return (logits, labels)
    }

    @Test func lossMatchesTheDefinitionAndSkipsIgnoredPositions() throws {
        let (logits, labels) = Self.batch(seed: 11)
        let l = try CrossEntropy.loss(logits: logits, labels: labels)
        #expect(abs(l - Self.naiveLoss(logits, labels)) <= 1e-14 * abs(l))
        let (l2, g) = try CrossEntropy.lossAndGradient(logits: logits, labels: labels)
        #expect(l2 == l)
        #expect(g.shape == logits.shape)
        // Ignored rows get no gradient; every counted row's gradient sums to zero.
        for i in 0..<15 {
            let row = g.scalars[(i * 11)..<((i + 1) * 11)]
            if labels[i] == -100 {
                #expect(row.allSatisfy { $0 == 0 })
            } else {
                #expect(abs(row.reduce(0, +)) <= 1e-15)
            }
        }
        #expect(CrossEntropy.countedPositions(labels) == labels.filter { $0 != -100 }.count)
    }

    @Test func gradientMatchesCentralFiniteDifferences() throws {
        let (logits, labels) = Self.batch(seed: 12)
        let g = try CrossEntropy.lossAndGradient(logits: logits, labels: labels).gradient
        let h = 1e-5
        var worst = 0.0
        for i in 0..<logits.count {
            var plus = logits
            var minus = logits
            plus.scalars[i] += h
            minus.scalars[i] -= h
            let fd =
                (try CrossEntropy.loss(logits: plus, labels: labels) - CrossEntropy.loss(logits: minus, labels: labels))
                / (2 * h)
            worst = max(worst, abs(fd - g.scalars[i]))
        }
        #expect(worst <= 1e-9 * g.maxAbs)
    }

    @Test func largeLogitsStayFinite() throws {
        let (logits, labels) = Self.batch(seed: 13)
        let shifted = logits.map { $0 + 1000 }
        let a = try CrossEntropy.loss(logits: logits, labels: labels)
        let b = try CrossEntropy.loss(logits: shifted, labels: labels)
        #expect(b.isFinite)
        #expect(abs(a - b) <= 1e-12 * abs(a))
        let f = try CrossEntropy.loss(logits: shifted.converted(to: Float.self), labels: labels)
        #expect(abs(Double(f) - a) <= 1e-4 * abs(a))
    }

    @Test func badLabelsAreTypedErrors() throws {
        let logits = Tensor<Double>.zeros([2, 3])
        #expect(throws: TrainingError.labelOutOfRange(position: 1, label: 3, vocabSize: 3)) {
            try CrossEntropy.loss(logits: logits, labels: [0, 3])
        }
        #expect(throws: TrainingError.labelOutOfRange(position: 0, label: -2, vocabSize: 3)) {
            try CrossEntropy.loss(logits: logits, labels: [-2, 0])
        }
        #expect(throws: TrainingError.noCountedPositions(name: "labels")) {
            try CrossEntropy.loss(logits: logits, labels: [-100, -100])
        }
        #expect(throws: TrainingError.shapeMismatch(tensor: "labels", shape: [3], expected: [2])) {
            try CrossEntropy.lossAndGradient(logits: logits, labels: [0, 1, 2])
        }
        #expect(throws: TrainingError.shapeMismatch(tensor: "logits", shape: [2, 0], expected: [2, 1])) {
            try CrossEntropy.loss(logits: Tensor<Double>.zeros([2, 0]), labels: [0, 1])
        }
    }
}
