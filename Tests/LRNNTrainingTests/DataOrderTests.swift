import LRNNTraining
import Testing

@Suite("Seeded data order")
struct DataOrderTests {
    @Test func everyEpochIsAPermutationThatDependsOnSeedAndEpoch() throws {
        let n = 50
        let e0 = DataOrder.permutation(count: n, seed: 5, epoch: 0)
        let e1 = DataOrder.permutation(count: n, seed: 5, epoch: 1)
        let other = DataOrder.permutation(count: n, seed: 6, epoch: 0)
        for p in [e0, e1, other] { #expect(p.sorted() == Array(0..<n)) }
        #expect(e0 != e1)
        #expect(e0 != other)
        #expect(e0 != Array(0..<n))
        #expect(DataOrder.permutation(count: n, seed: 5, epoch: 0) == e0)
    }

    @Test func drawingWalksTheEpochsInOrderAndRestartsAnywhere() throws {
        var order = try DataOrder(count: 7, seed: 9)
        let drawn = (0..<20).map { _ in order.next() }
        let expected = (0..<3).flatMap { DataOrder.permutation(count: 7, seed: 9, epoch: $0) }
        #expect(drawn == Array(expected.prefix(20)))
        #expect(order.epoch == 2 && order.position == 6)
        var restarted = try DataOrder(count: 7, seed: 9, epoch: 1, position: 3)
        #expect((0..<10).map { _ in restarted.next() } == Array(expected[10..<20]))
    }

    @Test func invalidStatesAreTypedErrors() {
        #expect(throws: TrainingError.invalidArgument(name: "position", reason: "7, expected in 0..<7")) {
            try DataOrder(count: 7, seed: 1, position: 7)
        }
        #expect(throws: TrainingError.invalidArgument(name: "count", reason: "0 examples, expected ≥ 1")) {
            try DataOrder(count: 0, seed: 1)
        }
    }
}
