import LRNNLinearAlgebra

extension ParaLSTM {
    /// The naive forward pass: the projection by explicit sums, then every sequence and channel token by
    /// token. Returns `c`, `h` `[rows, D]` and `u [rows, 3·D]`.
    static func runReference<T: LRNNScalar>(_ p: ParaRNNProblem, _ x: Inputs<T>) -> (
        c: Tensor<T>, h: Tensor<T>, u: Tensor<T>
    ) {
        let d = p.stateSize
        let u = ParaRNNNaiveProjection.forward(x: x.x, B: x.B, b: x.b, p)
        var c = Tensor<T>.zeros([p.rows, d])
        var h = Tensor<T>.zeros([p.rows, d])
        let (a, pc) = (x.A.scalars, x.C.scalars)
        for (slot, s) in p.sequences.enumerated() {
            for n in 0..<d {
                var cs = x.initialState?.c.scalars[slot * d + n] ?? 0
                var hs = x.initialState?.h.scalars[slot * d + n] ?? 0
                for t in s.tokens {
                    let row = s.batch * p.tokens + t
                    let uu = row * 3 * d + n
                    (cs, hs) = ParaLSTMCell.value(
                        cs, hs, u.scalars[uu], u.scalars[uu + d], u.scalars[uu + 2 * d], a[n], a[d + n], a[2 * d + n],
                        pc[n], pc[d + n])
                    c.scalars[row * d + n] = cs
                    h.scalars[row * d + n] = hs
                }
            }
        }
        return (c, h, u)
    }

    /// The naive backward pass: the naive forward, then every sequence and channel in reverse, then the
    /// projection's gradients by explicit sums.
    static func runReferenceBackward<T: LRNNScalar>(
        _ p: ParaRNNProblem, _ x: Inputs<T>, outputGradient: Tensor<T>?, finalStateGradient: State<T>?
    ) -> Inputs<T> {
        let d = p.stateSize
        let (c, h, u) = runReference(p, x)
        let (a, pc) = (x.A.scalars, x.C.scalars)
        var dU = Tensor<T>.zeros([p.rows, 3 * d])
        var dA = Tensor<T>.zeros([3, d])
        var dC = Tensor<T>.zeros([2, d])
        var d0 = State<T>.zeros(count: p.stateCount, size: d)
        for (slot, s) in p.sequences.enumerated() {
            for n in 0..<d {
                var lc = finalStateGradient?.c.scalars[slot * d + n] ?? 0
                var lh = finalStateGradient?.h.scalars[slot * d + n] ?? 0
                for t in s.tokens.reversed() {
                    let row = s.batch * p.tokens + t
                    lh += outputGradient?.scalars[row * d + n] ?? 0
                    let cPrev =
                        t == s.start ? (x.initialState?.c.scalars[slot * d + n] ?? 0) : c.scalars[(row - 1) * d + n]
                    let hPrev =
                        t == s.start ? (x.initialState?.h.scalars[slot * d + n] ?? 0) : h.scalars[(row - 1) * d + n]
                    let uu = row * 3 * d + n
                    let g = ParaLSTMCell.adjoint(
                        lc, lh, cPrev, hPrev, u.scalars[uu], u.scalars[uu + d], u.scalars[uu + 2 * d], a[n], a[d + n],
                        a[2 * d + n], pc[n], pc[d + n])
                    dU.scalars[uu] = g.du0
                    dU.scalars[uu + d] = g.du1
                    dU.scalars[uu + 2 * d] = g.du2
                    dA.scalars[n] += g.du0 * hPrev
                    dA.scalars[d + n] += g.du1 * hPrev
                    dA.scalars[2 * d + n] += g.du2 * hPrev
                    dC.scalars[n] += g.du0 * cPrev
                    dC.scalars[d + n] += g.du1 * g.cNext
                    (lc, lh) = (g.c, g.h)
                }
                d0.c.scalars[slot * d + n] = lc
                d0.h.scalars[slot * d + n] = lh
            }
        }
        let (dx, dB, db) = ParaRNNNaiveProjection.backward(x: x.x, B: x.B, dU: dU, p)
        return Inputs(x: dx, A: dA, B: dB, C: dC, b: db, initialState: x.initialState == nil ? nil : d0)
    }
}
