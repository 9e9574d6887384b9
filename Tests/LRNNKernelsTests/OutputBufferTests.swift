import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// The `output:finalState:` forms of the chunk kernels: bitwise the allocating forms' results,
/// whatever the buffers held before (NaN here), reusable call after call, and their shapes checked.
@Suite struct OutputBufferTests {
    /// A tensor of `shape` filled with NaN (stale contents a kernel must overwrite, never read).
    static func poisoned(_ shape: [Int]) -> Tensor<Double> { Tensor(shape: shape, repeating: .nan) }

    static func poisonedComplex(_ shape: [Int]) -> Tensor<Complex<Double>> {
        Tensor(shape: shape, repeating: Complex(.nan, .nan))
    }

    @Test(
        "delta rule: the output form equals the allocating form",
        arguments: [(1, false, false), (1, true, true), (2, true, true)])
    func deltaRule(n: Int, gated: Bool, initialState: Bool) throws {
        var rng = SeededRandom(seed: 21)
        let x = DeltaRuleInputs<Double>(
            batch: 1, tokens: 37, heads: 3, keyDim: 8, valueDim: 5, householder: n, gated: gated,
            initialState: initialState, cuSeqlens: [0, 11, 11, 37], rng: &rng)
        let expected = try x.chunked(chunkSize: 8)
        var output = Self.poisoned(expected.output.shape)
        var state = Self.poisoned(expected.finalState.shape)
        for _ in 0..<2 {  // the second call reuses the first call's buffers
            try DeltaRule.chunked(
                q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, initialState: x.h0, cuSeqlens: x.cuSeqlens,
                numHouseholder: n, chunkSize: 8, output: &output, finalState: &state)
            #expect(output == expected.output)
            #expect(state == expected.finalState)
        }
    }

    @Test("delta rule: one state tensor carried across calls as initialState and finalState")
    func deltaRuleCarriedState() throws {
        var rng = SeededRandom(seed: 28)
        let x = DeltaRuleInputs<Double>(
            batch: 1, tokens: 30, heads: 2, keyDim: 6, valueDim: 4, householder: 1, gated: true,
            initialState: true, rng: &rng)
        let whole = try x.chunked(chunkSize: 8)
        func tokens(_ t: Tensor<Double>, _ range: Range<Int>) -> Tensor<Double> {
            glaTokens(t, range.lowerBound, range.count)
        }
        var state = try #require(x.h0)
        var output = Self.poisoned([1, 15, 2, 4])
        for half in [0..<15, 15..<30] {
            try DeltaRule.chunked(
                q: tokens(x.q, half), k: tokens(x.k, half), v: tokens(x.v, half),
                beta: Tensor(
                    shape: [1, 15, 2], scalars: Array(x.beta.scalars[(half.lowerBound * 2)..<(half.upperBound * 2)])),
                g: x.g.map {
                    Tensor(
                        shape: [1, 15, 2], scalars: Array($0.scalars[(half.lowerBound * 2)..<(half.upperBound * 2)]))
                },
                initialState: state, chunkSize: 8, output: &output, finalState: &state)
            #expect(maxAbsDifference(output, tokens(whole.output, half)) <= 1e-12)
        }
        #expect(maxAbsDifference(state, whole.finalState) <= 1e-12)
    }

    @Test("delta rule: wrong output or state shapes are named")
    func deltaRuleShapes() {
        var rng = SeededRandom(seed: 22)
        let x = DeltaRuleInputs<Double>(
            batch: 2, tokens: 5, heads: 2, keyDim: 4, valueDim: 3, householder: 1, gated: false,
            initialState: false, rng: &rng)
        var goodOutput = Tensor<Double>(zeros: [2, 5, 2, 3])
        var goodState = Tensor<Double>(zeros: [2, 2, 4, 3])
        var badOutput = Tensor<Double>(zeros: [2, 5, 2, 4])
        var badState = Tensor<Double>(zeros: [1, 2, 4, 3])
        #expect(
            DeltaRuleErrorTests.tag {
                try DeltaRule.chunked(
                    q: x.q, k: x.k, v: x.v, beta: x.beta, output: &badOutput, finalState: &goodState)
            } == "shape:output")
        #expect(
            DeltaRuleErrorTests.tag {
                try DeltaRule.chunked(
                    q: x.q, k: x.k, v: x.v, beta: x.beta, output: &goodOutput, finalState: &badState)
            } == "shape:finalState")
        #expect(
            DeltaRuleErrorTests.tag {
                try DeltaRule.chunked(
                    q: x.q, k: x.k, v: x.v, beta: x.beta, output: &goodOutput, finalState: &goodState)
            } == "none")
    }

    @Test("GLA: the output form equals the allocating form, with and without an initial state")
    func gla() throws {
        var rng = SeededRandom(seed: 23)
        let x = GLAInputs<Double>(&rng, b: 2, t: 45, h: 2, dk: 6, dv: 4, decay: -0.3...0)
        let h0: Tensor<Double> = rng.tensor([2, 2, 6, 4])
        for initial in [nil, h0] {
            let expected = try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: initial, chunkSize: 16)
            var output = Self.poisoned(expected.output.shape)
            var state = Self.poisoned(expected.finalState.shape)
            for _ in 0..<2 {
                try GLA.chunked(
                    q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: initial, chunkSize: 16, output: &output,
                    finalState: &state)
                #expect(output == expected.output)
                #expect(state == expected.finalState)
            }
        }
        var badOutput = Tensor<Double>(zeros: [2, 45, 2, 6])
        var state = Tensor<Double>(zeros: [2, 2, 6, 4])
        #expect(
            DeltaRuleErrorTests.tag {
                try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, output: &badOutput, finalState: &state)
            } == "shape:output")
        var output = Tensor<Double>(zeros: [2, 45, 2, 4])
        var badState = Tensor<Double>(zeros: [1, 2, 6, 4])
        #expect(
            DeltaRuleErrorTests.tag {
                try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, output: &output, finalState: &badState)
            } == "shape:finalState")
    }

    @Test("S4D: the output form equals the allocating form")
    func s4d() throws {
        let p = try randomS4D(channels: 5, modes: 4, seed: 24, as: Double.self)
        var rng = SeededRandom(seed: 25)
        let u: Tensor<Double> = rng.normalTensor([2, 70, 5])
        let h0 = Tensor<Complex<Double>>(
            shape: [2, 5, 4], scalars: (0..<40).map { i in Complex(Double(i % 7) / 7, -Double(i % 3) / 3) })
        for initial in [nil, h0] {
            let expected = try S4D.chunked(
                u, parameters: p, discretization: .zoh, chunkSize: 16, initialState: initial)
            var output = Self.poisoned(u.shape)
            var state = Self.poisonedComplex([2, 5, 4])
            for _ in 0..<2 {
                try S4D.chunked(
                    u, parameters: p, discretization: .zoh, chunkSize: 16, initialState: initial,
                    output: &output, finalState: &state)
                #expect(output == expected.output)
                #expect(state == expected.finalState)
            }
        }
        var badOutput = Tensor<Double>(zeros: [2, 71, 5])
        var state = Tensor<Complex<Double>>(shape: [2, 5, 4], repeating: .zero)
        #expect(
            DeltaRuleErrorTests.tag {
                try S4D.chunked(u, parameters: p, discretization: .zoh, output: &badOutput, finalState: &state)
            } == "shape:output")
        var output = Tensor<Double>(zeros: [2, 70, 5])
        var badState = Tensor<Complex<Double>>(shape: [2, 5, 8], repeating: .zero)
        #expect(
            DeltaRuleErrorTests.tag {
                try S4D.chunked(u, parameters: p, discretization: .zoh, output: &output, finalState: &badState)
            } == "shape:finalState")
    }

    @Test("S5: the output form equals the allocating form")
    func s5() throws {
        let p = try SSMS5Tests.params(seed: 26, conj: true)
        let system = S5System(p, discretization: .zoh)
        var rng = SeededRandom(seed: 27)
        let u: Tensor<Double> = rng.normalTensor([2, 53, 5])
        let h0 = Tensor<Complex<Double>>(
            shape: [2, 9], scalars: (0..<18).map { i in Complex(Double(i % 5) / 5, Double(i % 4) / 4) })
        for initial in [nil, h0] {
            let expected = try S5.chunked(u, system: system, chunkSize: 16, initialState: initial)
            var output = Self.poisoned(u.shape)
            var state = Self.poisonedComplex([2, 9])
            for _ in 0..<2 {
                try S5.chunked(
                    u, system: system, chunkSize: 16, initialState: initial, output: &output, finalState: &state)
                #expect(output == expected.output)
                #expect(state == expected.finalState)
            }
        }
        var badOutput = Tensor<Double>(zeros: [2, 53, 6])
        var state = Tensor<Complex<Double>>(shape: [2, 9], repeating: .zero)
        #expect(
            DeltaRuleErrorTests.tag {
                try S5.chunked(u, system: system, output: &badOutput, finalState: &state)
            } == "shape:output")
        var output = Tensor<Double>(zeros: [2, 53, 5])
        var badState = Tensor<Complex<Double>>(shape: [1, 9], repeating: .zero)
        #expect(
            DeltaRuleErrorTests.tag {
                try S5.chunked(u, system: system, output: &output, finalState: &badState)
            } == "shape:finalState")
    }
}
