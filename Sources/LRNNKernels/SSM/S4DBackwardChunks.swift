import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// Where the work items of ``S4D/backward(_:discretization:sequences:chunkSize:outputGradient:finalStateGradient:)``
/// write: each item owns its channels' columns of `du`, their parameter gradients and their
/// initial-state gradients.
struct S4DBackwardOutputs<T>: Sendable {
    /// `du [B·T, H]`.
    let du: UncheckedPointer<T>
    /// The six `[H, N2]` blocks (A_re, A_im, B_re, B_im, C_re, C_im), then log Δ `[H]`, D `[H]`.
    let grads: UncheckedPointer<Double>
    /// `[N, H, N2]`.
    let dx0: UncheckedPointer<Complex<Double>>
}

/// One worker's workspace for the S4D backward, allocated once per call and reused for every
/// channel the worker runs (sizes from the chunk layout, never from a chunk).
final class S4DBackwardWorkspace<T: LRNNScalar>: @unchecked Sendable {
    /// Channel-major staging rows `[channels × B·T]` of u, dy and du.
    let uRows: WorkerBuffer<T>
    let dyRows: WorkerBuffer<T>
    let duRows: WorkerBuffer<T>
    /// The chunks of u `[M × C]` and of `[dy | ĝ]` `[M × (C + 2·N2)]` (zero padding never written).
    let uChunks: WorkerBuffer<T>
    let dyChunks: WorkerBuffer<T>
    /// `U·[P₀; P₁]ᵀ` and `DY·[V₀; V₁]ᵀ`, `[M × 4·N2]` each.
    let uSums: WorkerBuffer<T>
    let dySums: WorkerBuffer<T>
    /// du of each chunk `[M × C]`, the correlation `DYᵀ·U` `[C × C]`.
    let duChunks: WorkerBuffer<T>
    let correlation: WorkerBuffer<T>
    /// The operators `[P₀; P₁]`, `[V₀; V₁]` (`[4·N2 × C]`) and `[Tᵀ + D·I | P]` (`[C × (C + 2·N2)]`).
    let uPowers: WorkerBuffer<T>
    let dyPowers: WorkerBuffer<T>
    let duOperator: WorkerBuffer<T>
    /// The kernel K[0 ..< C] (plus D at 0) and the intra-chunk kernel gradient dK[0 ..< C].
    let kernel: WorkerBuffer<Double>
    let kernelGradient: WorkerBuffer<Double>
    /// Powers `dA^0 ... dA^C` of one mode.
    let powers: WorkerBuffer<Complex<Double>>
    /// Chunk-start states and the adjoints entering each chunk from the right, `[M × N2]`.
    let states: WorkerBuffer<Complex<Double>>
    let adjoints: WorkerBuffer<Complex<Double>>
    /// Per mode `[N2]`: Σ dK[l]·conj(dA)^l, Σ l·dK[l]·conj(dA)^(l−1), dA^C, dA^(C−1), the running state.
    let r0: WorkerBuffer<Complex<Double>>
    let r1: WorkerBuffer<Complex<Double>>
    let poleC: WorkerBuffer<Complex<Double>>
    let poleC1: WorkerBuffer<Complex<Double>>
    let state: WorkerBuffer<Complex<Double>>

    init(layout: SSMChunkLayout, modes n2: Int, channels: Int, tokens: Int) {
        let (m, c) = (layout.chunks, layout.chunk)
        uRows = WorkerBuffer(count: channels * tokens, repeating: 0)
        dyRows = WorkerBuffer(count: channels * tokens, repeating: 0)
        duRows = WorkerBuffer(count: channels * tokens, repeating: 0)
        uChunks = WorkerBuffer(count: m * c, repeating: 0)
        dyChunks = WorkerBuffer(count: m * (c + 2 * n2), repeating: 0)
        uSums = WorkerBuffer(count: m * 4 * n2, repeating: 0)
        dySums = WorkerBuffer(count: m * 4 * n2, repeating: 0)
        duChunks = WorkerBuffer(count: m * c, repeating: 0)
        correlation = WorkerBuffer(count: c * c, repeating: 0)
        uPowers = WorkerBuffer(count: 4 * n2 * c, repeating: 0)
        dyPowers = WorkerBuffer(count: 4 * n2 * c, repeating: 0)
        duOperator = WorkerBuffer(count: c * (c + 2 * n2), repeating: 0)
        kernel = WorkerBuffer(count: c, repeating: 0)
        kernelGradient = WorkerBuffer(count: c, repeating: 0)
        powers = WorkerBuffer(count: c + 1, repeating: .zero)
        states = WorkerBuffer(count: m * n2, repeating: .zero)
        adjoints = WorkerBuffer(count: m * n2, repeating: .zero)
        r0 = WorkerBuffer(count: n2, repeating: .zero)
        r1 = WorkerBuffer(count: n2, repeating: .zero)
        poleC = WorkerBuffer(count: n2, repeating: .zero)
        poleC1 = WorkerBuffer(count: n2, repeating: .zero)
        state = WorkerBuffer(count: n2, repeating: .zero)
    }
}

/// One S4D backward call's constants; ``run(channels:u:dy:space:out:)`` is one work item.
struct S4DBackwardProblem<T: LRNNScalar>: Sendable {
    let parameters: S4DParameters<T>
    let discretization: SSMDiscretization
    let layout: SSMChunkLayout
    let initialState: Tensor<Complex<T>>?
    let finalStateGradient: Tensor<Complex<T>>?
    let tokens: Int

    /// The gradients of a block of channels (docs/kernels/ssm.md, "S4D backward").
    func run(
        channels: Range<Int>, u: UnsafeMutablePointer<T>, dy: UnsafeMutablePointer<T>,
        space: S4DBackwardWorkspace<T>, out: S4DBackwardOutputs<T>
    ) {
        let h = parameters.channels
        let n2 = parameters.modes
        let (c, m, bt) = (layout.chunk, layout.chunks, tokens)
        let width = c + 2 * n2
        let ch0 = channels.lowerBound
        let cb = channels.count
        let (uRows, dyRows, duRows) = (space.uRows.pointer, space.dyRows.pointer, space.duRows.pointer)
        for t in 0..<bt {
            let (ur, dr) = (u + t * h + ch0, dy + t * h + ch0)
            for k in 0..<cb {
                uRows[k * bt + t] = ur[k]
                dyRows[k * bt + t] = dr[k]
            }
        }
        let (uc, dc) = (space.uChunks.pointer, space.dyChunks.pointer)
        let uView = MatrixView(uc, rows: m, columns: c)
        let dyAll = MatrixView(dc, rows: m, columns: width)
        let dyView = dyAll.block(rows: 0..<m, columns: 0..<c)
        let (us, ds) = (space.uSums.pointer, space.dySums.pointer)
        let (pw, vw, op) = (space.uPowers.pointer, space.dyPowers.pointer, space.duOperator.pointer)
        let (kern, dk, pows) = (space.kernel.pointer, space.kernelGradient.pointer, space.powers.pointer)
        let (xs, gs) = (space.states.pointer, space.adjoints.pointer)
        let (r0, r1, pc, pc1, st) = (
            space.r0.pointer, space.r1.pointer, space.poleC.pointer, space.poleC1.pointer, space.state.pointer
        )
        let logDtAt = 6 * h * n2
        for ch in channels {
            let (uR, dyR, duR) = (uRows + (ch - ch0) * bt, dyRows + (ch - ch0) * bt, duRows + (ch - ch0) * bt)
            for j in 0..<m {
                let (start, len) = (layout.chunkStart[j], layout.chunkLength[j])
                (uc + j * c).update(from: uR + start, count: len)
                (dc + j * width).update(from: dyR + start, count: len)
            }
            // The intra-chunk correlation DYᵀ·U; its diagonals are dK[l] for lags l < C.
            let corr = space.correlation.pointer
            BLAS.gemm(dyView, .transpose, uView, .none, into: MatrixView(corr, rows: c, columns: c))
            for l in 0..<c {
                var sum = 0.0
                for i in l..<c { sum += Double(corr[i * c + i - l]) }
                dk[l] = sum
            }
            out.grads.pointer[logDtAt + h + ch] = dk[0]
            // Operators (Float64 powers rounded once to T) and the Vandermonde contractions of dK.
            let modes = parameters.discreteModes(channel: ch, discretization)
            for l in 0..<c { kern[l] = 0 }
            for (k, md) in modes.enumerated() {
                md.powers(stride: 1, count: c + 1) { l, z in pows[l] = z }
                var s0 = Complex<Double>.zero
                var s1 = Complex<Double>.zero
                for l in 0..<c {
                    let z = pows[l]
                    kern[l] += 2 * (md.kernelWeight * z).real
                    s0 = s0 + z.conjugate * dk[l]
                    let col = c - 1 - l
                    pw[k * c + col] = T(z.real)
                    pw[(n2 + k) * c + col] = T(z.imaginary)
                    let dz = l == 0 ? Complex<Double>.zero : pows[l - 1] * Double(l)
                    if l > 0 { s1 = s1 + dz.conjugate * dk[l] }
                    pw[(2 * n2 + k) * c + col] = T(dz.real)
                    pw[(3 * n2 + k) * c + col] = T(dz.imaginary)
                    vw[k * c + l] = T(z.real)
                    vw[(n2 + k) * c + l] = T(z.imaginary)
                    let w = z * Double(l + 1)
                    vw[(2 * n2 + k) * c + l] = T(w.real)
                    vw[(3 * n2 + k) * c + l] = T(w.imaginary)
                    let q = md.inputWeight * z
                    op[col * width + c + k] = T(q.real)
                    op[col * width + c + n2 + k] = T(q.imaginary)
                }
                r0[k] = s0
                r1[k] = s1
                pc[k] = pows[c]
                pc1[k] = pows[c - 1]
            }
            kern[0] += Double(parameters.d.scalars[ch])
            for i in 0..<c {
                for t in 0..<c { op[i * width + t] = t >= i ? T(kern[t - i]) : 0 }
            }
            BLAS.gemm(
                uView, .none, MatrixView(pw, rows: 4 * n2, columns: c), .transpose,
                into: MatrixView(us, rows: m, columns: 4 * n2))
            BLAS.gemm(
                dyView, .none, MatrixView(vw, rows: 4 * n2, columns: c), .transpose,
                into: MatrixView(ds, rows: m, columns: 4 * n2))
            func sum(_ p: UnsafeMutablePointer<T>, _ j: Int, _ block: Int, _ k: Int) -> Complex<Double> {
                let row = p + j * 4 * n2 + 2 * block * n2
                return Complex(Double(row[k]), Double(row[n2 + k]))
            }
            // Chunk-start states (forward scan over chunk boundaries) and adjoints entering each
            // chunk from the right (reverse scan), per sequence.
            for s in 0..<layout.sequences {
                let (first, end) = (layout.firstChunk[s], layout.firstChunk[s + 1])
                let si = (s * h + ch) * n2
                for k in 0..<n2 {
                    if let x0 = initialState?.scalars[si + k] {
                        st[k] = Complex(Double(x0.real), Double(x0.imaginary))
                    } else {
                        st[k] = .zero
                    }
                }
                for j in first..<end {
                    for k in 0..<n2 {
                        xs[j * n2 + k] = st[k]
                        st[k] = pc[k] * st[k] + modes[k].inputWeight * sum(us, j, 0, k)
                    }
                }
                for k in 0..<n2 {
                    var df = Complex<Double>.zero
                    if let f = finalStateGradient?.scalars[si + k] { df = Complex(Double(f.real), Double(f.imaginary)) }
                    guard end > first else {
                        out.dx0.pointer[si + k] = df
                        continue
                    }
                    let md = modes[k]
                    let cbar2 = md.outputWeight.conjugate * 2
                    let abar = md.pole.conjugate
                    var carry = cbar2 * sum(ds, end - 1, 0, k).conjugate
                    if finalStateGradient != nil {
                        carry = carry + md.power(layout.chunkLength[end - 1] - 1).conjugate * df
                    }
                    gs[(end - 1) * n2 + k] = .zero
                    for j in stride(from: end - 2, through: first, by: -1) {
                        let g = abar * carry
                        gs[j * n2 + k] = g
                        carry = pc1[k].conjugate * g + cbar2 * sum(ds, j, 0, k).conjugate
                    }
                    out.dx0.pointer[si + k] = abar * carry
                }
            }
            // du = [DY | ĝ]·[Tᵀ + D·I | P]ᵀ.
            for j in 0..<m {
                for k in 0..<n2 {
                    let g = gs[j * n2 + k]
                    dc[j * width + c + k] = T(g.real)
                    dc[j * width + c + n2 + k] = T(g.imaginary)
                }
            }
            let duc = space.duChunks.pointer
            BLAS.gemm(
                dyAll, .none, MatrixView(op, rows: c, columns: width), .transpose,
                into: MatrixView(duc, rows: m, columns: c))
            for j in 0..<m {
                (duR + layout.chunkStart[j]).update(from: duc + j * c, count: layout.chunkLength[j])
            }
            // Parameter gradients per mode: the intra-chunk lags through r0, r1, the crossing lags
            // through the chunk states and adjoints, and the final-state cotangent's tail terms.
            var logDtGradient = 0.0
            for (k, md) in modes.enumerated() {
                let (a, db) = (md.pole, md.inputWeight)
                let cbar2 = md.outputWeight.conjugate * 2
                var gc = db.conjugate * r0[k] * 2
                var gdB = cbar2 * r0[k]
                var gdA = (md.outputWeight * db).conjugate * r1[k] * 2
                let crossing = pc1[k].conjugate * Double(c)
                var sx = Complex<Double>.zero
                for j in 0..<m {
                    let x = xs[j * n2 + k]
                    let g = gs[j * n2 + k]
                    sx = sx + x * sum(ds, j, 0, k)
                    gdB = gdB + g * sum(us, j, 0, k).conjugate
                    gdA =
                        gdA + g * x.conjugate * crossing + g * db.conjugate * sum(us, j, 1, k).conjugate
                        + cbar2 * x.conjugate * sum(ds, j, 1, k).conjugate
                }
                gc = gc + (a * sx).conjugate * 2
                if let dF = finalStateGradient {
                    for s in 0..<layout.sequences where layout.firstChunk[s + 1] > layout.firstChunk[s] {
                        let last = layout.firstChunk[s + 1] - 1
                        let (start, len) = (layout.chunkStart[last], layout.chunkLength[last])
                        let f = dF.scalars[(s * h + ch) * n2 + k]
                        let df = Complex(Double(f.real), Double(f.imaginary))
                        var q = db * df.conjugate
                        for i in stride(from: len - 1, through: 0, by: -1) {
                            duR[start + i] += T(q.real)
                            q = q * a
                        }
                        var z = xs[last * n2 + k]
                        var accU = Complex<Double>.zero
                        var accX = Complex<Double>.zero
                        for i in 0..<len {
                            let x = Double(uR[start + i])
                            accX = a * accX + z
                            accU = a * accU + Complex(x)
                            z = a * z + db * x
                        }
                        gdB = gdB + df * accU.conjugate
                        gdA = gdA + df * accX.conjugate
                    }
                }
                let (a0, b0, _) = parameters.mode(ch, k)
                let jac = DiscretizationJacobian(discretization, a: a0, logStep: Double(parameters.logDt.scalars[ch]))
                let (ga, gl) = jac.chain(gPole: gdA, gScale: b0.conjugate * gdB)
                let gb = jac.scale.conjugate * gdB
                let at = ch * n2 + k
                let g = out.grads.pointer
                let blocks = h * n2
                g[at] = ga.real
                g[blocks + at] = ga.imaginary
                g[2 * blocks + at] = gb.real
                g[3 * blocks + at] = gb.imaginary
                g[4 * blocks + at] = gc.real
                g[5 * blocks + at] = gc.imaginary
                logDtGradient += gl
            }
            out.grads.pointer[logDtAt + ch] = logDtGradient
        }
        for t in 0..<bt {
            let row = out.du.pointer + t * h + ch0
            for k in 0..<cb { row[k] = duRows[k * bt + t] }
        }
    }
}
