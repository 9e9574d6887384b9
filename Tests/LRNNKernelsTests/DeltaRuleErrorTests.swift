import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Bad inputs are rejected with the specific ``KernelError`` naming the tensor or argument.
@Suite struct DeltaRuleErrorTests {
    /// A short tag for an error: `shape:k`, `nonFinite:v`, `argument:g`, `cu_seqlens`, or `none`.
    static func tag(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "none"
        } catch let error as KernelError {
            switch error {
            case let .shapeMismatch(t, _, _): return "shape:\(t)"
            case let .nonFinite(t): return "nonFinite:\(t)"
            case let .invalidArgument(n, _): return "argument:\(n)"
            case .invalidSequenceBoundaries: return "cu_seqlens"
            }
        } catch {
            return "other: \(error)"
        }
    }

    static func inputs(n: Int = 1, batch: Int = 1, tokens: Int = 6) -> DeltaRuleInputs<Double> {
        var rng = SeededRandom(seed: 3)
        return DeltaRuleInputs<Double>(
            batch: batch, tokens: tokens, heads: 2, keyDim: 4, valueDim: 3, householder: n, gated: true,
            initialState: false, rng: &rng)
    }

    @Test func shapes() {
        let x = Self.inputs(n: 2)
        func chunked(
            q: Tensor<Double>? = nil, k: Tensor<Double>? = nil, v: Tensor<Double>? = nil,
            beta: Tensor<Double>? = nil, g: Tensor<Double>? = nil, h0: Tensor<Double>? = nil, n: Int = 2
        ) -> String {
            Self.tag {
                _ = try DeltaRule.chunked(
                    q: q ?? x.q, k: k ?? x.k, v: v ?? x.v, beta: beta ?? x.beta, g: g ?? x.g, initialState: h0,
                    numHouseholder: n)
            }
        }
        #expect(chunked() == "none")
        #expect(chunked(q: Tensor(zeros: [1, 6, 2])) == "shape:q")
        #expect(chunked(k: Tensor(zeros: [1, 6, 2, 4])) == "shape:k")  // T rows, not T·n
        #expect(chunked(k: Tensor(zeros: [1, 12, 2, 5])) == "shape:k")  // K differs from q's
        #expect(chunked(v: Tensor(zeros: [1, 12, 3, 3])) == "shape:v")
        #expect(chunked(beta: Tensor(zeros: [1, 12, 2, 1])) == "shape:beta")
        #expect(chunked(g: Tensor(zeros: [1, 12, 2])) == "shape:g")
        #expect(chunked(h0: Tensor(zeros: [1, 2, 3, 4])) == "shape:initialState")
        #expect(chunked(n: 1) == "shape:k")
        #expect(chunked(n: 0) == "argument:numHouseholder")
        #expect(
            Self.tag {
                _ = try DeltaRule.chunked(q: x.q, k: x.k, v: x.v, beta: x.beta, numHouseholder: 2, chunkSize: 0)
            }
                == "argument:chunkSize")
        #expect(
            Self.tag { _ = try DeltaRule.reference(q: x.q, k: x.k, v: x.v, beta: x.beta, numHouseholder: 3) }
                == "shape:k")
    }

    @Test func nonFiniteAndOutOfRangeValues() {
        let x = Self.inputs()
        for (name, value) in [("q", Double.nan), ("k", .infinity), ("v", .nan), ("beta", -.infinity), ("g", .nan)] {
            var y = x
            switch name {
            case "q": y.q.scalars[5] = value
            case "k": y.k.scalars[7] = value
            case "v": y.v.scalars[2] = value
            case "beta": y.beta.scalars[1] = value
            default: y.g!.scalars[3] = value
            }
            #expect(Self.tag { _ = try y.chunked() } == "nonFinite:\(name)")
            #expect(Self.tag { _ = try y.reference() } == "nonFinite:\(name)")
        }
        var h0 = Tensor<Double>(zeros: [1, 2, 4, 3])
        h0.scalars[9] = .nan
        #expect(
            Self.tag { _ = try DeltaRule.chunked(q: x.q, k: x.k, v: x.v, beta: x.beta, initialState: h0) }
                == "nonFinite:initialState")
        var positive = x
        positive.g!.scalars[0] = 0.5
        #expect(Self.tag { _ = try positive.chunked() } == "argument:g")
        #expect(
            Self.tag { _ = try DeltaRule.chunked(q: x.q, k: x.k, v: x.v, beta: x.beta, scale: .nan) }
                == "argument:scale")
    }

    @Test func sequenceBoundaries() {
        let x = Self.inputs(tokens: 6)
        func run(_ cu: [Int], _ y: DeltaRuleInputs<Double>? = nil) -> String {
            let y = y ?? x
            return Self.tag {
                _ = try DeltaRule.chunked(q: y.q, k: y.k, v: y.v, beta: y.beta, g: y.g, cuSeqlens: cu)
            }
        }
        #expect(run([0, 2, 6]) == "none")
        #expect(run([0, 2, 5]) == "cu_seqlens")  // does not end at T
        #expect(run([1, 6]) == "cu_seqlens")  // does not start at 0
        #expect(run([0, 4, 2, 6]) == "cu_seqlens")  // decreasing
        #expect(run([0]) == "cu_seqlens")  // too short
        #expect(run([0, 6], Self.inputs(batch: 2)) == "cu_seqlens")  // B ≠ 1
        #expect(
            Self.tag {
                _ = try DeltaRule.chunked(
                    q: x.q, k: x.k, v: x.v, beta: x.beta, initialState: Tensor(zeros: [1, 2, 4, 3]),
                    cuSeqlens: [0, 2, 6])
            } == "shape:initialState")  // two sequences need two states
    }

    @Test func stepErrors() {
        var rng = SeededRandom(seed: 4)
        let q: Tensor<Double> = rng.tensor([2, 1, 3, 4])
        let k: Tensor<Double> = rng.tensor([2, 2, 3, 4])
        let v: Tensor<Double> = rng.tensor([2, 2, 3, 5])
        let beta: Tensor<Double> = rng.tensor([2, 2, 3], 0...1)
        var state = Tensor<Double>(zeros: [2, 3, 4, 5])
        #expect(
            Self.tag { _ = try DeltaRule.step(q: q, k: k, v: v, beta: beta, numHouseholder: 2, state: &state) }
                == "none")
        #expect(Self.tag { _ = try DeltaRule.step(q: q, k: k, v: v, beta: beta, state: &state) } == "shape:k")
        var wrongState = Tensor<Double>(zeros: [2, 3, 5, 4])
        #expect(
            Self.tag { _ = try DeltaRule.step(q: q, k: k, v: v, beta: beta, numHouseholder: 2, state: &wrongState) }
                == "shape:state")
        #expect(
            Self.tag {
                _ = try DeltaRule.step(
                    q: q, k: k, v: v, beta: beta, g: Tensor(zeros: [2, 2, 3]), numHouseholder: 2, state: &state)
            } == "shape:g")
        var nanState = state
        nanState.scalars[17] = .nan
        let before = nanState
        #expect(
            Self.tag { _ = try DeltaRule.step(q: q, k: k, v: v, beta: beta, numHouseholder: 2, state: &nanState) }
                == "nonFinite:state")
        #expect(nanState.scalars.count == before.scalars.count && nanState.scalars[0] == before.scalars[0])
        var badQ = q
        badQ.scalars[0] = .infinity
        #expect(
            Self.tag { _ = try DeltaRule.step(q: badQ, k: k, v: v, beta: beta, numHouseholder: 2, state: &state) }
                == "nonFinite:q")
    }
}
