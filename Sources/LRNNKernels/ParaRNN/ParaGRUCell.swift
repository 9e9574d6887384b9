import LRNNLinearAlgebra

/// The diagonal GRU cell of ``ParaGRU`` for one state channel: its value, its derivative with respect
/// to the previous state (the Newton Jacobian, a scalar per channel) and its adjoint.
///
///     z = σ(a0·h + u0),  r = σ(a1·h + u1),  c = tanh(a2·h·r + u2),  h' = z·c + (1 − z)·h
///     ∂h'/∂h = (1 − z) + (c − h)·z(1 − z)·a0 + z(1 − c²)·a2·(r + h·r(1 − r)·a1)
///
/// Source: ParaRNN's `GRUDiagMH.recurrence_step` and its Jacobian (`pararnn/rnn_cell/`).
enum ParaGRUCell {
    /// `1 / (1 + e^{−x})`.
    @inline(__always)
    static func sigmoid<T: LRNNScalar>(_ x: T) -> T { 1 / (1 + T.exp(-x)) }

    /// `tanh x` as `sign(x)·(1 − e^{−2|x|}) / (1 + e^{−2|x|})`: one `exp` (which never overflows here),
    /// about three times cheaper than the C library's `tanh` (which goes through `expm1`); its error is
    /// a few units in the last place of 1, absolute (not relative to a tiny `tanh x`), which is what the
    /// states and their golden comparisons measure. Every path of both cells uses it.
    @inline(__always)
    static func tanh<T: LRNNScalar>(_ x: T) -> T {
        let e = T.exp(-2 * Swift.abs(x))
        let t = (1 - e) / (1 + e)
        return x < 0 ? -t : t
    }

    /// `h'` for previous state `h`, projected inputs `u0, u1, u2` and recurrent weights `a0, a1, a2`.
    @inline(__always)
    static func value<T: LRNNScalar>(_ h: T, _ u0: T, _ u1: T, _ u2: T, _ a0: T, _ a1: T, _ a2: T) -> T {
        let z = sigmoid(a0 * h + u0)
        let r = sigmoid(a1 * h + u1)
        let c = tanh(a2 * h * r + u2)
        return z * c + (1 - z) * h
    }

    /// `(h', ∂h'/∂h)`.
    @inline(__always)
    static func valueAndJacobian<T: LRNNScalar>(
        _ h: T, _ u0: T, _ u1: T, _ u2: T, _ a0: T, _ a1: T, _ a2: T
    ) -> (value: T, jacobian: T) {
        let z = sigmoid(a0 * h + u0)
        let r = sigmoid(a1 * h + u1)
        let c = tanh(a2 * h * r + u2)
        let zp: T = z * (1 - z)
        let rp: T = r * (1 - r)
        let dc: T = z * (1 - c * c) * a2
        let inner: T = r + h * rp * a1
        let j: T = (1 - z) + (c - h) * zp * a0 + dc * inner
        return (z * c + (1 - z) * h, j)
    }

    /// The adjoint of one step: given `λ = dL/dh'`, the pre-activation gradients `du0, du1, du2` (equal to
    /// dL/du of the projected inputs), the weight factors (`dA0 += du0·h`, `dA1 += du1·h`, `dA2 += du2·h·r`
    /// with the returned `hr = h·r`) and `dL/dh = λ·∂h'/∂h`.
    @inline(__always)
    static func adjoint<T: LRNNScalar>(
        _ lambda: T, _ h: T, _ u0: T, _ u1: T, _ u2: T, _ a0: T, _ a1: T, _ a2: T
    ) -> (du0: T, du1: T, du2: T, hr: T, previous: T) {
        let z = sigmoid(a0 * h + u0)
        let r = sigmoid(a1 * h + u1)
        let c = tanh(a2 * h * r + u2)
        let du0 = lambda * (c - h) * z * (1 - z)
        let du2 = lambda * z * (1 - c * c)
        let du1 = du2 * a2 * h * r * (1 - r)
        let previous = lambda * (1 - z) + a0 * du0 + a1 * du1 + du2 * a2 * r
        return (du0, du1, du2, h * r, previous)
    }
}
