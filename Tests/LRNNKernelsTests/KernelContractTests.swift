import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// The verbs of the kernel-family contract (docs/kernels/contract.md): for every family,
/// `chunked`, `recurrent` and `reference` agree in Float64 on random shapes, with packed sequences
/// that include empty and length-1 sequences and lengths that are not multiples of the chunk size.
@Suite("Kernel-family contract: chunked, recurrent and reference agree")
struct KernelContractTests {
    /// Random boundaries over `total` tokens with at least one empty and one length-1 sequence.
    static func packedBoundaries(total: Int, rng: inout SeededRandom) throws -> SequenceBoundaries {
        precondition(total >= 3)
        var lengths = [0, 1]
        var left = total - 1
        while left > 0 {
            let l = Swift.min(left, 1 + Int(rng.next() % 9))
            lengths.append(l)
            left -= l
        }
        lengths.append(0)
        // Shuffle deterministically so the empty and length-1 sequences are not always first.
        for i in stride(from: lengths.count - 1, to: 0, by: -1) {
            lengths.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return try SequenceBoundaries(lengths: lengths)
    }

    /// `max|x − y| / max|y|` of two results, outputs and final states.
    static func agree<S: LRNNScalar>(
        _ x: (output: Tensor<S>, finalState: Tensor<S>), _ y: (output: Tensor<S>, finalState: Tensor<S>)
    ) -> Double {
        Swift.max(x.output.relativeError(to: y.output), x.finalState.relativeError(to: y.finalState))
    }

    /// The same for complex final states.
    static func agree<S: LRNNScalar>(
        _ x: (output: Tensor<S>, finalState: Tensor<Complex<S>>),
        _ y: (output: Tensor<S>, finalState: Tensor<Complex<S>>)
    ) -> Double {
        func parts(_ z: Tensor<Complex<S>>) -> Tensor<S> {
            Tensor(shape: z.shape + [2], scalars: z.scalars.flatMap { [$0.real, $0.imaginary] })
        }
        return Swift.max(
            x.output.relativeError(to: y.output), parts(x.finalState).relativeError(to: parts(y.finalState)))
    }

    @Test("DeltaRule: chunked, recurrent, reference (n = 1…3, gated or not, packed or batched)")
    func deltaRule() throws {
        var rng = SeededRandom(seed: 1301)
        for trial in 0..<12 {
            let n = 1 + trial % 3
            let gated = trial % 2 == 0
            let packed = trial % 4 >= 2
            let chunk = [4, 8, 16][trial % 3] * n
            let t = 3 + Int(rng.next() % 37)  // rarely a multiple of the chunk
            let b = packed ? 1 : 1 + Int(rng.next() % 3)
            let cu = packed ? try Self.packedBoundaries(total: t, rng: &rng) : nil
            let x = DeltaRuleInputs<Double>(
                batch: b, tokens: t, heads: 2, keyDim: 3 + Int(rng.next() % 5), valueDim: 2 + Int(rng.next() % 5),
                householder: n, gated: gated, initialState: trial % 3 != 1, cuSeqlens: cu?.offsets, rng: &rng)
            let scale = 0.7
            let reference = try DeltaRule.reference(x.inputs, scale: scale, numHouseholder: n, sequences: cu)
            let chunked = try DeltaRule.chunked(
                x.inputs, scale: scale, numHouseholder: n, sequences: cu, chunkSize: chunk)
            let recurrent = try DeltaRule.recurrent(x.inputs, scale: scale, numHouseholder: n, sequences: cu)
            #expect(Self.agree(chunked, reference) <= 1e-10, "trial \(trial)")
            #expect(Self.agree(recurrent, reference) <= 1e-10, "trial \(trial)")
            #expect(reference.finalState.shape[0] == (cu?.count ?? b))
            // The caller-owned form writes the same bits as the allocating one.
            var output = Tensor<Double>.zeros(chunked.output.shape)
            var state = Tensor<Double>.zeros(chunked.finalState.shape)
            try DeltaRule.chunked(
                x.inputs, scale: scale, numHouseholder: n, sequences: cu, chunkSize: chunk, output: &output,
                finalState: &state)
            #expect(output == chunked.output && state == chunked.finalState)
        }
    }

    @Test("GLA: chunked, recurrent, reference (packed or batched)")
    func gla() throws {
        var rng = SeededRandom(seed: 1302)
        for trial in 0..<10 {
            let packed = trial % 2 == 1
            let t = 3 + Int(rng.next() % 45)
            let b = packed ? 1 : 1 + Int(rng.next() % 3)
            let cu = packed ? try Self.packedBoundaries(total: t, rng: &rng) : nil
            let (h, dk, dv) = (2, 2 + Int(rng.next() % 6), 1 + Int(rng.next() % 6))
            let n = cu?.count ?? b
            let inputs = GLA.Inputs<Double>(
                q: rng.tensor([b, t, h, dk]), k: rng.tensor([b, t, h, dk]), v: rng.tensor([b, t, h, dv]),
                gk: rng.tensor([b, t, h, dk], -3...0),
                initialState: trial % 3 == 0 ? nil : rng.tensor([n, h, dk, dv]))
            let chunk = [8, 16, 32][trial % 3]
            let reference = try GLA.reference(inputs, scale: 0.6, sequences: cu)
            let chunked = try GLA.chunked(inputs, scale: 0.6, sequences: cu, chunkSize: chunk, subChunkSize: 4)
            let recurrent = try GLA.recurrent(inputs, scale: 0.6, sequences: cu)
            #expect(Self.agree(chunked, reference) <= 1e-10, "trial \(trial)")
            #expect(Self.agree(recurrent, reference) <= 1e-10, "trial \(trial)")
            #expect(reference.finalState.shape == [n, h, dk, dv])
        }
    }

    @Test("S4D: chunked, recurrent, reference (zoh and bilinear, packed or batched)")
    func s4d() throws {
        var rng = SeededRandom(seed: 1303)
        for trial in 0..<8 {
            let packed = trial % 2 == 1
            let disc = SSMDiscretization.allCases[(trial / 2) % 2]
            let t = 3 + Int(rng.next() % 60)
            let b = packed ? 1 : 1 + Int(rng.next() % 3)
            let cu = packed ? try Self.packedBoundaries(total: t, rng: &rng) : nil
            let (h, n2) = (3 + Int(rng.next() % 4), 2 + Int(rng.next() % 4))
            let p = try randomS4D(channels: h, modes: n2, seed: 1303 + UInt64(trial), as: Double.self)
            let n = cu?.count ?? b
            let initial: Tensor<Complex<Double>>? =
                trial % 3 == 0
                ? nil
                : Tensor(
                    shape: [n, h, n2], scalars: (0..<(n * h * n2)).map { _ in Complex(rng.normal(), rng.normal()) })
            let inputs = S4D.Inputs(
                u: rng.normalTensor([b, t, h], as: Double.self), parameters: p, initialState: initial)
            let chunk = [4, 7, 16][trial % 3]
            let reference = try S4D.reference(inputs, discretization: disc, sequences: cu)
            let chunked = try S4D.chunked(inputs, discretization: disc, sequences: cu, chunkSize: chunk)
            let recurrent = try S4D.recurrent(inputs, discretization: disc, sequences: cu)
            #expect(Self.agree(chunked, reference) <= 1e-10, "trial \(trial) \(disc)")
            #expect(Self.agree(recurrent, reference) <= 1e-10, "trial \(trial) \(disc)")
            #expect(reference.finalState.shape == [n, h, n2])
        }
    }

    @Test("S5: chunked, recurrent, reference (zoh and bilinear, packed or batched, conjugate or full)")
    func s5() throws {
        var rng = SeededRandom(seed: 1304)
        for trial in 0..<8 {
            let packed = trial % 2 == 1
            let disc = SSMDiscretization.allCases[(trial / 2) % 2]
            let t = 3 + Int(rng.next() % 60)
            let b = packed ? 1 : 1 + Int(rng.next() % 3)
            let cu = packed ? try Self.packedBoundaries(total: t, rng: &rng) : nil
            let (p, h) = (2 + Int(rng.next() % 6), 1 + Int(rng.next() % 5))
            let parameters = try S5Parameters<Double>(
                lambdaRe: rng.tensor([p], -1...(-0.05)), lambdaIm: rng.tensor([p], -5...5), bRe: rng.tensor([p, h]),
                bIm: rng.tensor([p, h]), cRe: rng.tensor([h, p]), cIm: rng.tensor([h, p]),
                logStep: rng.tensor([p], -4...(-1)), d: rng.tensor([h]), conjugateSymmetric: trial % 3 != 0)
            let n = cu?.count ?? b
            let initial: Tensor<Complex<Double>>? =
                trial % 3 == 1
                ? nil : Tensor(shape: [n, p], scalars: (0..<(n * p)).map { _ in Complex(rng.normal(), rng.normal()) })
            let inputs = S5.Inputs(
                u: rng.normalTensor([b, t, h], as: Double.self), parameters: parameters, initialState: initial)
            let chunk = [1, 5, 16][trial % 3]
            let reference = try S5.reference(inputs, discretization: disc, sequences: cu)
            let chunked = try S5.chunked(inputs, discretization: disc, sequences: cu, chunkSize: chunk)
            let recurrent = try S5.recurrent(inputs, discretization: disc, sequences: cu)
            #expect(Self.agree(chunked, reference) <= 1e-10, "trial \(trial) \(disc)")
            #expect(Self.agree(recurrent, reference) <= 1e-10, "trial \(trial) \(disc)")
            #expect(reference.finalState.shape == [n, p])
        }
    }

    @Test("S4D and S5 packed sequences equal each sequence run alone from its own state")
    func ssmPackedEqualsSeparate() throws {
        var rng = SeededRandom(seed: 1305)
        let cu = try SequenceBoundaries(lengths: [5, 0, 1, 13, 2])
        let t = cu.total
        let (h, n2, p) = (3, 4, 6)
        let s4dParameters = try randomS4D(channels: h, modes: n2, seed: 77, as: Double.self)
        let s5Parameters = try S5Parameters<Double>(
            lambdaRe: rng.tensor([p], -1...(-0.05)), lambdaIm: rng.tensor([p], -5...5), bRe: rng.tensor([p, h]),
            bIm: rng.tensor([p, h]), cRe: rng.tensor([h, p]), cIm: rng.tensor([h, p]),
            logStep: rng.tensor([p], -4...(-1)), d: rng.tensor([h]), conjugateSymmetric: true)
        let u: Tensor<Double> = rng.normalTensor([1, t, h])
        let s4dInitial = Tensor(
            shape: [cu.count, h, n2],
            scalars: (0..<(cu.count * h * n2)).map { _ in Complex(rng.normal(), rng.normal()) })
        let s5Initial = Tensor(
            shape: [cu.count, p], scalars: (0..<(cu.count * p)).map { _ in Complex(rng.normal(), rng.normal()) })
        let s4d = try S4D.chunked(
            S4D.Inputs(u: u, parameters: s4dParameters, initialState: s4dInitial), discretization: .zoh,
            sequences: cu, chunkSize: 4)
        let s5 = try S5.chunked(
            S5.Inputs(u: u, parameters: s5Parameters, initialState: s5Initial), discretization: .bilinear,
            sequences: cu, chunkSize: 4)
        for s in 0..<cu.count {
            let us = u.slice(batches: 0..<1, tokens: cu[s])
            let alone4 = try S4D.chunked(
                S4D.Inputs(u: us, parameters: s4dParameters, initialState: s4dInitial.slice(batches: s..<(s + 1))),
                discretization: .zoh, chunkSize: 4)
            #expect(
                Self.agree(
                    alone4,
                    (s4d.output.slice(batches: 0..<1, tokens: cu[s]), s4d.finalState.slice(batches: s..<(s + 1))))
                    <= 1e-12)
            let alone5 = try S5.chunked(
                S5.Inputs(u: us, parameters: s5Parameters, initialState: s5Initial.slice(batches: s..<(s + 1))),
                discretization: .bilinear, chunkSize: 4)
            #expect(
                Self.agree(
                    alone5, (s5.output.slice(batches: 0..<1, tokens: cu[s]), s5.finalState.slice(batches: s..<(s + 1))))
                    <= 1e-12)
        }
        // An empty sequence's final state is its initial state.
        #expect(s4d.finalState.slice(batches: 1..<2) == s4dInitial.slice(batches: 1..<2))
        #expect(s5.finalState.slice(batches: 1..<2) == s5Initial.slice(batches: 1..<2))
    }

    @Test("static step equals the system's step: S4D from parameters, S5 from parameters")
    func staticSteps() throws {
        var rng = SeededRandom(seed: 1306)
        let p4 = try randomS4D(channels: 3, modes: 2, seed: 5, as: Double.self)
        let u: Tensor<Double> = rng.normalTensor([2, 3])
        var a = Tensor<Complex<Double>>.zeros([2, 3, 2])
        var b = a
        let ya = try S4D.step(u, parameters: p4, discretization: .bilinear, state: &a)
        let yb = try S4DRecurrence(p4, discretization: .bilinear).step(u, state: &b)
        #expect(ya == yb && a == b)
        let p5 = try SSMS5Tests.params(seed: 4, conj: false)
        let u5: Tensor<Double> = rng.normalTensor([2, 5])
        var c = Tensor<Complex<Double>>.zeros([2, 9])
        var d = c
        let yc = try S5.step(u5, parameters: p5, discretization: .zoh, state: &c)
        let yd = try S5.step(u5, system: S5System(p5, discretization: .zoh), state: &d)
        #expect(yc == yd && c == d)
    }
}

/// Every verb throws a typed error for what a caller can pass, the references included.
@Suite("Kernel-family contract: typed errors")
struct KernelContractErrorTests {
    @Test("S5.reference throws on a bad u, state or boundaries instead of trapping")
    func s5Reference() throws {
        let p = try SSMS5Tests.params(seed: 3, conj: true)  // P = 9, H = 5
        #expect(throws: KernelError.shapeMismatch(tensor: "u", shape: [1, 4, 3], expected: "[B, T, 5]")) {
            _ = try S5.reference(S5.Inputs(u: Tensor<Double>.zeros([1, 4, 3]), parameters: p), discretization: .zoh)
        }
        #expect(throws: KernelError.shapeMismatch(tensor: "u", shape: [4, 5], expected: "[B, T, 5]")) {
            _ = try S5.reference(S5.Inputs(u: Tensor<Double>.zeros([4, 5]), parameters: p), discretization: .zoh)
        }
        var u = Tensor<Double>.zeros([1, 4, 5])
        #expect(throws: KernelError.shapeMismatch(tensor: "initialState", shape: [2, 9], expected: "[1, 9]")) {
            _ = try S5.reference(
                S5.Inputs(u: u, parameters: p, initialState: .zeros([2, 9])), discretization: .zoh)
        }
        #expect(throws: KernelError.invalidSequenceBoundaries(reason: "must end at the packed length 4, ends at 3")) {
            _ = try S5.reference(
                S5.Inputs(u: u, parameters: p), discretization: .zoh, sequences: SequenceBoundaries([0, 3]))
        }
        var bad = p
        bad.cRe = Tensor<Double>.zeros([5, 8])
        #expect(throws: KernelError.shapeMismatch(tensor: "C_re", shape: [5, 8], expected: "[5, 9]")) {
            _ = try S5.reference(S5.Inputs(u: u, parameters: bad), discretization: .zoh)
        }
        u.scalars[3] = .nan
        #expect(throws: KernelError.nonFinite(tensor: "u")) {
            _ = try S5.reference(S5.Inputs(u: u, parameters: p), discretization: .zoh)
        }
    }

    @Test("S4D.kernelReference and S4D.reference throw instead of trapping")
    func s4dReference() throws {
        let p = try randomS4D(channels: 3, modes: 2, seed: 9, as: Double.self)
        #expect(throws: KernelError.invalidArgument(name: "L", reason: "must be ≥ 0, got -1")) {
            _ = try S4D.kernelReference(p, length: -1, discretization: .zoh)
        }
        var bad = p
        bad.bIm = Tensor<Double>.zeros([3, 5])
        #expect(throws: KernelError.shapeMismatch(tensor: "B_im", shape: [3, 5], expected: "[3, 2]")) {
            _ = try S4D.kernelReference(bad, length: 4, discretization: .zoh)
        }
        #expect(throws: KernelError.shapeMismatch(tensor: "B_im", shape: [3, 5], expected: "[3, 2]")) {
            _ = try S4D.reference(S4D.Inputs(u: .zeros([1, 4, 3]), parameters: bad), discretization: .zoh)
        }
        #expect(throws: KernelError.shapeMismatch(tensor: "u", shape: [1, 4, 2], expected: "[B, T, 3]")) {
            _ = try S4D.reference(S4D.Inputs(u: .zeros([1, 4, 2]), parameters: p), discretization: .bilinear)
        }
        #expect(throws: KernelError.shapeMismatch(tensor: "initialState", shape: [1, 3, 2], expected: "[2, 3, 2]")) {
            _ = try S4D.reference(
                S4D.Inputs(u: .zeros([1, 4, 3]), parameters: p, initialState: .zeros([1, 3, 2])),
                discretization: .zoh, sequences: SequenceBoundaries([0, 1, 4]))
        }
        var state = Tensor<Complex<Double>>.zeros([1, 3, 2])
        state.scalars[0] = Complex(.infinity, 0)
        #expect(throws: KernelError.nonFinite(tensor: "initialState")) {
            _ = try S4D.chunked(
                S4D.Inputs(u: .zeros([1, 4, 3]), parameters: p, initialState: state), discretization: .zoh)
        }
        #expect(throws: KernelError.invalidSequenceBoundaries(reason: "requires batch size B = 1, got B = 2")) {
            _ = try S4D.recurrent(
                S4D.Inputs(u: .zeros([2, 4, 3]), parameters: p), discretization: .zoh,
                sequences: SequenceBoundaries([0, 4]))
        }
        #expect(throws: KernelError.invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got 0")) {
            _ = try S4D.chunked(S4D.Inputs(u: .zeros([1, 4, 3]), parameters: p), discretization: .zoh, chunkSize: 0)
        }
    }

    @Test("DeltaRule and GLA verbs: the same boundary errors from every verb")
    func boundaryErrors() throws {
        var rng = SeededRandom(seed: 1307)
        let x = DeltaRuleInputs<Double>(
            batch: 2, tokens: 5, heads: 1, keyDim: 3, valueDim: 2, householder: 1, gated: true, initialState: false,
            rng: &rng)
        let batchError = KernelError.invalidSequenceBoundaries(reason: "requires batch size B = 1, got B = 2")
        let cu = try SequenceBoundaries([0, 5])
        #expect(throws: batchError) { _ = try DeltaRule.chunked(x.inputs, sequences: cu) }
        #expect(throws: batchError) { _ = try DeltaRule.recurrent(x.inputs, sequences: cu) }
        #expect(throws: batchError) { _ = try DeltaRule.reference(x.inputs, sequences: cu) }
        let g = GLA.Inputs<Double>(q: x.q, k: x.q, v: x.v, gk: rng.tensor([2, 5, 1, 3], -1...0))
        #expect(throws: batchError) { _ = try GLA.chunked(g, sequences: cu) }
        #expect(throws: batchError) { _ = try GLA.recurrent(g, sequences: cu) }
        #expect(throws: batchError) { _ = try GLA.reference(g, sequences: cu) }
        let one = GLA.Inputs<Double>(
            q: x.q.slice(batches: 0..<1), k: x.q.slice(batches: 0..<1), v: x.v.slice(batches: 0..<1),
            gk: g.gk.slice(batches: 0..<1))
        let short = try SequenceBoundaries([0, 2, 4])
        let totalError = KernelError.invalidSequenceBoundaries(reason: "must end at the packed length 5, ends at 4")
        #expect(throws: totalError) { _ = try GLA.chunked(one, sequences: short) }
        #expect(throws: totalError) { _ = try GLA.recurrent(one, sequences: short) }
        #expect(throws: totalError) { _ = try GLA.reference(one, sequences: short) }
        let dr = DeltaRule.Inputs(
            q: x.q.slice(batches: 0..<1), k: x.k.slice(batches: 0..<1), v: x.v.slice(batches: 0..<1),
            beta: x.beta.slice(batches: 0..<1))
        #expect(throws: totalError) { _ = try DeltaRule.chunked(dr, sequences: short) }
        #expect(throws: totalError) { _ = try DeltaRule.recurrent(dr, sequences: short) }
        #expect(throws: totalError) { _ = try DeltaRule.reference(dr, sequences: short) }
    }
}
