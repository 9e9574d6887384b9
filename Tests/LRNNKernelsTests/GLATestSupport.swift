import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport

/// Random GLA inputs for property tests.
struct GLAInputs<T: LRNNScalar> {
    var q: Tensor<T>
    var k: Tensor<T>
    var v: Tensor<T>
    var gk: Tensor<T>

    /// Inputs of shape [B, T, H, K] / [B, T, H, V] with log-decays uniform in `decay` (≤ 0).
    /// With `scalarDecay`, every channel of a head shares one log-decay per token.
    init(
        _ rng: inout SeededRandom, b: Int, t: Int, h: Int, dk: Int, dv: Int,
        decay: ClosedRange<Double>, scalarDecay: Bool = false
    ) {
        q = rng.tensor([b, t, h, dk])
        k = rng.tensor([b, t, h, dk])
        v = rng.tensor([b, t, h, dv])
        if scalarDecay {
            let g: Tensor<T> = rng.tensor([b, t, h], decay)
            var s = [T]()
            s.reserveCapacity(b * t * h * dk)
            for x in g.scalars { s += Array(repeating: x, count: dk) }
            gk = Tensor(shape: [b, t, h, dk], scalars: s)
        } else {
            gk = rng.tensor([b, t, h, dk], decay)
        }
    }
}

/// Tokens `start ..< start + count` (dimension 1) of a rank-4 tensor with B = 1, as `[1, count, H, D]`.
func glaTokens<T>(_ x: Tensor<T>, _ start: Int, _ count: Int) -> Tensor<T> {
    x.slice(batches: 0..<x.shape[0], tokens: start..<(start + count))
}
