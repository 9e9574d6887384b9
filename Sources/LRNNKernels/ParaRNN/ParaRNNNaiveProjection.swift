import LRNNLinearAlgebra

/// The input projection of ParaRNN's cells and its gradients by explicit sums, for the reference
/// paths (the oracles of ``ParaRNNProjection``):
///
///     u[row, g, e·D/Hh + j] = Σ_i x[row, e·Din/Hh + i]·B[e, i, g, j] + b[g, e·D/Hh + j]
enum ParaRNNNaiveProjection {
    /// `u [rows, 3·D]`, gate-major.
    static func forward<T: LRNNScalar>(x: Tensor<T>, B: Tensor<T>, b: Tensor<T>, _ p: ParaRNNProblem) -> Tensor<T> {
        let (d, dh, dhi) = (p.stateSize, p.headState, p.headInput)
        var u = Tensor<T>.zeros([p.rows, 3 * d])
        for row in 0..<p.rows {
            for g in 0..<3 {
                for n in 0..<d {
                    let (e, j) = (n / dh, n % dh)
                    var s = b.scalars[g * d + n]
                    for i in 0..<dhi {
                        s += x.scalars[row * p.inputSize + e * dhi + i] * B.scalars[((e * dhi + i) * 3 + g) * dh + j]
                    }
                    u.scalars[row * 3 * d + g * d + n] = s
                }
            }
        }
        return u
    }

    /// `dx`, `dB`, `db` from `dU [rows, 3·D]`.
    static func backward<T: LRNNScalar>(
        x: Tensor<T>, B: Tensor<T>, dU: Tensor<T>, _ p: ParaRNNProblem
    ) -> (dx: Tensor<T>, dB: Tensor<T>, db: Tensor<T>) {
        let (d, dh, dhi) = (p.stateSize, p.headState, p.headInput)
        var dx = Tensor<T>.zeros(x.shape)
        var dB = Tensor<T>.zeros(B.shape)
        var db = Tensor<T>.zeros([3, d])
        for row in 0..<p.rows {
            for g in 0..<3 {
                for n in 0..<d {
                    let (e, j) = (n / dh, n % dh)
                    let gu = dU.scalars[row * 3 * d + g * d + n]
                    db.scalars[g * d + n] += gu
                    for i in 0..<dhi {
                        let xi = row * p.inputSize + e * dhi + i
                        let bi = ((e * dhi + i) * 3 + g) * dh + j
                        dx.scalars[xi] += gu * B.scalars[bi]
                        dB.scalars[bi] += gu * x.scalars[xi]
                    }
                }
            }
        }
        return (dx, dB, db)
    }
}
