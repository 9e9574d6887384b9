import Foundation
import LRNNKernels
import LRNNLinearAlgebra

extension KernelCatalog {
    /// pLSTM 2-D heads of the standard shape (64 × 64 grid, 4 heads of 32).
    package static let plstm2DHeads = 4
    /// pLSTM 2-D key and value size of the standard shape.
    package static let plstm2DHeadDim = 32

    /// Random pLSTM gates as their layer makes them (JT = JV = JK = JQ = JO = 1): S, M, D sigmoids
    /// of N(0, 1), T = tanh(5 e) with e ~ N(0.5, 0.1²) (transitions ≈ 0.95–0.99, a long memory).
    static func plstmGate(_ rng: inout BenchRandom, _ shape: [Int], transition: Bool = false) -> Tensor<Float> {
        rng.tensor(shape) { r in
            transition
                ? Float(Foundation.tanh(5 * (0.5 + 0.1 * Double(r.normal())))) : 1 / (1 + Foundation.exp(-r.normal()))
        }
    }

    /// pLSTM 1-D at the attention-like standard shape (B = 1, H = 8, DK = DV = 128, every J size 1).
    static var plstm1D: BenchKernel {
        let (h, d) = (heads, headDim)
        let perToken = glaFlopsPerToken(keyDim: Double(d), valueDim: Double(d))
        return BenchKernel(
            name: "plstm_1d", batch: 1, heads: h, keyDim: d, valueDim: d,
            flopFormula: "T·H·(4·K·V + 2·64·K + 2·64·V)  [GLA's count: the same chunk products at JT = 1]",
            pathsDescription:
                "chunk: PLSTM1D.chunked; step: PLSTM1D.step per token; naive: PLSTM1D.reference; "
                + "forward + backward: the chunk path, then PLSTM1D.backward",
            effectiveFlops: { t in Double(t * h) * perToken },
            prepare: { t, seed in
                var rng = BenchRandom(seed: seed)
                let lead = [1, t, h]
                let x = PLSTM1D.Inputs(
                    q: rng.tensor(lead + [d, 1]) { $0.normal() }, k: rng.tensor(lead + [d, 1]) { $0.normal() },
                    v: rng.tensor(lead + [d, 1]) { $0.normal() }, S: plstmGate(&rng, lead + [1, 1, 1]),
                    T: plstmGate(&rng, lead + [1, 1], transition: true), M: plstmGate(&rng, lead + [1, 1, 1]),
                    D: plstmGate(&rng, lead + [1, 1, 1, 1]))
                let io = 4 * (x.q.count * 3 + x.S.count * 4 + t * h * d + 2 * h * d * d)
                return PreparedBenchKernel(
                    chunk: { mustSucceed("plstm_1d") { _ = try PLSTM1D.chunked(x) } },
                    makeStep: {
                        let cut = { (a: Tensor<Float>) -> [Tensor<Float>] in
                            a.slices(t, shape: [1, h] + Array(a.shape.dropFirst(3)))
                        }
                        let (qs, ks, vs, ss, ts, ms, ds) = (
                            cut(x.q), cut(x.k), cut(x.v), cut(x.S), cut(x.T), cut(x.M), cut(x.D)
                        )
                        return {
                            var state = Tensor<Float>(zeros: [1, h, d, d, 1])
                            mustSucceed("plstm_1d") {
                                for i in 0..<t {
                                    _ = try PLSTM1D.step(
                                        q: qs[i], k: ks[i], v: vs[i], S: ss[i], T: ts[i], M: ms[i], D: ds[i],
                                        state: &state)
                                }
                            }
                        }
                    },
                    naive: { mustSucceed("plstm_1d") { _ = try PLSTM1D.reference(x) } },
                    makeBackward: {
                        var rng = BenchRandom(seed: cotangentSeed(seed))
                        let dOutput = rng.tensor([1, t, h, d, 1]) { $0.normal() }
                        let dState = rng.tensor([1, h, d, d, 1]) { $0.normal() }
                        return {
                            mustSucceed("plstm_1d") {
                                _ = try PLSTM1D.chunked(x)
                                _ = try PLSTM1D.backward(x, outputGradient: dOutput, finalStateGradient: dState)
                            }
                        }
                    },
                    ioBytes: io)
            })
    }

    /// pLSTM 2-D in P-mode on a √T × √T grid (T = 4,096: 64 × 64), B = 1, 4 heads of DK = DV = 32,
    /// every J size 1, with boundary states. Step: the tile kernel with tiles of one cell.
    static var plstm2D: BenchKernel {
        let (h, d) = (plstm2DHeads, plstm2DHeadDim)
        return BenchKernel(
            name: "plstm_2d", batch: 1, heads: h, keyDim: d, valueDim: d,
            flopFormula:
                "T·H·12·K·V  [T = X·Y cells; per cell and head: two transitions, two sources and two state reads of 2·K·V each]",
            pathsDescription:
                "chunk: PLSTM2D.chunked (4 × 4 tiles in anti-diagonal wavefronts); step: PLSTM2D.chunked with "
                + "1 × 1 tiles (cell by cell); naive: PLSTM2D.reference; "
                + "forward + backward: the tiled path, then PLSTM2D.backward; the grid is ⌊√T⌋ × ⌈T / ⌊√T⌋⌉",
            effectiveFlops: { t in Double(t * h * 12 * d * d) },
            prepare: { t, seed in
                var rng = BenchRandom(seed: seed)
                let side = Swift.max(1, Int(Double(t).squareRoot()))
                let (gx, gy) = (side, (t + side - 1) / side)
                let lead = [1, gx, gy, h]
                let transition = plstmGate(&rng, lead + [1, 1], transition: true)
                let orientation = plstmGate(&rng, lead + [1, 1])
                let tr = Tensor(
                    shape: transition.shape, scalars: zip(transition.scalars, orientation.scalars).map { $0 * $1 })
                let sr = plstmGate(&rng, lead + [1, 1, 1])
                let m = plstmGate(&rng, lead + [1, 1, 1])
                let x = PLSTM2D.Inputs(
                    q: rng.tensor(lead + [d, 1]) { $0.normal() }, k: rng.tensor(lead + [d, 1]) { $0.normal() },
                    v: rng.tensor(lead + [d, 1]) { $0.normal() }, S_r: sr, S_d: sr.map { 1 - $0 }, T_rl: tr,
                    T_du: tr.map { 1 - $0 }, T_ru: tr, T_dl: tr.map { 1 - $0 }, M_l: m, M_u: m,
                    D: plstmGate(&rng, lead + [1, 1, 1, 1]), C_left: rng.tensor([1, gy, h, d, d, 1]) { $0.normal() },
                    C_top: rng.tensor([1, gx, h, d, d, 1]) { $0.normal() })
                let io = 4 * (x.q.count * 4 + x.S_r.count * 9 + 2 * (gx + gy) * h * d * d)
                return PreparedBenchKernel(
                    chunk: { mustSucceed("plstm_2d") { _ = try PLSTM2D.chunked(x) } },
                    makeStep: { { mustSucceed("plstm_2d") { _ = try PLSTM2D.chunked(x, chunkSize: 1) } } },
                    naive: { mustSucceed("plstm_2d") { _ = try PLSTM2D.reference(x) } },
                    makeBackward: {
                        var rng = BenchRandom(seed: cotangentSeed(seed))
                        let dOutput = rng.tensor(lead + [d, 1]) { $0.normal() }
                        let dState = PLSTM2D.BoundaryStates(
                            right: rng.tensor([1, gy, h, d, d, 1]) { $0.normal() },
                            bottom: rng.tensor([1, gx, h, d, d, 1]) { $0.normal() })
                        return {
                            mustSucceed("plstm_2d") {
                                _ = try PLSTM2D.chunked(x)
                                _ = try PLSTM2D.backward(x, outputGradient: dOutput, finalStateGradient: dState)
                            }
                        }
                    },
                    ioBytes: io)
            })
    }
}
