import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("GLA input validation")
struct GLAErrorTests {
    @Test func nonFiniteInputsAreRejected() throws {
        var rng = SeededRandom(seed: 1000)
        let x = GLAInputs<Double>(&rng, b: 1, t: 5, h: 1, dk: 3, dv: 2, decay: -1.0...0.0)
        var q = x.q
        q.scalars[4] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "q")) {
            try GLA.chunked(q: q, k: x.k, v: x.v, gk: x.gk)
        }
        var v = x.v
        v.scalars[1] = .infinity
        #expect(throws: KernelError.nonFinite(tensor: "v")) {
            try GLA.reference(q: x.q, k: x.k, v: v, gk: x.gk)
        }
        #expect(throws: KernelError.nonFinite(tensor: "v")) {
            try GLA.chunked(q: x.q, k: x.k, v: v, gk: x.gk)
        }
        // The chunked kernel checks values chunk by chunk: a bad entry in a later chunk of one head, and
        // the order q, k, v, gk when several tensors are bad.
        var rng2 = SeededRandom(seed: 1005)
        let y = GLAInputs<Double>(&rng2, b: 1, t: 40, h: 2, dk: 3, dv: 2, decay: -1.0...0.0)
        var k2 = y.k
        k2.scalars[(37 * 2 + 1) * 3 + 2] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "k")) {
            try GLA.chunked(q: y.q, k: k2, v: y.v, gk: y.gk, chunkSize: 8, subChunkSize: 4)
        }
        var gk2 = y.gk
        gk2.scalars[5] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "k")) {
            try GLA.chunked(q: y.q, k: k2, v: y.v, gk: gk2, chunkSize: 8, subChunkSize: 4)
        }
        #expect(throws: KernelError.nonFinite(tensor: "gk")) {
            try GLA.chunked(q: y.q, k: y.k, v: y.v, gk: gk2, cuSeqlens: [0, 3, 40], chunkSize: 8, subChunkSize: 4)
        }
        var gk = x.gk
        gk.scalars[0] = .infinity
        #expect(throws: KernelError.nonFinite(tensor: "gk")) {
            try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: gk)
        }
        var s0 = Tensor<Double>(zeros: [1, 1, 3, 2])
        s0.scalars[5] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "initialState")) {
            try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: s0)
        }
    }

    /// The chunk kernel scans q, k, v and gk as it reads them, head group by head group: a bad value at
    /// every single position of every tensor is found — one sequence (with two or more workers its
    /// three heads split unevenly into two groups), two batch entries, and packed sequences
    /// (including an empty one).
    @Test(arguments: ["single", "batch", "packed"])
    func everyPositionIsScanned(layout: String) throws {
        var rng = SeededRandom(seed: 1006)
        let b = layout == "batch" ? 2 : 1
        let x = GLAInputs<Double>(&rng, b: b, t: 13, h: 3, dk: 4, dv: 2, decay: -1.0...0.0)
        let cu: [Int]? = layout == "packed" ? [0, 5, 5, 13] : nil
        func run(
            q: Tensor<Double>? = nil, k: Tensor<Double>? = nil, v: Tensor<Double>? = nil, gk: Tensor<Double>? = nil
        )
            throws
        {
            _ = try GLA.chunked(
                q: q ?? x.q, k: k ?? x.k, v: v ?? x.v, gk: gk ?? x.gk, cuSeqlens: cu, chunkSize: 4, subChunkSize: 2)
        }
        var missed: [String] = []
        for i in 0..<x.q.count {
            var q = x.q
            q.scalars[i] = .nan
            var k = x.k
            k.scalars[i] = -.infinity
            var gk = x.gk
            gk.scalars[i] = .infinity
            var positive = x.gk
            positive.scalars[i] = 0.5
            if (try? run(q: q)) != nil { missed.append("q[\(i)]") }
            if (try? run(k: k)) != nil { missed.append("k[\(i)]") }
            if (try? run(gk: gk)) != nil { missed.append("gk[\(i)]") }
            #expect(throws: KernelError.invalidArgument(name: "gk", reason: "log-decays must be ≤ 0, found 0.5")) {
                try run(gk: positive)
            }
        }
        for i in 0..<x.v.count {
            var v = x.v
            v.scalars[i] = .nan
            #expect(throws: KernelError.nonFinite(tensor: "v")) { try run(v: v) }
        }
        #expect(missed.isEmpty, "bad values not found: \(missed)")
        var q = x.q
        q.scalars[q.count - 1] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "q")) { try run(q: q) }
        try run()
    }

    /// Tensors of 2^20 elements or more are scanned in parallel slices: a bad value in any slice is found.
    @Test func largeTensorsAreScannedInSlices() throws {
        let zero = Tensor<Float>(zeros: [1, 8192, 1, 128])
        let v = Tensor<Float>(zeros: [1, 8192, 1, 2])
        var gk = zero
        gk.scalars[gk.count - 1] = 0.5
        #expect(throws: KernelError.invalidArgument(name: "gk", reason: "log-decays must be ≤ 0, found 0.5")) {
            try GLA.chunked(q: zero, k: zero, v: v, gk: gk)
        }
        var k = zero
        k.scalars[k.count / 2 + 3] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "k")) {
            try GLA.chunked(q: zero, k: k, v: v, gk: zero)
        }
    }

    @Test func positiveLogDecayIsRejected() throws {
        var rng = SeededRandom(seed: 1001)
        var x = GLAInputs<Double>(&rng, b: 1, t: 5, h: 1, dk: 3, dv: 2, decay: -1.0...0.0)
        x.gk.scalars[7] = 0.25
        #expect(throws: KernelError.invalidArgument(name: "gk", reason: "log-decays must be ≤ 0, found 0.25")) {
            try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk)
        }
        #expect(throws: KernelError.invalidArgument(name: "gk", reason: "log-decays must be ≤ 0, found 0.25")) {
            try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk)
        }
        var state = Tensor<Double>(zeros: [1, 1, 3, 2])
        #expect(throws: KernelError.invalidArgument(name: "gk", reason: "log-decays must be ≤ 0, found 0.25")) {
            try GLA.step(
                q: glaTokens(x.q, 2, 1), k: glaTokens(x.k, 2, 1), v: glaTokens(x.v, 2, 1),
                gk: glaTokens(x.gk, 2, 1), state: &state)
        }
        #expect(state == Tensor(zeros: [1, 1, 3, 2]))
    }

    @Test func shapeProblemsNameTheTensor() throws {
        var rng = SeededRandom(seed: 1002)
        let x = GLAInputs<Double>(&rng, b: 2, t: 5, h: 1, dk: 3, dv: 2, decay: -1.0...0.0)
        let badV: Tensor<Double> = rng.tensor([2, 4, 1, 2])
        #expect(
            throws: KernelError.shapeMismatch(tensor: "v", shape: [2, 4, 1, 2], expected: "[2, 5, 1, V] with V ≥ 1")
        ) {
            try GLA.chunked(q: x.q, k: x.k, v: badV, gk: x.gk)
        }
        let badK: Tensor<Double> = rng.tensor([2, 5, 1, 4])
        #expect(throws: KernelError.shapeMismatch(tensor: "k", shape: [2, 5, 1, 4], expected: "[2, 5, 1, 3]")) {
            try GLA.chunked(q: x.q, k: badK, v: x.v, gk: x.gk)
        }
        let badGk: Tensor<Double> = rng.tensor([2, 5, 1])
        #expect(throws: KernelError.shapeMismatch(tensor: "gk", shape: [2, 5, 1], expected: "[2, 5, 1, 3]")) {
            try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: badGk)
        }
        let badState = Tensor<Double>(zeros: [1, 1, 3, 2])
        #expect(
            throws: KernelError.shapeMismatch(tensor: "initialState", shape: [1, 1, 3, 2], expected: "[2, 1, 3, 2]")
        ) {
            try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, initialState: badState)
        }
        #expect(throws: KernelError.invalidSequenceBoundaries(reason: "requires batch size B = 1, got B = 2")) {
            try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, cuSeqlens: [0, 5])
        }
        var state = Tensor<Double>(zeros: [2, 1, 3, 3])
        #expect(throws: KernelError.shapeMismatch(tensor: "state", shape: [2, 1, 3, 3], expected: "[2, 1, 3, 2]")) {
            try GLA.step(
                q: Tensor(zeros: [2, 1, 1, 3]), k: Tensor(zeros: [2, 1, 1, 3]), v: Tensor(zeros: [2, 1, 1, 2]),
                gk: Tensor(zeros: [2, 1, 1, 3]), state: &state)
        }
        #expect(
            throws: KernelError.shapeMismatch(tensor: "q", shape: [2, 2, 1, 3], expected: "[B, 1, H, K] with K ≥ 1")
        ) {
            try GLA.step(
                q: Tensor(zeros: [2, 2, 1, 3]), k: Tensor(zeros: [2, 1, 1, 3]), v: Tensor(zeros: [2, 1, 1, 2]),
                gk: Tensor(zeros: [2, 1, 1, 3]), state: &state)
        }
    }

    @Test func badSequenceBoundariesAndArguments() throws {
        var rng = SeededRandom(seed: 1003)
        let x = GLAInputs<Double>(&rng, b: 1, t: 5, h: 1, dk: 3, dv: 2, decay: -1.0...0.0)
        #expect(throws: KernelError.invalidSequenceBoundaries(reason: "must end at the packed length 5, ends at 4")) {
            try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, cuSeqlens: [0, 2, 4])
        }
        #expect(throws: KernelError.invalidSequenceBoundaries(reason: "decreases at index 2: 3 then 1")) {
            try GLA.reference(q: x.q, k: x.k, v: x.v, gk: x.gk, cuSeqlens: [0, 3, 1, 5])
        }
        #expect(throws: KernelError.invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got 0")) {
            try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, chunkSize: 0)
        }
        #expect(throws: KernelError.invalidArgument(name: "subChunkSize", reason: "must be ≥ 1, got -2")) {
            try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, subChunkSize: -2)
        }
        #expect(throws: KernelError.invalidArgument(name: "scale", reason: "must be finite, got nan")) {
            try GLA.chunked(q: x.q, k: x.k, v: x.v, gk: x.gk, scale: .nan)
        }
    }

    @Test func stepRejectsNonFiniteInputs() throws {
        var rng = SeededRandom(seed: 1004)
        let x = GLAInputs<Double>(&rng, b: 1, t: 1, h: 2, dk: 3, dv: 2, decay: -1.0...0.0)
        var state = Tensor<Double>(zeros: [1, 2, 3, 2])
        state.scalars[9] = .infinity
        #expect(throws: KernelError.nonFinite(tensor: "state")) {
            try GLA.step(q: x.q, k: x.k, v: x.v, gk: x.gk, state: &state)
        }
        // A zero query still exposes an infinite state entry (0·∞ = NaN reaches the output).
        var state2 = Tensor<Double>(zeros: [1, 2, 3, 2])
        state2.scalars[2] = -.infinity
        #expect(throws: KernelError.nonFinite(tensor: "state")) {
            try GLA.step(q: Tensor(zeros: [1, 1, 2, 3]), k: x.k, v: x.v, gk: x.gk, state: &state2)
        }
        var good = Tensor<Double>(zeros: [1, 2, 3, 2])
        var q = x.q
        q.scalars[0] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "q")) {
            try GLA.step(q: q, k: x.k, v: x.v, gk: x.gk, state: &good)
        }
        #expect(good == Tensor(zeros: [1, 2, 3, 2]))
    }
}
