import Foundation
import LRNNTraining
import Testing

@Suite("Learning-rate schedules")
struct LearningRateScheduleTests {
    @Test func constantIsConstant() throws {
        let s = LearningRateSchedule<Double>.constant(3e-4)
        try s.validate()
        #expect([0, 1, 17, 10_000].map { s.learningRate(at: $0) } == [3e-4, 3e-4, 3e-4, 3e-4])
    }

    @Test func warmupThenCosineToTheFloor() throws {
        let (peak, floor, w, total) = (1e-3, 1e-4, 10, 110)
        let s = LearningRateSchedule<Double>.warmupCosine(peak: peak, warmupSteps: w, totalSteps: total, floor: floor)
        try s.validate()
        // Linear warm-up: step s learns at peak·(s+1)/W.
        for step in 0..<w { #expect(abs(s.learningRate(at: step) - peak * Double(step + 1) / Double(w)) <= 1e-18) }
        #expect(s.learningRate(at: w - 1) == peak)
        #expect(s.learningRate(at: w) == peak)
        // Half-way through the cosine: the mean of peak and floor; a quarter: 1/2 + √2/4 of the range.
        #expect(abs(s.learningRate(at: w + 50) - (peak + floor) / 2) <= 1e-18)
        #expect(abs(s.learningRate(at: w + 25) - (floor + (peak - floor) * (0.5 + sqrt(2) / 4))) <= 1e-17)
        // The floor from the last step on.
        #expect(s.learningRate(at: total) == floor)
        #expect(s.learningRate(at: total + 1000) == floor)
        // Strictly decreasing through the cosine.
        let decay = (w..<total).map { s.learningRate(at: $0) }
        #expect(zip(decay, decay.dropFirst()).allSatisfy { $0 > $1 })
    }

    @Test func withoutWarmupTheCosineStartsAtThePeak() throws {
        let s = LearningRateSchedule<Float>.warmupCosine(peak: 2, warmupSteps: 0, totalSteps: 4, floor: 0)
        #expect(s.learningRate(at: 0) == 2)
        #expect(abs(s.learningRate(at: 2) - 1) <= 1e-6)
        #expect(s.learningRate(at: 4) == 0)
    }

    @Test func invalidSchedulesAreTypedErrors() {
        #expect(throws: TrainingError.invalidArgument(name: "totalSteps", reason: "5, expected ≥ warmupSteps = 10")) {
            try LearningRateSchedule<Double>.warmupCosine(peak: 1, warmupSteps: 10, totalSteps: 5, floor: 0).validate()
        }
        #expect(throws: TrainingError.invalidArgument(name: "floor", reason: "2.0, expected ≤ peak = 1.0")) {
            try LearningRateSchedule<Double>.warmupCosine(peak: 1, warmupSteps: 0, totalSteps: 5, floor: 2).validate()
        }
        #expect(throws: TrainingError.invalidArgument(name: "warmupSteps", reason: "-1, expected ≥ 0")) {
            try LearningRateSchedule<Double>.warmupCosine(peak: 1, warmupSteps: -1, totalSteps: 5, floor: 0).validate()
        }
        #expect(
            throws: TrainingError.invalidArgument(
                name: "learningRate", reason: "-1.0, expected a finite learning rate ≥ 0")
        ) {
            try LearningRateSchedule<Double>.constant(-1).validate()
        }
    }
}
