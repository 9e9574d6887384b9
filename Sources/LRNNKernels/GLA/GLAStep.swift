import LRNNLinearAlgebra
import RealModule

extension GLA {
    /// One GLA decoding step for B independent sequences, updating `state` in place.
    ///
    ///     S ← diag(exp(gk))·S + k·vᵀ,      o = Sᵀ·(scale·q)
    ///
    /// Each head's state is read and written once (decay, rank-1 update and output in one fused pass).
    ///
    /// - Parameters:
    ///   - q: Queries `[B, 1, H, K]`.
    ///   - k: Keys `[B, 1, H, K]`.
    ///   - v: Values `[B, 1, H, V]`.
    ///   - gk: Per-channel log-decays `[B, 1, H, K]`, every entry ≤ 0 or −∞ (a reset of the channel's row).
    ///   - scale: The query scale; `nil` means `1/√K`.
    ///   - state: The recurrent states `[B, H, K, V]`, updated in place.
    /// - Returns: The output `[B, 1, H, V]`.
    /// - Throws: `KernelError.shapeMismatch` naming the tensor; `.nonFinite` naming `q`, `k`, `v` or
    ///   `gk` when they hold NaN/±∞ (gk: NaN/+∞) (the state is left untouched), or naming `state` when the updated
    ///   state is not finite (it held NaN/±∞ already, or overflowed; its contents are then invalid);
    ///   `.invalidArgument` for a positive `gk` entry or a non-finite `scale`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func step<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, scale: T? = nil, state: inout Tensor<T>
    ) throws(KernelError) -> Tensor<T> {
        guard q.rank == 4, q.shape[1] == 1, q.shape[3] >= 1 else {
            throw .shapeMismatch(tensor: "q", shape: q.shape, expected: "[B, 1, H, K] with K ≥ 1")
        }
        let (b, h, dk) = (q.shape[0], q.shape[2], q.shape[3])
        try KernelError.requireShape(k, [b, 1, h, dk], "k")
        try KernelError.requireShape(gk, [b, 1, h, dk], "gk")
        guard v.rank == 4, v.shape[0] == b, v.shape[1] == 1, v.shape[2] == h, v.shape[3] >= 1 else {
            throw .shapeMismatch(tensor: "v", shape: v.shape, expected: "[\(b), 1, \(h), V] with V ≥ 1")
        }
        let dv = v.shape[3]
        try KernelError.requireShape(state, [b, h, dk, dv], "state")
        let sc = scale ?? 1 / T(dk).squareRoot()
        guard sc.isFinite else { throw .invalidArgument(name: "scale", reason: "must be finite, got \(sc)") }
        try requireFinite(q, "q")
        try requireFinite(k, "k")
        try requireFinite(v, "v")
        try requireLogDecay(gk)

        var output: Tensor<T> = Tensor<T>.zeros([b, 1, h, dv])
        let items = b * h
        var valid = true
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    gk.withUnsafeBufferPointer { gb in
                        output.withUnsafeMutableBufferPointer { ob in
                            state.withUnsafeMutableBufferPointer { sb in
                                guard let qp = qb.baseAddress, let kp = kb.baseAddress, let vp = vb.baseAddress,
                                    let gp = gb.baseAddress, let op = ob.baseAddress, let sp = sb.baseAddress
                                else { return }
                                // Per-item validity flags: items write disjoint entries.
                                var flags = [Bool](repeating: true, count: items)
                                flags.withUnsafeMutableBufferPointer { fb in
                                    let fp = fb.baseAddress!
                                    let body = { (i: Int) in
                                        fp[i] = stepHead(
                                            q: qp + i * dk, k: kp + i * dk, gk: gp + i * dk, v: vp + i * dv,
                                            o: op + i * dv, state: sp + i * dk * dv, keyDim: dk, valueDim: dv,
                                            scale: sc)
                                    }
                                    // Spread heads over threads only when there is enough work to pay for it.
                                    if items > 1 && items * dk * dv >= 1 << 16 {
                                        Threading.parallelFor(items, body)
                                    } else {
                                        for i in 0..<items { body(i) }
                                    }
                                }
                                valid = !flags.contains(false)
                            }
                        }
                    }
                }
            }
        }
        if !valid { throw .nonFinite(tensor: "state") }
        return output
    }

    /// One head of ``step(q:k:v:gk:scale:state:)``: the K decay factors `exp(gk)` (vectorised; factors
    /// below ``flushBelow(_:)`` are zero, as in the chunked kernel), then a single pass over the K×V state
    /// computing `s ← exp(gk_x)·s + k_x·v` row by row and accumulating `o += (scale·q_x)·s`. Returns whether the
    /// new state is finite, read off the output: every entry of the new state enters `o` with a finite
    /// factor, and IEEE arithmetic carries NaN/±∞ through (`0·∞ = NaN`), so `o` is finite exactly when
    /// the new state is.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func stepHead<T: LRNNScalar>(
        q: UnsafePointer<T>, k: UnsafePointer<T>, gk: UnsafePointer<T>, v: UnsafePointer<T>,
        o: UnsafeMutablePointer<T>, state: UnsafeMutablePointer<T>, keyDim: Int, valueDim: Int, scale: T
    ) -> Bool {
        o.update(repeating: 0, count: valueDim)
        return withUnsafeTemporaryAllocation(of: T.self, capacity: keyDim) { buffer in
            let decay = buffer.baseAddress!
            decayFactors(gk, into: decay, count: keyDim)
            return stepHead(
                q: q, k: k, decay: decay, v: v, o: o, state: state, keyDim: keyDim, valueDim: valueDim, scale: scale)
        }
    }

    /// ``stepHead(q:k:gk:v:o:state:keyDim:valueDim:scale:)`` with the decay factors `exp(gk)` given.
    @inline(__always)
    static func stepHead<T: LRNNScalar>(
        q: UnsafePointer<T>, k: UnsafePointer<T>, decay: UnsafePointer<T>, v: UnsafePointer<T>,
        o: UnsafeMutablePointer<T>, state: UnsafeMutablePointer<T>, keyDim: Int, valueDim: Int, scale: T
    ) -> Bool {
        for x in 0..<keyDim {
            let a = decay[x]
            let kx = k[x]
            let qx = scale * q[x]
            let row = state + x * valueDim
            for y in 0..<valueDim {
                let s = a * row[y] + kx * v[y]
                row[y] = s
                o[y] += qx * s
            }
        }
        // NaN/±∞ anywhere in column y of the new state reaches o[y] (0·∞ and 0·NaN are NaN too).
        var bad: UInt8 = 0
        for y in 0..<valueDim { bad |= o[y] - o[y] == 0 ? 0 : 1 }
        return bad == 0
    }
}
