import Foundation
import LRNNKernels
import LRNNLinearAlgebra

extension KernelCatalog {
    /// ParaRNN's heads Hh at the standard shape (D = Din = 1,024: 8 heads of 128).
    package static let paraRNNHeads = 8
    /// ParaRNN's state size D/Hh (= input size Din/Hh) per head: 128 at the standard shape, 32 in quick
    /// mode (D = 256).
    ///
    /// - Parameter quick: whether `lrnn bench --quick` runs.
    package static func paraRNNHeadSize(quick: Bool) -> Int { quick ? 32 : 128 }

    /// A ParaRNN cell (``/LRNNKernels/ParaGRU`` or ``/LRNNKernels/ParaLSTM``) as `lrnn bench` measures it:
    /// B = 1, Hh = 8 heads of D/Hh = Din/Hh = 128 (quick: 32) in the `H`, `K`, `V` columns.
    ///
    /// Paths: `chunk` is the Newton-parallel forward (`chunked`), `step` the sequential solve after the
    /// batched projection (`recurrent`; also swept in T as `sequential`), `naive` the reference, and
    /// forward + backward the Newton forward then `backward` (which recomputes the trajectory by Newton).
    /// The effective flop count is the input projection's GEMMs alone, `6·T·Din·D/Hh`: the only level-3
    /// work (the cells' elementwise work, a few transcendental functions per state and token and
    /// iteration, is not counted).
    ///
    /// Inputs: x ~ N(0, 1), A, C ~ U(−0.5, 0.5) (the papers' initial scale), B ~ N(0, 1/(Din/Hh)),
    /// b ~ U(−0.5, 0.5).
    static func paraRNN(lstm: Bool, quick: Bool) -> BenchKernel {
        let name = lstm ? "pararnn_lstm" : "pararnn_gru"
        let hh = paraRNNHeads
        let k = paraRNNHeadSize(quick: quick)
        let d = hh * k
        var kernel = BenchKernel(
            name: name, batch: 1, heads: hh, keyDim: k, valueDim: k,
            flopFormula: "6·T·Din·D/Hh  [the input projection's GEMMs only; D = Din = H·K]",
            pathsDescription:
                "chunk: \(lstm ? "ParaLSTM" : "ParaGRU").chunked (Newton-parallel); step: .recurrent (the sequential solve "
                + "after the batched projection); naive: .reference; forward + backward: the Newton forward, then .backward",
            effectiveFlops: { t in 6 * Double(t) * Double(d) * Double(k) },
            prepare: { t, seed in
                var rng = BenchRandom(seed: seed)
                let x = rng.tensor([1, t, d]) { $0.normal() }
                let a = rng.tensor([3, d]) { $0.unit() - 0.5 }
                let b = rng.tensor([hh, k, 3, k]) { $0.normal() / Float(k).squareRoot() }
                let bias = rng.tensor([3, d]) { $0.unit() - 0.5 }
                let c = rng.tensor([2, d]) { $0.unit() - 0.5 }
                let io = 4 * (x.count + a.count + b.count + bias.count + (lstm ? c.count + t * d : 0) + t * d)
                let gru = ParaGRU.Inputs(x: x, A: a, B: b, b: bias)
                let cell = ParaLSTM.Inputs(x: x, A: a, B: b, C: c, b: bias)
                var iterations = 0
                var prepared = PreparedBenchKernel(
                    chunk: {
                        mustSucceed(name) {
                            iterations =
                                lstm
                                ? try ParaLSTM.chunked(cell).newton.iterations
                                : try ParaGRU.chunked(gru).newton.iterations
                        }
                    },
                    makeStep: {
                        {
                            mustSucceed(name) {
                                if lstm { _ = try ParaLSTM.recurrent(cell) } else { _ = try ParaGRU.recurrent(gru) }
                            }
                        }
                    },
                    naive: {
                        mustSucceed(name) {
                            if lstm { _ = try ParaLSTM.reference(cell) } else { _ = try ParaGRU.reference(gru) }
                        }
                    },
                    makeBackward: {
                        var rng = BenchRandom(seed: cotangentSeed(seed))
                        let dh = rng.tensor([1, t, d]) { $0.normal() }
                        let dc = rng.tensor([1, d]) { $0.normal() }
                        let dht = rng.tensor([1, d]) { $0.normal() }
                        return {
                            mustSucceed(name) {
                                if lstm {
                                    _ = try ParaLSTM.chunked(cell)
                                    _ = try ParaLSTM.backward(
                                        cell, outputGradient: dh, finalStateGradient: ParaLSTM.State(c: dc, h: dht))
                                } else {
                                    _ = try ParaGRU.chunked(gru)
                                    _ = try ParaGRU.backward(gru, outputGradient: dh, finalStateGradient: dht)
                                }
                            }
                        }
                    },
                    ioBytes: io)
                prepared.newtonIterations = { iterations }
                return prepared
            })
        kernel.sweptStepPath = "sequential"
        return kernel
    }
}
