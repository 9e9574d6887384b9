import LRNNLinearAlgebra
import LRNNTestSupport
import Synchronization
import Testing

@testable import LRNNKernels

/// The caller-owned forms of the delta-rule and GLA backward passes (a kept ``BackwardWorkspace``
/// and gradients overwritten in place) give the allocating forms' gradients bit for bit, whatever
/// the workspace and the gradients held before.
@Suite struct BackwardWorkspaceTests {
    /// Cases of different shapes, gates, initial states, n and packing, in the order one
    /// workspace serves them (it grows at the third and is then reused by smaller calls).
    static func cases() throws -> [(DeltaRuleBackwardCase, chunkSize: Int)] {
        [
            (
                try DeltaRuleBackwardCase(
                    batch: 2, tokens: 19, heads: 3, keyDim: 5, valueDim: 4, n: 1, gated: true, initialState: true,
                    seed: 11), 4
            ),
            (
                try DeltaRuleBackwardCase(
                    batch: 1, tokens: 0, heads: 2, keyDim: 3, valueDim: 6, n: 2, gated: false, initialState: false,
                    lengths: [7, 0, 1, 12], outputGradient: true, finalStateGradient: false, seed: 12), 4
            ),
            (
                try DeltaRuleBackwardCase(
                    batch: 1, tokens: 70, heads: 4, keyDim: 8, valueDim: 8, n: 1, gated: true, initialState: false,
                    gates: -7...0, seed: 13), 16
            ),
            (
                try DeltaRuleBackwardCase(
                    batch: 2, tokens: 19, heads: 3, keyDim: 5, valueDim: 4, n: 1, gated: true, initialState: true,
                    outputGradient: false, seed: 14), 8
            ),
        ]
    }

    static func expectIdentical(
        _ a: DeltaRule.Inputs<Double>, _ b: DeltaRule.Inputs<Double>, _ label: String
    ) {
        #expect(a.q.shape == b.q.shape && a.q.scalars == b.q.scalars, "\(label): dq")
        #expect(a.k.shape == b.k.shape && a.k.scalars == b.k.scalars, "\(label): dk")
        #expect(a.v.shape == b.v.shape && a.v.scalars == b.v.scalars, "\(label): dv")
        #expect(a.beta.shape == b.beta.shape && a.beta.scalars == b.beta.scalars, "\(label): dbeta")
        #expect(a.g?.shape == b.g?.shape && a.g?.scalars == b.g?.scalars, "\(label): dg")
        #expect(
            a.initialState?.shape == b.initialState?.shape && a.initialState?.scalars == b.initialState?.scalars,
            "\(label): dh0")
    }

    @Test("one workspace and one gradient value over calls of different shapes: the allocating form's bits")
    func reusedAcrossShapes() throws {
        let workspace = BackwardWorkspace<Double>()
        #expect(workspace.capacity == 0)
        // Gradients that start with shapes of nothing the inputs have, and a stale g and h0.
        var gradients = DeltaRule.Inputs<Double>(
            q: Tensor(zeros: [1]), k: Tensor(zeros: [2]), v: Tensor(zeros: [3]), beta: Tensor(zeros: [4]),
            g: Tensor(zeros: [5]), initialState: Tensor(zeros: [6]))
        var capacities: [Int] = []
        for (index, (c, chunkSize)) in try Self.cases().enumerated() {
            let expected = try c.backward(chunkSize: chunkSize)
            try DeltaRule.backward(
                c.inputs, scale: c.scale, numHouseholder: c.n, sequences: c.sequences, chunkSize: chunkSize,
                outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient, workspace: workspace,
                gradients: &gradients)
            Self.expectIdentical(gradients, expected, "case \(index)")
            #expect((gradients.g != nil) == (c.inputs.g != nil), "case \(index): g present as in the inputs")
            #expect(
                (gradients.initialState != nil) == (c.inputs.initialState != nil),
                "case \(index): initialState present as in the inputs")
            capacities.append(workspace.capacity)
        }
        // The workspace grows to the largest call and is kept for the smaller ones after it.
        #expect(capacities[0] > 0)
        #expect(capacities[2] > capacities[0])
        #expect(capacities[3] == capacities[2])
    }

    @Test("GLA: one workspace and one gradient value over calls of different shapes: the allocating form's bits")
    func glaReusedAcrossShapes() throws {
        var rng = SeededRandom(seed: 21)
        let decay: (inout SeededRandom) -> Double = { $0.uniform(-0.7...(-0.01)) }
        let cases: [(GLABackwardCase<Double>, chunkSize: Int, subChunkSize: Int)] = [
            (try GLABackwardCase(&rng, b: 2, t: 19, h: 3, dk: 5, dv: 4, decay: decay), 8, 4),
            (
                try GLABackwardCase(
                    &rng, b: 1, t: 20, h: 2, dk: 3, dv: 6, lengths: [7, 0, 1, 12], decay: decay,
                    withInitialState: false, withFinalStateGradient: false), 4, 2
            ),
            (try GLABackwardCase(&rng, b: 1, t: 70, h: 4, dk: 8, dv: 8, decay: decay), 32, 16),
            (
                try GLABackwardCase(&rng, b: 2, t: 19, h: 3, dk: 5, dv: 4, decay: decay, withOutputGradient: false),
                8, 8
            ),
        ]
        let workspace = BackwardWorkspace<Double>()
        var gradients = GLA.Inputs<Double>(
            q: Tensor(zeros: [1]), k: Tensor(zeros: [2]), v: Tensor(zeros: [3]), gk: Tensor(zeros: [4]),
            initialState: Tensor(zeros: [5]))
        var capacities: [Int] = []
        for (index, (c, chunkSize, subChunkSize)) in cases.enumerated() {
            let expected = try c.backward(chunkSize: chunkSize, subChunkSize: subChunkSize)
            try GLA.backward(
                c.inputs, scale: c.scale, sequences: c.sequences, chunkSize: chunkSize, subChunkSize: subChunkSize,
                outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient, workspace: workspace,
                gradients: &gradients)
            let label = "case \(index)"
            #expect(gradients.q.shape == expected.q.shape && gradients.q.scalars == expected.q.scalars, "\(label): dq")
            #expect(gradients.k.shape == expected.k.shape && gradients.k.scalars == expected.k.scalars, "\(label): dk")
            #expect(gradients.v.shape == expected.v.shape && gradients.v.scalars == expected.v.scalars, "\(label): dv")
            #expect(
                gradients.gk.shape == expected.gk.shape && gradients.gk.scalars == expected.gk.scalars, "\(label): dgk")
            #expect(
                gradients.initialState?.shape == expected.initialState?.shape
                    && gradients.initialState?.scalars == expected.initialState?.scalars, "\(label): dh0")
            #expect((gradients.initialState != nil) == (c.inputs.initialState != nil), "\(label): dh0 present")
            capacities.append(workspace.capacity)
        }
        #expect(capacities[0] > 0)
        #expect(capacities[2] > capacities[0])
        #expect(capacities[3] == capacities[2])
    }

    @Test("a workspace held by one call is not handed to another; released, it is reused")
    func heldWorkspace() {
        let workspace = BackwardWorkspace<Float>()
        let first = workspace.acquire(count: 100)
        #expect(first != nil)
        #expect(workspace.acquire(count: 10) == nil)
        workspace.release()
        let again = workspace.acquire(count: 50)
        #expect(again == first)
        #expect(workspace.capacity == 100)
        workspace.release()
    }

    @Test("concurrent calls sharing one workspace give the allocating form's bits")
    func sharedBetweenThreads() throws {
        let (c, chunkSize) = try Self.cases()[2]
        let expected = try c.backward(chunkSize: chunkSize)
        let workspace = BackwardWorkspace<Double>()
        let results = Mutex<[DeltaRule.Inputs<Double>]>([])
        Threading.parallelFor(4) { _ in
            var gradients = DeltaRule.Inputs<Double>(
                q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), beta: Tensor(zeros: [0]))
            for _ in 0..<3 {
                try? DeltaRule.backward(
                    c.inputs, scale: c.scale, numHouseholder: c.n, sequences: c.sequences, chunkSize: chunkSize,
                    outputGradient: c.outputGradient, finalStateGradient: c.finalStateGradient,
                    workspace: workspace, gradients: &gradients)
                results.withLock { $0.append(gradients) }
            }
        }
        let all = results.withLock { $0 }
        #expect(all.count == 12)
        for (index, r) in all.enumerated() { Self.expectIdentical(r, expected, "call \(index)") }
    }

    @Test("the caller-owned form refuses bad arguments before any work and leaves the gradients unchanged")
    func errors() throws {
        let (c, _) = try Self.cases()[0]
        let workspace = BackwardWorkspace<Double>()
        var gradients = DeltaRule.Inputs<Double>(
            q: Tensor(zeros: [1]), k: Tensor(zeros: [1]), v: Tensor(zeros: [1]), beta: Tensor(zeros: [1]))
        #expect(throws: KernelError.invalidArgument(name: "chunkSize", reason: "must be at least 1, got 0")) {
            try DeltaRule.backward(
                c.inputs, chunkSize: 0, outputGradient: c.outputGradient, finalStateGradient: nil,
                workspace: workspace, gradients: &gradients)
        }
        #expect(
            throws: KernelError.shapeMismatch(tensor: "outputGradient", shape: [3], expected: "[2, 19, 3, 4]")
        ) {
            try DeltaRule.backward(
                c.inputs, outputGradient: Tensor(zeros: [3]), finalStateGradient: nil, workspace: workspace,
                gradients: &gradients)
        }
        #expect(gradients.q.shape == [1] && gradients.g == nil)
        #expect(workspace.capacity == 0)
    }
}
