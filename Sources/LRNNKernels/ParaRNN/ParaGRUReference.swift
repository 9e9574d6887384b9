import LRNNLinearAlgebra

extension ParaGRU {
    /// The naive forward pass: the projection by explicit sums, then every sequence and channel token by
    /// token. Returns the trajectory `h [rows, D]` and the projection `u [rows, 3·D]`.
    static func runReference<T: LRNNScalar>(_ p: ParaRNNProblem, _ x: Inputs<T>) -> (h: Tensor<T>, u: Tensor<T>) {
        let d = p.stateSize
        let u = ParaRNNNaiveProjection.forward(x: x.x, B: x.B, b: x.b, p)
        var h = Tensor<T>.zeros([p.rows, d])
        let a = x.A.scalars
        for (slot, s) in p.sequences.enumerated() {
            for n in 0..<d {
                var state = x.initialState?.scalars[slot * d + n] ?? 0
                for t in s.tokens {
                    let row = s.batch * p.tokens + t
                    let uu = row * 3 * d + n
                    state = ParaGRUCell.value(
                        state, u.scalars[uu], u.scalars[uu + d], u.scalars[uu + 2 * d], a[n], a[d + n], a[2 * d + n])
                    h.scalars[row * d + n] = state
                }
            }
        }
        return (h, u)
    }

    /// The naive backward pass: the naive forward, then every sequence and channel in reverse, token by
    /// token, then the projection's gradients by explicit sums.
    static func runReferenceBackward<T: LRNNScalar>(
        _ p: ParaRNNProblem, _ x: Inputs<T>, outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?
    ) -> Inputs<T> {
        let d = p.stateSize
        let (h, u) = runReference(p, x)
        let a = x.A.scalars
        var dU = Tensor<T>.zeros([p.rows, 3 * d])
        var dA = Tensor<T>.zeros([3, d])
        var dh0 = Tensor<T>.zeros([p.stateCount, d])
        for (slot, s) in p.sequences.enumerated() {
            for n in 0..<d {
                var lambda = finalStateGradient?.scalars[slot * d + n] ?? 0
                for t in s.tokens.reversed() {
                    let row = s.batch * p.tokens + t
                    lambda += outputGradient?.scalars[row * d + n] ?? 0
                    let prev =
                        t == s.start ? (x.initialState?.scalars[slot * d + n] ?? 0) : h.scalars[(row - 1) * d + n]
                    let uu = row * 3 * d + n
                    let g = ParaGRUCell.adjoint(
                        lambda, prev, u.scalars[uu], u.scalars[uu + d], u.scalars[uu + 2 * d], a[n], a[d + n],
                        a[2 * d + n])
                    dU.scalars[uu] = g.du0
                    dU.scalars[uu + d] = g.du1
                    dU.scalars[uu + 2 * d] = g.du2
                    dA.scalars[n] += g.du0 * prev
                    dA.scalars[d + n] += g.du1 * prev
                    dA.scalars[2 * d + n] += g.du2 * g.hr
                    lambda = g.previous
                }
                dh0.scalars[slot * d + n] = lambda
            }
        }
        let (dx, dB, db) = ParaRNNNaiveProjection.backward(x: x.x, B: x.B, dU: dU, p)
        return Inputs(x: dx, A: dA, B: dB, b: db, initialState: x.initialState == nil ? nil : dh0)
    }
}
