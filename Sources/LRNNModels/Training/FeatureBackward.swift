import LRNNLinearAlgebra

/// The backward of ``l2Normalize(_:groupSize:)``, `y = x·r`, `r = 1/√(Σx² + 1e-6)` per group of
/// `d`: `dx = r·(dy − y·(y·dy))` (fla's `l2norm_bwd`).
///
/// - Parameters:
///   - x: the forward input (before normalisation).
///   - dy: the output gradient, same count.
///   - d: the group size (the head dimension).
@_specialize(where T == Float)
@_specialize(where T == Double)
func l2NormalizeBackward<T: LRNNScalar>(input x: Tensor<T>, outputGradient dy: Tensor<T>, groupSize d: Int)
    -> Tensor<T>
{
    precondition(x.count == dy.count && x.count % d == 0, "l2NormalizeBackward: \(x.shape) vs \(dy.shape)")
    var dx = dy
    let groups = x.count / d
    x.withUnsafeBufferPointer { xb in
        dx.withUnsafeMutableBufferPointer { db in
            let xp = xb.baseAddress!
            let dp = db.baseAddress!
            parallelRanges(groups, unitCost: 5 * d) { range in
                for gi in range {
                    let xr = xp + gi * d
                    let g = dp + gi * d
                    let (ss, scale) = sumOfSquares(xr, d)
                    let r: T
                    if let m = scale {
                        r = 1 / (m * (ss + T(1e-6) / (m * m)).squareRoot())
                    } else {
                        r = 1 / (ss + T(1e-6)).squareRoot()
                    }
                    var dot: T = 0
                    for i in 0..<d { dot += xr[i] * r * g[i] }
                    for i in 0..<d { g[i] = r * (g[i] - xr[i] * r * dot) }
                }
            }
        }
    }
    return dx
}

/// The backward of ``sumNormalize(_:groupSize:)``, `y = x / max(Σ|x|, 1e-6)` per group:
/// `dx = dy/s − sign(x)·(x·dy)/s²` when `s = Σ|x| > 1e-6`, `dy/1e-6` otherwise.
///
/// - Parameters:
///   - x: the forward input.
///   - dy: the output gradient, same count.
///   - d: the group size.
@_specialize(where T == Float)
@_specialize(where T == Double)
func sumNormalizeBackward<T: LRNNScalar>(input x: Tensor<T>, outputGradient dy: Tensor<T>, groupSize d: Int)
    -> Tensor<T>
{
    precondition(x.count == dy.count && x.count % d == 0, "sumNormalizeBackward: \(x.shape) vs \(dy.shape)")
    var dx = dy
    let groups = x.count / d
    x.withUnsafeBufferPointer { xb in
        dx.withUnsafeMutableBufferPointer { db in
            for gi in 0..<groups {
                let xr = xb.baseAddress! + gi * d
                let g = db.baseAddress! + gi * d
                var s: T = 0
                var dot: T = 0
                for i in 0..<d {
                    s += abs(xr[i])
                    dot += xr[i] * g[i]
                }
                if s > T(1e-6) {
                    for i in 0..<d {
                        let sign: T = xr[i] > 0 ? 1 : (xr[i] < 0 ? -1 : 0)
                        g[i] = g[i] / s - sign * dot / (s * s)
                    }
                } else {
                    for i in 0..<d { g[i] /= T(1e-6) }
                }
            }
        }
    }
    return dx
}

/// The backward of ``repeatHeads(_:heads:headDim:times:)``: each input head's gradient is the
/// sum of its `times` copies, `[rows, heads·times·d] → [rows, heads·d]`.
///
/// - Parameters:
///   - dy: the gradient of the repeated tensor.
///   - heads: the heads before repetition.
///   - d: the head dimension.
///   - times: the repetition factor.
@_specialize(where T == Float)
@_specialize(where T == Double)
func repeatHeadsBackward<T: LRNNScalar>(_ dy: Tensor<T>, heads: Int, headDim d: Int, times: Int) -> Tensor<T> {
    if times == 1 { return dy }
    let rows = dy.count / (heads * times * d)
    var dx = Tensor<T>.zeros([rows, heads * d])
    dy.withUnsafeBufferPointer { yb in
        dx.withUnsafeMutableBufferPointer { xb in
            for r in 0..<rows {
                for h in 0..<heads {
                    let dst = xb.baseAddress! + (r * heads + h) * d
                    for i in 0..<times {
                        let src = yb.baseAddress! + ((r * heads + h) * times + i) * d
                        for j in 0..<d { dst[j] += src[j] }
                    }
                }
            }
        }
    }
    return dx
}

/// The backward of `β = factor·σ(b)` (``sigmoidScaled(_:factor:)``): `db = dβ·factor·σ(b)(1 − σ(b))`.
///
/// - Parameters:
///   - b: the logits (`b_proj x`).
///   - dBeta: dL/dβ, same count.
///   - factor: 1, or 2 with `allow_neg_eigval`.
@_specialize(where T == Float)
@_specialize(where T == Double)
func sigmoidScaledBackward<T: LRNNScalar>(logits b: Tensor<T>, outputGradient dBeta: Tensor<T>, factor: T)
    -> Tensor<T>
{
    var db = dBeta
    let n = b.count
    b.withUnsafeBufferPointer { bb in
        db.withUnsafeMutableBufferPointer { dbb in
            for i in 0..<n {
                let s = 1 / (1 + T.exp(-bb[i]))
                dbb[i] *= factor * s * (1 - s)
            }
        }
    }
    return db
}

/// Gated DeltaNet's forget gate and its backward: `g = −exp(A_log)·softplus(a + dt_bias)` per
/// row and head (fla's `GatedDeltaNet.forward`; the forward is ``gatedLogDecay(aLog:_:)``).
enum GatedDecay {
    /// g `[rows, H]` from `a = a_proj x` `[rows, H]`.
    ///
    /// - Parameters:
    ///   - a: `a_proj x`.
    ///   - aLog: `A_log [H]`.
    ///   - dtBias: `dt_bias [H]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: LRNNScalar>(_ a: Tensor<T>, aLog: Tensor<T>, dtBias: Tensor<T>) -> Tensor<T> {
        var g = a
        let h = aLog.count
        let rows = h == 0 ? 0 : a.count / h
        g.withUnsafeMutableBufferPointer { gb in
            for r in 0..<rows {
                for j in 0..<h {
                    gb[r * h + j] = gatedLogDecay(aLog: aLog.scalars[j], gb[r * h + j] + dtBias.scalars[j])
                }
            }
        }
        return g
    }

    /// `da = dg·(−exp(A_log)·σ(a + dt_bias))`, `d dt_bias = Σ_rows da`, `dA_log = Σ_rows dg·g`;
    /// where dg = 0 the terms are 0 even when exp(A_log) or g is infinite (the limit: a decay of
    /// −∞ resets the state, and its gradient vanishes faster than the factors grow).
    ///
    /// - Parameters:
    ///   - a: `a_proj x` of the forward.
    ///   - g: the forward's gate.
    ///   - dg: dL/dg.
    ///   - aLog: `A_log [H]`.
    ///   - dtBias: `dt_bias [H]`.
    /// - Returns: dL/da `[rows, H]`, dL/dA_log and dL/d dt_bias `[H]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: LRNNScalar>(
        input a: Tensor<T>, gate g: Tensor<T>, outputGradient dg: Tensor<T>, aLog: Tensor<T>, dtBias: Tensor<T>
    ) -> (input: Tensor<T>, aLog: Tensor<T>, dtBias: Tensor<T>) {
        let h = aLog.count
        let rows = h == 0 ? 0 : a.count / h
        var da = dg
        var dALog = Tensor<T>.zeros([h])
        var dBias = Tensor<T>.zeros([h])
        for r in 0..<rows {
            for j in 0..<h {
                let i = r * h + j
                // A zero dL/dg contributes nothing, also where exp(A_log) or g overflowed to ±∞
                // (a reset, whose exact gradient is 0): 0·∞ would be NaN.
                guard dg.scalars[i] != 0 else {
                    da.scalars[i] = 0
                    continue
                }
                let u = a.scalars[i] + dtBias.scalars[j]
                let s = 1 / (1 + T.exp(-u))
                // exp(A_log)·σ(u), in log space where the product would be ∞·0 (a large A_log
                // with a σ that underflows), as the forward's gatedLogDecay does.
                let rate = T.exp(aLog.scalars[j])
                let slope =
                    rate.isFinite && s >= T.leastNormalMagnitude ? rate * s : T.exp(aLog.scalars[j] + logSigmoid(u))
                dALog.scalars[j] += dg.scalars[i] * g.scalars[i]
                da.scalars[i] = -dg.scalars[i] * slope
                dBias.scalars[j] += da.scalars[i]
            }
        }
        return (da, dALog, dBias)
    }
}

/// GLA's log decay and its backward: `gk = max(logsigmoid(z)/normalizer, clamp_min)` (fla's
/// `GatedLinearAttention`: `F.logsigmoid(gk) / gate_logit_normalizer`, then `clamp_min`).
enum GLADecayGate {
    /// gk from the gate logits z.
    ///
    /// - Parameters:
    ///   - z: `gk_proj.1(gk_proj.0 x)`.
    ///   - normalizer: `gate_logit_normalizer`.
    ///   - clampMin: `clamp_min`, or nil.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: LRNNScalar>(_ z: Tensor<T>, normalizer: T, clampMin: T?) -> Tensor<T> {
        z.map { x in
            let y = logSigmoid(x) / normalizer
            if let clampMin, y < clampMin { return clampMin }
            return y
        }
    }

    /// `dz = dgk·σ(−z)/normalizer`, zero where the clamp was active (gk below `clamp_min`).
    ///
    /// - Parameters:
    ///   - z: the gate logits of the forward.
    ///   - dgk: dL/dgk, same count.
    ///   - normalizer: `gate_logit_normalizer`.
    ///   - clampMin: `clamp_min`, or nil.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: LRNNScalar>(input z: Tensor<T>, outputGradient dgk: Tensor<T>, normalizer: T, clampMin: T?)
        -> Tensor<T>
    {
        var dz = dgk
        for i in 0..<z.count {
            let x = z.scalars[i]
            if let clampMin, logSigmoid(x) / normalizer < clampMin {
                dz.scalars[i] = 0
            } else {
                dz.scalars[i] *= 1 / (1 + T.exp(x)) / normalizer
            }
        }
        return dz
    }
}
