import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@testable import LRNNModels

/// Every layer's backward pass against central finite differences in Float64 (relative error of
/// directional derivatives ≤ 1e-7). Each scalar is `Σ c ⊙ layer(inputs)` for a random cotangent c.
@Suite struct LayerGradientTests {
    typealias FD = FiniteDifference
    static let tolerance = 1e-7

    @Test func linearWithBias() {
        var rng = SeededRandom(seed: 1)
        let x: Tensor<Double> = rng.normalTensor([7, 5])
        let w: Tensor<Double> = rng.normalTensor([3, 5])
        let b: Tensor<Double> = rng.normalTensor([3])
        let c: Tensor<Double> = rng.normalTensor([7, 3])
        let layer = Linear(weight: w, bias: b)
        let dx = layer.inputGradient(c)
        let (dw, db) = layer.parameterGradients(input: x, outputGradient: c)
        #expect(FD.error(at: x, gradient: dx, seed: 2) { FD.dot(layer($0), c) } <= Self.tolerance)
        #expect(FD.error(at: w, gradient: dw, seed: 3) { FD.dot(Linear(weight: $0, bias: b)(x), c) } <= Self.tolerance)
        #expect(FD.error(at: b, gradient: db!, seed: 4) { FD.dot(Linear(weight: w, bias: $0)(x), c) } <= Self.tolerance)
    }

    @Test func linearSplitIntoBlocksMatchesOneProduct() {
        // rows·in·out ≥ 2^21: the parallel row and feature blocks.
        var rng = SeededRandom(seed: 5)
        let x: Tensor<Double> = rng.normalTensor([300, 80])
        let w: Tensor<Double> = rng.normalTensor([200, 80])
        let c: Tensor<Double> = rng.normalTensor([300, 200])
        let layer = Linear(weight: w)
        let dx = layer.inputGradient(c)
        let dw = layer.parameterGradients(input: x, outputGradient: c).weight
        var refX = 0.0
        var refW = 0.0
        for (i, j) in [(0, 0), (299, 79), (150, 40), (129, 3)] {
            refX = max(refX, abs(dx[i, j] - (0..<200).reduce(0) { $0 + c[i, $1] * w[$1, j] }))
        }
        for (o, j) in [(0, 0), (199, 79), (130, 40), (127, 3)] {
            refW = max(refW, abs(dw[o, j] - (0..<300).reduce(0) { $0 + c[$1, o] * x[$1, j] }))
        }
        #expect(refX <= 1e-10 && refW <= 1e-10)
    }

    @Test func embedding() throws {
        var rng = SeededRandom(seed: 6)
        let w: Tensor<Double> = rng.normalTensor([11, 4])
        let ids = [3, 0, 10, 3, 7, 3]
        let c: Tensor<Double> = rng.normalTensor([6, 4])
        let dw = Embedding(weight: w).weightGradient(ids: ids, outputGradient: c)
        #expect(
            try FD.error(at: w, gradient: dw, seed: 7) { FD.dot(try Embedding(weight: $0)(ids), c) } <= Self.tolerance)
    }

    @Test(arguments: [true, false])
    func rmsNorm(_ withWeight: Bool) {
        var rng = SeededRandom(seed: 8)
        let x: Tensor<Double> = rng.normalTensor([6, 8])
        let w: Tensor<Double> = rng.tensor([8], 0.5...1.5)
        let c: Tensor<Double> = rng.normalTensor([6, 8])
        let norm = RMSNorm(weight: withWeight ? w : nil, dimension: 8, eps: 1e-6)
        let (dx, dw) = norm.backward(input: x, outputGradient: c)
        #expect(FD.error(at: x, gradient: dx, seed: 9) { FD.dot(norm($0), c) } <= Self.tolerance)
        if withWeight {
            #expect(
                FD.error(at: w, gradient: dw!, seed: 10) { FD.dot(RMSNorm(weight: $0, dimension: 8, eps: 1e-6)(x), c) }
                    <= Self.tolerance)
        } else {
            #expect(dw == nil)
        }
    }

    @Test func rmsNormManyRowsSplitsTheWeightGradient() {
        // rows·d ≥ 2^15: the weight gradient is summed over several row ranges.
        var rng = SeededRandom(seed: 11)
        let x: Tensor<Double> = rng.normalTensor([1100, 64])
        let w: Tensor<Double> = rng.tensor([64], 0.5...1.5)
        let c: Tensor<Double> = rng.normalTensor([1100, 64])
        let norm = RMSNorm(weight: w, dimension: 64, eps: 1e-6)
        let dw = norm.backward(input: x, outputGradient: c).weight!
        #expect(
            FD.error(at: w, gradient: dw, seed: 12) { FD.dot(RMSNorm(weight: $0, dimension: 64, eps: 1e-6)(x), c) }
                <= Self.tolerance)
    }

    @Test(arguments: [Activation.silu, .sigmoid])
    func gatedRMSNorm(_ activation: Activation) {
        var rng = SeededRandom(seed: 13)
        let o: Tensor<Double> = rng.normalTensor([5, 12])
        let g: Tensor<Double> = rng.normalTensor([5, 12])
        let w: Tensor<Double> = rng.tensor([4], 0.5...1.5)
        let c: Tensor<Double> = rng.normalTensor([5, 12])
        func f(_ o: Tensor<Double>, _ g: Tensor<Double>, _ w: Tensor<Double>) -> Double {
            var y = o
            GatedRMSNorm(norm: RMSNorm(weight: w, dimension: 4, eps: 1e-6), activation: activation).apply(&y, gate: g)
            return FD.dot(y, c)
        }
        let layer = GatedRMSNorm(norm: RMSNorm(weight: w, dimension: 4, eps: 1e-6), activation: activation)
        let (dO, dg, dw) = layer.backward(input: o, gate: g, outputGradient: c)
        #expect(FD.error(at: o, gradient: dO, seed: 14) { f($0, g, w) } <= Self.tolerance)
        #expect(FD.error(at: g, gradient: dg, seed: 15) { f(o, $0, w) } <= Self.tolerance)
        #expect(FD.error(at: w, gradient: dw!, seed: 16) { f(o, g, $0) } <= Self.tolerance)
    }

    /// Packed sequences with an empty and a one-token sequence, and a uniform batch.
    static let layouts: [SequenceLayout] = [.packed(cuSeqlens: [0, 5, 5, 6, 13]), .uniform(batch: 2, length: 7)]

    @Test(arguments: layouts)
    func shortConvolutionWithSiLU(_ layout: SequenceLayout) {
        var rng = SeededRandom(seed: 17)
        let rows = layout.tokenCount
        let x: Tensor<Double> = rng.normalTensor([rows, 6])
        let w: Tensor<Double> = rng.normalTensor([6, 1, 4])
        let c: Tensor<Double> = rng.normalTensor([rows, 6])
        func f(_ x: Tensor<Double>, _ w: Tensor<Double>) -> Double {
            var none: Tensor<Double>? = nil
            return FD.dot(ShortConvolution(weight: w, activation: .silu)(x, layout: layout, state: &none), c)
        }
        let conv = ShortConvolution(weight: w, activation: .silu)
        let z = conv.preActivation(x, layout: layout)
        let dz = Activation.silu.backward(preActivation: z, outputGradient: c)
        let (dx, dw) = conv.backward(input: x, preActivationGradient: dz, layout: layout)
        #expect(FD.error(at: x, gradient: dx, seed: 18) { f($0, w) } <= Self.tolerance)
        #expect(FD.error(at: w, gradient: dw, seed: 19) { f(x, $0) } <= Self.tolerance)
    }

    @Test func swiGLU() {
        var rng = SeededRandom(seed: 20)
        let x: Tensor<Double> = rng.normalTensor([5, 6])
        let wg: Tensor<Double> = rng.normalTensor([9, 6])
        let wu: Tensor<Double> = rng.normalTensor([9, 6])
        let wd: Tensor<Double> = rng.normalTensor([6, 9])
        let c: Tensor<Double> = rng.normalTensor([5, 6])
        func f(_ x: Tensor<Double>, _ wg: Tensor<Double>, _ wu: Tensor<Double>, _ wd: Tensor<Double>) -> Double {
            FD.dot(
                SwiGLUMLP(gateProj: Linear(weight: wg), upProj: Linear(weight: wu), downProj: Linear(weight: wd))(x), c)
        }
        let mlp = SwiGLUMLP(gateProj: Linear(weight: wg), upProj: Linear(weight: wu), downProj: Linear(weight: wd))
        let (y, a, u) = mlp.forwardSaving(x)
        #expect(y == mlp(x))
        let d = mlp.backward(input: x, gate: a, up: u, outputGradient: c)
        #expect(FD.error(at: x, gradient: d.input, seed: 21) { f($0, wg, wu, wd) } <= Self.tolerance)
        #expect(FD.error(at: wg, gradient: d.gateWeight, seed: 22) { f(x, $0, wu, wd) } <= Self.tolerance)
        #expect(FD.error(at: wu, gradient: d.upWeight, seed: 23) { f(x, wg, $0, wd) } <= Self.tolerance)
        #expect(FD.error(at: wd, gradient: d.downWeight, seed: 24) { f(x, wg, wu, $0) } <= Self.tolerance)
    }

    @Test func l2AndSumNormalisation() {
        var rng = SeededRandom(seed: 25)
        let x: Tensor<Double> = rng.normalTensor([4, 12])
        let c: Tensor<Double> = rng.normalTensor([4, 12])
        func l2(_ x: Tensor<Double>) -> Double {
            var y = x
            l2Normalize(&y, groupSize: 6)
            return FD.dot(y, c)
        }
        func sum(_ x: Tensor<Double>) -> Double {
            var y = x
            sumNormalize(&y, groupSize: 6)
            return FD.dot(y, c)
        }
        let dl2 = l2NormalizeBackward(input: x, outputGradient: c, groupSize: 6)
        let dsum = sumNormalizeBackward(input: x, outputGradient: c, groupSize: 6)
        #expect(FD.error(at: x, gradient: dl2, seed: 26, l2) <= Self.tolerance)
        #expect(FD.error(at: x, gradient: dsum, seed: 27, sum) <= Self.tolerance)
    }

    @Test(arguments: Activation.allCases)
    func activation(_ activation: Activation) {
        var rng = SeededRandom(seed: 28)
        let z: Tensor<Double> = rng.normalTensor([40])
        let c: Tensor<Double> = rng.normalTensor([40])
        let dz = activation.backward(preActivation: z, outputGradient: c)
        #expect(FD.error(at: z, gradient: dz, seed: 29) { FD.dot($0.map { activation($0) }, c) } <= Self.tolerance)
    }

    @Test(arguments: [1.0, 2.0])
    func betaGate(_ factor: Double) {
        var rng = SeededRandom(seed: 30)
        let b: Tensor<Double> = rng.normalTensor([6, 3])
        let c: Tensor<Double> = rng.normalTensor([6, 3])
        let db = sigmoidScaledBackward(logits: b, outputGradient: c, factor: factor)
        let f = { (b: Tensor<Double>) -> Double in
            var y = b
            sigmoidScaled(&y, factor: factor)
            return FD.dot(y, c)
        }
        #expect(FD.error(at: b, gradient: db, seed: 31, f) <= Self.tolerance)
    }

    @Test func gatedDeltaNetDecay() {
        var rng = SeededRandom(seed: 32)
        let a: Tensor<Double> = rng.normalTensor([7, 3])
        let aLog: Tensor<Double> = rng.tensor([3], 0...2.7)
        let dtBias: Tensor<Double> = rng.tensor([3], -4...0)
        let c: Tensor<Double> = rng.normalTensor([7, 3])
        let g = GatedDecay.forward(a, aLog: aLog, dtBias: dtBias)
        let d = GatedDecay.backward(input: a, gate: g, outputGradient: c, aLog: aLog, dtBias: dtBias)
        func f(_ a: Tensor<Double>, _ l: Tensor<Double>, _ b: Tensor<Double>) -> Double {
            FD.dot(GatedDecay.forward(a, aLog: l, dtBias: b), c)
        }
        #expect(FD.error(at: a, gradient: d.input, seed: 33) { f($0, aLog, dtBias) } <= Self.tolerance)
        #expect(FD.error(at: aLog, gradient: d.aLog, seed: 34) { f(a, $0, dtBias) } <= Self.tolerance)
        #expect(FD.error(at: dtBias, gradient: d.dtBias, seed: 35) { f(a, aLog, $0) } <= Self.tolerance)
    }

    @Test(arguments: [nil, -0.05] as [Double?])
    func glaDecayGate(_ clamp: Double?) {
        var rng = SeededRandom(seed: 36)
        let z: Tensor<Double> = rng.normalTensor([6, 8])
        let c: Tensor<Double> = rng.normalTensor([6, 8])
        let dz = GLADecayGate.backward(input: z, outputGradient: c, normalizer: 16, clampMin: clamp)
        let f = { (z: Tensor<Double>) -> Double in FD.dot(GLADecayGate.forward(z, normalizer: 16, clampMin: clamp), c) }
        #expect(FD.error(at: z, gradient: dz, seed: 37, f) <= Self.tolerance)
        if clamp != nil { #expect(dz.scalars.contains(0)) }
    }

    @Test func headRepetition() {
        var rng = SeededRandom(seed: 38)
        let x: Tensor<Double> = rng.normalTensor([3, 2 * 4])
        let c: Tensor<Double> = rng.normalTensor([3, 2 * 3 * 4])
        let dx = repeatHeadsBackward(c, heads: 2, headDim: 4, times: 3)
        #expect(
            FD.error(at: x, gradient: dx, seed: 39) { FD.dot(repeatHeads($0, heads: 2, headDim: 4, times: 3), c) }
                <= Self.tolerance)
    }

    @Test func crossEntropyWithIgnoredPositions() {
        var rng = SeededRandom(seed: 40)
        let logits: Tensor<Double> = rng.normalTensor([5, 9], as: Double.self).map { $0 * 3 }
        let labels = [4, 0, 8, 8, 2]
        // N counts the ignored positions' absence: 5 counted rows of a batch with N = 5.
        var grad = logits
        let loss = CrossEntropy.lossAndGradient(logits: &grad, labels: labels, count: 5)
        func f(_ z: Tensor<Double>) -> Double {
            var s = 0.0
            for r in 0..<5 {
                let row = (0..<9).map { z[r, $0] }
                let m = row.max()!
                s += m + Double.log(row.reduce(0) { $0 + Double.exp($1 - m) }) - z[r, labels[r]]
            }
            return s / 5
        }
        #expect(abs(loss - f(logits)) <= 1e-14 * abs(loss))
        #expect(FD.error(at: logits, gradient: grad, seed: 41, f) <= Self.tolerance)
    }
}
