import ComplexModule
import Foundation
import LRNNKernels
import LRNNLinearAlgebra

/// The kernels `lrnn bench` measures, at their standard shapes, in Float32.
///
/// Attention-like kernels: B = 1, H = 8, K = V = 128. State-space kernels: B = 1 with their
/// own channel and state sizes (S4D: H = 256, N = 64; S5: H = 256, P = 128). Every effective
/// flop count is that of the dense chunk algorithm at C = 64 (masked products counted in
/// full), whatever chunk size and shortcuts the kernel really uses, so GFLOP/s compare
/// implementations doing the same job.
package enum KernelCatalog {
    /// Heads of the attention-like kernels' standard shape.
    package static let heads = 8
    /// Key and value dimension of the attention-like kernels' standard shape.
    package static let headDim = 128
    /// The chunk length the effective flop counts assume.
    package static let flopChunk = 64.0
    /// S4D channels and state size N (N/2 complex modes per channel).
    package static let s4dChannels = 256
    /// S4D state size N.
    package static let s4dState = 64
    /// S5 channels H.
    package static let s5Channels = 256
    /// S5 complex states P.
    package static let s5States = 128
    /// DeltaProduct's Householder steps per token.
    package static let householder = 2

    /// All kernels, in report order, at their standard shapes.
    package static var all: [BenchKernel] { all(quick: false) }

    /// All kernels, in report order; in quick mode the ParaRNN kernels are narrower (D = 256 instead of
    /// 1,024), the other kernels keep their standard shapes.
    ///
    /// - Parameter quick: whether `lrnn bench --quick` runs.
    package static func all(quick: Bool) -> [BenchKernel] {
        [
            deltaFamily(name: "delta_rule", gated: false, n: 1),
            deltaFamily(name: "gated_delta_rule", gated: true, n: 1),
            deltaFamily(name: "delta_product", gated: true, n: householder),
            gla, s4dConvolution, s5, plstm1D, plstm2D, paraRNN(lstm: false, quick: quick),
            paraRNN(lstm: true, quick: quick),
        ]
    }

    /// The kernel names, in report order.
    package static var names: [String] { all.map(\.name) }

    /// Delta-rule flops per step and head of the dense chunk algorithm at C = 64:
    /// `(6·C·K·V + 6·C²·K + 4·C²·V) / C` — W·S, Q·S and Kᵀ·U' (2·C·K·V each); K·Kᵀ, Q·Kᵀ and the
    /// triangular solve for W (2·C²·K each); the solve for U and P·U' (2·C²·V each).
    package static func deltaFlopsPerStep(keyDim k: Double, valueDim v: Double) -> Double {
        let c = flopChunk
        return (6 * c * k * v + 6 * c * c * k + 4 * c * c * v) / c
    }

    /// GLA flops per token and head of the dense chunk algorithm at C = 64:
    /// `(4·C·K·V + 2·C²·K + 2·C²·V) / C` — (Q⊙Γ)·S and (K⊙Γ')ᵀ·V (2·C·K·V each), the decayed
    /// Q·Kᵀ (2·C²·K) and P·V (2·C²·V).
    package static func glaFlopsPerToken(keyDim k: Double, valueDim v: Double) -> Double {
        let c = flopChunk
        return (4 * c * k * v + 2 * c * c * k + 2 * c * c * v) / c
    }

    // MARK: - Delta rule family

    static func deltaFamily(name: String, gated: Bool, n: Int) -> BenchKernel {
        let (h, d) = (heads, headDim)
        let perStep = deltaFlopsPerStep(keyDim: Double(d), valueDim: Double(d))
        let formula =
            n == 1
            ? "T·H·(6·K·V + 6·64·K + 4·64·V)  [= (6·64·K·V + 6·64²·K + 4·64²·V) per 64 tokens per head]"
            : "\(n)·T·H·(6·K·V + 6·64·K + 4·64·V)  [the delta-rule count over the T·n interleaved steps]"
        let paths =
            "chunk: DeltaRule.chunked\(gated ? " with g" : "")\(n > 1 ? ", numHouseholder: \(n)" : ""), into reused output buffers; "
            + "step: DeltaRule.step per token; naive: DeltaRule.reference; "
            + "forward + backward: the training forward (the chunk path that also keeps the backward's values in a "
            + "kept DeltaRule.Saved), then DeltaRule.backward from them into a kept workspace and gradients"
        return BenchKernel(
            name: name, batch: 1, heads: h, keyDim: d, valueDim: d, flopFormula: formula, pathsDescription: paths,
            effectiveFlops: { t in Double(t * n * h) * perStep },
            prepare: { t, seed in
                var rng = BenchRandom(seed: seed)
                let q = rng.unitRows([1, t, h, d])
                let k = rng.unitRows([1, t * n, h, d])
                let v = rng.tensor([1, t * n, h, d]) { $0.normal() }
                // β = sigmoid(x), x ~ N(0, 1): the models' sigmoid(b_proj x).
                let beta = rng.tensor([1, t * n, h]) { 1 / (1 + Foundation.exp(-$0.normal())) }
                // Log decays log-uniform in [−0.1, −0.001] (per-token decay 0.905 … 0.999), the
                // range −exp(A_log)·softplus(·) takes in trained Gated DeltaNets.
                let g: Tensor<Float>? =
                    gated ? rng.tensor([1, t, h]) { -Foundation.exp(Float(-6.907_755) + 4.605_170 * $0.unit()) } : nil
                let io = 4 * (q.count + k.count + v.count + beta.count + (g?.count ?? 0) + t * h * d + 2 * h * d * d)
                var output = Tensor<Float>(zeros: [1, t, h, d])
                var state = Tensor<Float>(zeros: [1, h, d, d])
                return PreparedBenchKernel(
                    chunk: {
                        mustSucceed(name) {
                            try DeltaRule.chunked(
                                q: q, k: k, v: v, beta: beta, g: g, numHouseholder: n, output: &output,
                                finalState: &state)
                        }
                    },
                    makeStep: {
                        let qs = q.slices(t, shape: [1, 1, h, d])
                        let ks = k.slices(t, shape: [1, n, h, d])
                        let vs = v.slices(t, shape: [1, n, h, d])
                        let bs = beta.slices(t, shape: [1, n, h])
                        let gs = g?.slices(t, shape: [1, 1, h])
                        return {
                            var state = Tensor<Float>(zeros: [1, h, d, d])
                            mustSucceed(name) {
                                for i in 0..<t {
                                    _ = try DeltaRule.step(
                                        q: qs[i], k: ks[i], v: vs[i], beta: bs[i], g: gs?[i], numHouseholder: n,
                                        state: &state)
                                }
                            }
                        }
                    },
                    naive: {
                        mustSucceed(name) {
                            _ = try DeltaRule.reference(q: q, k: k, v: v, beta: beta, g: g, numHouseholder: n)
                        }
                    },
                    makeBackward: {
                        var rng = BenchRandom(seed: cotangentSeed(seed))
                        let dOutput = rng.tensor(output.shape) { $0.normal() }
                        let dState = rng.tensor(state.shape) { $0.normal() }
                        let inputs = DeltaRule.Inputs(q: q, k: k, v: v, beta: beta, g: g)
                        // Caller-owned workspace and gradients, kept across calls like the forward's
                        // output buffers.
                        let workspace = BackwardWorkspace<Float>()
                        let saved = DeltaRule.Saved<Float>()
                        var gradients = DeltaRule.Inputs<Float>(
                            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]),
                            beta: Tensor(zeros: [0]))
                        return {
                            mustSucceed(name) {
                                // A training step: the training forward keeps the values the backward
                                // would recompute, the backward reads them.
                                try DeltaRule.chunked(
                                    inputs, numHouseholder: n, output: &output, finalState: &state, saving: saved)
                                try DeltaRule.backward(
                                    inputs, numHouseholder: n, outputGradient: dOutput, finalStateGradient: dState,
                                    workspace: workspace, gradients: &gradients, saved: saved)
                            }
                        }
                    },
                    ioBytes: io)
            })
    }

    // MARK: - GLA

    static var gla: BenchKernel {
        let (h, d) = (heads, headDim)
        let perToken = glaFlopsPerToken(keyDim: Double(d), valueDim: Double(d))
        return BenchKernel(
            name: "gla", batch: 1, heads: h, keyDim: d, valueDim: d,
            flopFormula: "T·H·(4·K·V + 2·64·K + 2·64·V)  [= (4·64·K·V + 2·64²·K + 2·64²·V) per 64 tokens per head]",
            pathsDescription:
                "chunk: GLA.chunked into reused output buffers; step: GLA.step per token; naive: GLA.reference; "
                + "forward + backward: the training forward (the chunk path that also keeps the chunk-start states in a "
                + "kept GLA.Saved), then GLA.backward from them into a kept workspace and gradients",
            effectiveFlops: { t in Double(t * h) * perToken },
            prepare: { t, seed in
                var rng = BenchRandom(seed: seed)
                // q, k, v are plain projections (normal); gk = logsigmoid(x)/16 with x ~ N(0, 1),
                // fla's GLA gate (per-channel log decay ≈ −0.01 … −0.2).
                let q = rng.tensor([1, t, h, d]) { $0.normal() }
                let k = rng.tensor([1, t, h, d]) { $0.normal() }
                let v = rng.tensor([1, t, h, d]) { $0.normal() }
                let gk = rng.tensor([1, t, h, d]) { r in
                    let x = r.normal()
                    return -Foundation.log1p(Foundation.exp(-x)) / 16
                }
                let io = 4 * (q.count + k.count + v.count + gk.count + t * h * d + 2 * h * d * d)
                var output = Tensor<Float>(zeros: [1, t, h, d])
                var state = Tensor<Float>(zeros: [1, h, d, d])
                return PreparedBenchKernel(
                    chunk: {
                        mustSucceed("gla") {
                            try GLA.chunked(q: q, k: k, v: v, gk: gk, output: &output, finalState: &state)
                        }
                    },
                    makeStep: {
                        let qs = q.slices(t, shape: [1, 1, h, d])
                        let ks = k.slices(t, shape: [1, 1, h, d])
                        let vs = v.slices(t, shape: [1, 1, h, d])
                        let gs = gk.slices(t, shape: [1, 1, h, d])
                        return {
                            var state = Tensor<Float>(zeros: [1, h, d, d])
                            mustSucceed("gla") {
                                for i in 0..<t {
                                    _ = try GLA.step(q: qs[i], k: ks[i], v: vs[i], gk: gs[i], state: &state)
                                }
                            }
                        }
                    },
                    naive: { mustSucceed("gla") { _ = try GLA.reference(q: q, k: k, v: v, gk: gk) } },
                    makeBackward: {
                        var rng = BenchRandom(seed: cotangentSeed(seed))
                        let dOutput = rng.tensor(output.shape) { $0.normal() }
                        let dState = rng.tensor(state.shape) { $0.normal() }
                        let inputs = GLA.Inputs(q: q, k: k, v: v, gk: gk)
                        // Caller-owned workspace and gradients, kept across calls like the forward's
                        // output buffers.
                        let workspace = BackwardWorkspace<Float>()
                        let saved = GLA.Saved<Float>()
                        var gradients = GLA.Inputs<Float>(
                            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]),
                            gk: Tensor(zeros: [0]))
                        return {
                            mustSucceed("gla") {
                                // A training step: the training forward keeps the chunk-start states the
                                // backward would recompute, the backward reads them.
                                try GLA.chunked(inputs, output: &output, finalState: &state, saving: saved)
                                try GLA.backward(
                                    inputs, outputGradient: dOutput, finalStateGradient: dState, workspace: workspace,
                                    gradients: &gradients, saved: saved)
                            }
                        }
                    },
                    ioBytes: io)
            })
    }

    // MARK: - State-space kernels

    static var s4dConvolution: BenchKernel {
        let (h, n) = (s4dChannels, s4dState)
        let c = flopChunk
        return BenchKernel(
            name: "s4d_conv", batch: 1, heads: h, keyDim: n, valueDim: 1,
            flopFormula:
                "T·H·(2·64 + 4·N)  [per chunk of 64 and channel: Toeplitz 2·64², chunk-end states 2·64·N, state read-out 2·64·N]",
            pathsDescription:
                "chunk: S4D.chunked (chunked state passing, ZOH) into reused output buffers; "
                + "step: S4DRecurrence.step per token; "
                + "naive: S4D.recurrent (the complex recurrence, token by token); "
                + "forward + backward: the chunk path, then S4D.backward",
            effectiveFlops: { t in Double(t * h) * (2 * c + 4 * Double(n)) },
            prepare: { t, seed in
                let params: S4DParameters<Float>
                do {
                    params = try S4DParameters<Double>.initialized(
                        channels: h, stateSize: n, initialization: .lin, seed: seed
                    ).converted(to: Float.self)
                } catch { preconditionFailure("s4d_conv: parameters: \(error)") }
                var rng = BenchRandom(seed: seed)
                let u = rng.tensor([1, t, h]) { $0.normal() }
                let recurrence = S4DRecurrence(params, discretization: .zoh)
                let io = 4 * (2 * u.count + 2 * h * n)
                var output = Tensor<Float>(zeros: u.shape)
                var state = recurrence.zeroState(batch: 1)
                return PreparedBenchKernel(
                    chunk: {
                        mustSucceed("s4d_conv") {
                            try S4D.chunked(
                                S4D.Inputs(u: u, parameters: params), discretization: .zoh, output: &output,
                                finalState: &state)
                        }
                    },
                    makeStep: {
                        let us = u.slices(t, shape: [1, h])
                        return {
                            var state = recurrence.zeroState(batch: 1)
                            mustSucceed("s4d_conv") {
                                for i in 0..<t { _ = try recurrence.step(us[i], state: &state) }
                            }
                        }
                    },
                    naive: {
                        mustSucceed("s4d_conv") {
                            _ = try S4D.recurrent(S4D.Inputs(u: u, parameters: params), discretization: .zoh)
                        }
                    },
                    makeBackward: {
                        var rng = BenchRandom(seed: cotangentSeed(seed))
                        let dOutput = rng.tensor(u.shape) { $0.normal() }
                        let dState = rng.complexTensor(state.shape)
                        let inputs = S4D.Inputs(u: u, parameters: params)
                        return {
                            mustSucceed("s4d_conv") {
                                try S4D.chunked(inputs, discretization: .zoh, output: &output, finalState: &state)
                                _ = try S4D.backward(
                                    inputs, discretization: .zoh, outputGradient: dOutput, finalStateGradient: dState)
                            }
                        }
                    },
                    ioBytes: io)
            })
    }

    static var s5: BenchKernel {
        let (h, p) = (s5Channels, s5States)
        return BenchKernel(
            name: "s5", batch: 1, heads: h, keyDim: p, valueDim: 1,
            flopFormula:
                "T·(8·P·H + 8·P + 2·H)  [U·[Re B̄; Im B̄]ᵀ and X·[Re C, −Im C]ᵀ (4·P·H each), complex scan 8·P, skip 2·H]",
            pathsDescription:
                "chunk: S5.chunked (GEMM–scan–GEMM per chunk, ZOH) into reused output buffers; step: S5.step per token; "
                + "naive: S5.reference; forward + backward: the chunk path, then S5.backward",
            effectiveFlops: { t in Double(t) * Double(8 * p * h + 8 * p + 2 * h) },
            prepare: { t, seed in
                var rng = BenchRandom(seed: seed)
                // S5's initialisation shape: Λ_p = −½ + iπp (S4D-Lin poles), B ~ N(0, 1/H),
                // C ~ N(0, 1/P), log Δ uniform in [log 1e-3, log 1e-1], D ~ N(0, 1).
                let params: S5Parameters<Float>
                do {
                    params = try S5Parameters(
                        lambdaRe: Tensor(shape: [p], repeating: -0.5),
                        lambdaIm: Tensor(shape: [p], scalars: (0..<p).map { Float.pi * Float($0) }),
                        bRe: rng.tensor([p, h]) { $0.normal() / Float(h).squareRoot() },
                        bIm: rng.tensor([p, h]) { $0.normal() / Float(h).squareRoot() },
                        cRe: rng.tensor([h, p]) { $0.normal() / Float(p).squareRoot() },
                        cIm: rng.tensor([h, p]) { $0.normal() / Float(p).squareRoot() },
                        logStep: rng.tensor([p]) { Float(-6.907_755) + 4.605_170 * $0.unit() },
                        d: rng.tensor([h]) { $0.normal() }, conjugateSymmetric: true)
                } catch { preconditionFailure("s5: parameters: \(error)") }
                let system = S5System(params, discretization: .zoh)
                let u = rng.tensor([1, t, h]) { $0.normal() }
                let io = 4 * (2 * u.count + 2 * p)
                var output = Tensor<Float>(zeros: u.shape)
                var state = system.zeroState(batch: 1)
                return PreparedBenchKernel(
                    chunk: {
                        mustSucceed("s5") { try S5.chunked(u, system: system, output: &output, finalState: &state) }
                    },
                    makeStep: {
                        let us = u.slices(t, shape: [1, h])
                        return {
                            var state = system.zeroState(batch: 1)
                            mustSucceed("s5") {
                                for i in 0..<t { _ = try S5.step(us[i], system: system, state: &state) }
                            }
                        }
                    },
                    naive: {
                        mustSucceed("s5") {
                            _ = try S5.reference(S5.Inputs(u: u, parameters: params), discretization: .zoh)
                        }
                    },
                    makeBackward: {
                        var rng = BenchRandom(seed: cotangentSeed(seed))
                        let dOutput = rng.tensor(u.shape) { $0.normal() }
                        let dState = rng.complexTensor(state.shape)
                        let inputs = S5.Inputs(u: u, parameters: params)
                        return {
                            mustSucceed("s5") {
                                try S5.chunked(u, system: system, output: &output, finalState: &state)
                                _ = try S5.backward(
                                    inputs, discretization: .zoh, outputGradient: dOutput, finalStateGradient: dState)
                            }
                        }
                    },
                    ioBytes: io)
            })
    }
}

/// The seed of a kernel's cotangents, distinct from its inputs' seed.
func cotangentSeed(_ seed: UInt64) -> UInt64 { seed &+ 0xC07A_4E47 }

/// Runs a kernel call on generated (valid) inputs; an error here is a bug in the catalog.
@inline(__always)
func mustSucceed(_ kernel: String, _ body: () throws -> Void) {
    do { try body() } catch { preconditionFailure("\(kernel): kernel rejected benchmark inputs: \(error)") }
}
