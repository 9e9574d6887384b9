import LRNNLinearAlgebra

/// The diagonal CIFG LSTM cell with peepholes of ``ParaLSTM`` for one state channel: its value, its
/// 2×2 Jacobian with respect to the previous state `(c, h)` (the Newton Jacobian) and its adjoint.
///
///     f = σ(a0·h + u0 + p0·c),  g = tanh(a2·h + u2),  c' = f·c + (1 − f)·g
///     o = σ(a1·h + u1 + p1·c'),  h' = o·tanh(c')
///
/// with `p0, p1` the peepholes `C[0], C[1]`. Writing `κ = ∂h'/∂c'` (through o and tanh):
///
///     ∂c'/∂c = f + (c − g)·f(1 − f)·p0        ∂c'/∂h = (c − g)·f(1 − f)·a0 + (1 − f)(1 − g²)·a2
///     ∂h'/∂c = κ·∂c'/∂c                       ∂h'/∂h = o(1 − o)·a1·tanh(c') + κ·∂c'/∂h
///
/// Source: ParaRNN's `LSTMCIFGDiagMH.recurrence_step` and its Jacobian (`pararnn/rnn_cell/`).
enum ParaLSTMCell {
    /// `(c', h')`.
    @inline(__always)
    static func value<T: LRNNScalar>(
        _ c: T, _ h: T, _ u0: T, _ u1: T, _ u2: T, _ a0: T, _ a1: T, _ a2: T, _ p0: T, _ p1: T
    ) -> (c: T, h: T) {
        let f = ParaGRUCell.sigmoid(a0 * h + u0 + p0 * c)
        let g = ParaGRUCell.tanh(a2 * h + u2)
        let cn = f * c + (1 - f) * g
        let o = ParaGRUCell.sigmoid(a1 * h + u1 + p1 * cn)
        return (cn, o * ParaGRUCell.tanh(cn))
    }

    /// `(c', h')` and the Jacobian `[[∂c'/∂c, ∂c'/∂h], [∂h'/∂c, ∂h'/∂h]]`.
    @inline(__always)
    static func valueAndJacobian<T: LRNNScalar>(
        _ c: T, _ h: T, _ u0: T, _ u1: T, _ u2: T, _ a0: T, _ a1: T, _ a2: T, _ p0: T, _ p1: T
    ) -> (c: T, h: T, cc: T, ch: T, hc: T, hh: T) {
        let f = ParaGRUCell.sigmoid(a0 * h + u0 + p0 * c)
        let g = ParaGRUCell.tanh(a2 * h + u2)
        let cn = f * c + (1 - f) * g
        let o = ParaGRUCell.sigmoid(a1 * h + u1 + p1 * cn)
        let tau = ParaGRUCell.tanh(cn)
        let sf: T = f * (1 - f)
        let so: T = o * (1 - o)
        let cg: T = (c - g) * sf
        let cc: T = f + cg * p0
        let ch: T = cg * a0 + (1 - f) * (1 - g * g) * a2
        let kappa: T = so * p1 * tau + o * (1 - tau * tau)
        let hh: T = so * a1 * tau + kappa * ch
        return (cn, o * tau, cc, ch, kappa * cc, hh)
    }

    /// The adjoint of one step: given `(λc, λh) = dL/d(c', h')`, the pre-activation gradients
    /// `du0, du1, du2` (= dL/du), the new cell state `c'` (for `dC1 += du1·c'`; `dC0 += du0·c`,
    /// `dA_g += du_g·h`), and `dL/d(c, h)`.
    @inline(__always)
    static func adjoint<T: LRNNScalar>(
        _ lc: T, _ lh: T, _ c: T, _ h: T, _ u0: T, _ u1: T, _ u2: T, _ a0: T, _ a1: T, _ a2: T, _ p0: T, _ p1: T
    ) -> (du0: T, du1: T, du2: T, cNext: T, c: T, h: T) {
        let f = ParaGRUCell.sigmoid(a0 * h + u0 + p0 * c)
        let g = ParaGRUCell.tanh(a2 * h + u2)
        let cn = f * c + (1 - f) * g
        let o = ParaGRUCell.sigmoid(a1 * h + u1 + p1 * cn)
        let tau = ParaGRUCell.tanh(cn)
        let du1: T = lh * o * (1 - o) * tau
        let mu: T = lc + lh * o * (1 - tau * tau) + du1 * p1
        let du0: T = mu * (c - g) * f * (1 - f)
        let du2: T = mu * (1 - f) * (1 - g * g)
        let lcPrev: T = mu * f + p0 * du0
        let lhPrev: T = a0 * du0 + a1 * du1 + a2 * du2
        return (du0, du1, du2, cn, lcPrev, lhPrev)
    }
}
