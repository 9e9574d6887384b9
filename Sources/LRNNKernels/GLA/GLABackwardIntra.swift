import LRNNLinearAlgebra

extension GLA.BackwardKernel {
    /// The pointers ``intraGradients(rows:subChunkSize:_:)`` works with: the chunk's q, k and their
    /// gradient rows (`keyStride` apart), the decay factors (contiguous rows of K), `dP` (len×len,
    /// zero above the diagonal, scale included) and contiguous C×K scratch rows indexed by token.
    struct IntraBuffers {
        let q: UnsafeMutablePointer<T>
        let k: UnsafeMutablePointer<T>
        let dq: UnsafeMutablePointer<T>
        let dk: UnsafeMutablePointer<T>
        let keyStride: Int
        let length: Int
        let decay: UnsafeMutablePointer<T>
        let dP: UnsafeMutablePointer<T>
        let qSub: UnsafeMutablePointer<T>
        let kSub: UnsafeMutablePointer<T>
        let factorQ: UnsafeMutablePointer<T>
        let factorK: UnsafeMutablePointer<T>
        let product: UnsafeMutablePointer<T>
        let carry: UnsafeMutablePointer<T>
    }

    /// Adds the intra-chunk gradients of `rows` (their own lower triangle of P) to dq and dk:
    ///
    ///     dq_i += Σ_{j ≤ i} dP_ij · k_j ⊙ Π_{j < s ≤ i} a_s,      dk_j += Σ_{i ≥ j} dP_ij · q_i ⊙ Π_{j < s ≤ i} a_s
    ///
    /// with the forward's sub-chunk factorisation. For sub-chunk I = rows `n ... e`, the dq of its rows
    /// from the earlier columns j < n goes through the reference row n (q side Π_{n < s ≤ i} a_s, k side
    /// Π_{j < s ≤ n} a_s, both ≤ 1), and the dk of its rows from the later rows i > e through the
    /// reference row e (k side Π_{j < s ≤ e} a_s, q side Π_{e < s ≤ i} a_s, both ≤ 1): one GEMM each. The
    /// diagonal block joins both GEMMs when the sub-chunk's decay Δ is within the forward's bound (its
    /// k side for dq and q side for dk then lie in [1, exp(Δ)]); otherwise it is halved recursively and
    /// blocks of at most ``GLA/ChunkKernel/directBlock`` rows use a direct pair loop carrying
    /// Π_{j < s ≤ i} a_s (factors ≤ 1 only).
    func intraGradients(rows: Range<Int>, subChunkSize sub: Int, _ b: IntraBuffers) {
        let dk = keyDim
        let (lo, hi, len, ks) = (rows.lowerBound, rows.upperBound, b.length, b.keyStride)
        let floor = T.exp(-GLA.ChunkKernel<T>.boundedDecay)
        let tiny = GLA.flushBelow(T.self)
        let carry = b.carry
        let dPView = MatrixView(b.dP, rows: len, columns: len)
        let product = MatrixView(b.product, rows: sub, columns: dk)
        var n = lo
        while n < hi {
            let m = Swift.min(sub, hi - n)
            let e = n + m - 1
            // q-side factors Π_{n < s ≤ i} a_s (i in I); afterwards carry = exp(−Δ) per channel.
            carry.update(repeating: 1, count: dk)
            for i in n...e {
                let f = b.factorQ + i * dk
                if i > n {
                    let a = b.decay + i * dk
                    for x in 0..<dk {
                        let c = carry[x] * a[x]
                        carry[x] = c * (c < tiny ? 0 : 1)
                    }
                }
                f.update(from: carry, count: dk)
            }
            var weak: UInt8 = 1
            for x in 0..<dk { weak &= carry[x] >= floor ? 1 : 0 }
            // k-side factors Π_{j < s ≤ e} a_s (j in I).
            carry.update(repeating: 1, count: dk)
            for j in stride(from: e, through: n, by: -1) {
                (b.factorK + j * dk).update(from: carry, count: dk)
                let a = b.decay + j * dk
                for x in 0..<dk {
                    let c = carry[x] * a[x]
                    carry[x] = c * (c < tiny ? 0 : 1)
                }
            }
            // Keys of the earlier rows through row n: k_j ⊙ Π_{j < s ≤ n} a_s, lo ≤ j < n.
            if n > lo {
                carry.update(from: b.decay + n * dk, count: dk)
                for j in stride(from: n - 1, through: lo, by: -1) {
                    let kj = b.k + j * ks
                    let dst = b.kSub + j * dk
                    let a = b.decay + j * dk
                    for x in 0..<dk {
                        dst[x] = kj[x] * carry[x]
                        let c = carry[x] * a[x]
                        carry[x] = c * (c < tiny ? 0 : 1)
                    }
                }
            }
            // Queries of the later rows through row e: q_i ⊙ Π_{e < s ≤ i} a_s, e < i < hi.
            if e + 1 < hi {
                carry.update(repeating: 1, count: dk)
                for i in (e + 1)..<hi {
                    let qi = b.q + i * ks
                    let dst = b.qSub + i * dk
                    let a = b.decay + i * dk
                    for x in 0..<dk {
                        let c = carry[x] * a[x]
                        let kept: T = c * (c < tiny ? 0 : 1)
                        carry[x] = kept
                        dst[x] = qi[x] * kept
                    }
                }
            }
            let firstColumn = weak != 0 ? e + 1 : n  // dq: columns lo ..< firstColumn
            let firstRow = weak != 0 ? n : e + 1  // dk: rows firstRow ..< hi
            if weak != 0 {
                // Inside the sub-chunk: k_j / Π_{n < s ≤ j} a_s and q_i / Π_{i < s ≤ e} a_s, both ≤ exp(Δ).
                for j in n...e {
                    let (kj, qj) = (b.k + j * ks, b.q + j * ks)
                    let (kd, qd) = (b.kSub + j * dk, b.qSub + j * dk)
                    let (fq, fk) = (b.factorQ + j * dk, b.factorK + j * dk)
                    for x in 0..<dk {
                        kd[x] = kj[x] / fq[x]
                        qd[x] = qj[x] / fk[x]
                    }
                }
            }
            if firstColumn > lo {
                BLAS.gemm(
                    dPView.block(rows: n..<(e + 1), columns: lo..<firstColumn), .none,
                    MatrixView(b.kSub + lo * dk, rows: firstColumn - lo, columns: dk), .none,
                    into: product.rows(0..<m))
                accumulate(into: b.dq + n * ks, stride: ks, b.product, times: b.factorQ + n * dk, rows: m)
            }
            if firstRow < hi {
                BLAS.gemm(
                    dPView.block(rows: firstRow..<hi, columns: n..<(e + 1)), .transpose,
                    MatrixView(b.qSub + firstRow * dk, rows: hi - firstRow, columns: dk), .none,
                    into: product.rows(0..<m))
                accumulate(into: b.dk + n * ks, stride: ks, b.product, times: b.factorK + n * dk, rows: m)
            }
            if weak == 0 {
                if m > GLA.ChunkKernel<T>.directBlock {
                    intraGradients(rows: n..<(e + 1), subChunkSize: (m + 1) / 2, b)
                } else {
                    directPairs(rows: n..<(e + 1), b)
                }
            }
            n += m
        }
    }

    /// `target[r] += product[r] ⊙ factors[r]` for `rows` rows (target rows `stride` apart).
    @inline(__always)
    func accumulate(
        into target: UnsafeMutablePointer<T>, stride: Int, _ product: UnsafeMutablePointer<T>,
        times factors: UnsafeMutablePointer<T>, rows: Int
    ) {
        let dk = keyDim
        for r in 0..<rows {
            let t = target + r * stride
            let p = product + r * dk
            let f = factors + r * dk
            for x in 0..<dk { t[x] += p[x] * f[x] }
        }
    }

    /// The diagonal block of `rows` by the direct pair loop: for every pair j ≤ i the factor
    /// F = Π_{j < s ≤ i} a_s (carried, factors ≤ 1) gives `dq_i += dP_ij·k_j ⊙ F` and `dk_j += dP_ij·q_i ⊙ F`.
    func directPairs(rows: Range<Int>, _ b: IntraBuffers) {
        let dk = keyDim
        let tiny = GLA.flushBelow(T.self)
        let (ks, len) = (b.keyStride, b.length)
        let f = b.carry
        for j in rows {
            f.update(repeating: 1, count: dk)
            let (kj, dkj) = (b.k + j * ks, b.dk + j * ks)
            for i in j..<rows.upperBound {
                if i > j {
                    let a = b.decay + i * dk
                    for x in 0..<dk {
                        let c = f[x] * a[x]
                        f[x] = c * (c < tiny ? 0 : 1)
                    }
                }
                let w = b.dP[i * len + j]
                let (qi, dqi) = (b.q + i * ks, b.dq + i * ks)
                for x in 0..<dk {
                    let wf = w * f[x]
                    dqi[x] += wf * kj[x]
                    dkj[x] += wf * qi[x]
                }
            }
        }
    }
}
