import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import LRNNTraining
import Testing

/// The toy model's hand-written gradients, which the accumulation and resume tests rely on.
@Suite("Toy model gradients")
struct ToyModelGradientTests {
    @Test func gradientsMatchCentralFiniteDifferences() throws {
        let model = ToyLanguageModel<Double>(vocabSize: 7, hiddenSize: 4, seed: 41)
        let examples = toyExamples(count: 3, vocabSize: 7, seed: 42)
        let ids = examples.map(\.inputIDs)
        let labels = examples.map(\.labels)
        let (loss, grads) = try model.lossAndGradients(inputIDs: ids, labels: labels)
        #expect(loss == (try model.loss(inputIDs: ids, labels: labels)))
        #expect(Set(grads.keys) == Set(ToyLanguageModel<Double>.keys))
        let h = 1e-5
        for key in ToyLanguageModel<Double>.keys {
            let p = model.parameters()
            var worst = 0.0
            for i in 0..<p[key]!.count {
                var plus = p
                var minus = p
                plus[key]!.scalars[i] += h
                minus[key]!.scalars[i] -= h
                let fd =
                    (try model.updating(parameters: plus).loss(inputIDs: ids, labels: labels)
                        - model.updating(parameters: minus).loss(inputIDs: ids, labels: labels)) / (2 * h)
                worst = max(worst, abs(fd - grads[key]!.scalars[i]))
            }
            #expect(worst <= 1e-8 * grads[key]!.maxAbs, "\(key)")
        }
    }

    @Test func updatingRefusesWrongParameters() {
        let model = ToyLanguageModel<Double>(vocabSize: 5, hiddenSize: 2, seed: 43)
        var p = model.parameters()
        p["lm_head.bias"] = nil
        #expect(throws: ModelLoadError.missingKeys(file: "parameters", keys: [KeyShape("lm_head.bias", [5])])) {
            try model.updating(parameters: p)
        }
    }
}
