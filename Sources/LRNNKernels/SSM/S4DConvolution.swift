import ComplexModule
import LRNNLinearAlgebra
import RealModule

extension S4D {
    /// The S4D layer over a batch by chunked state passing:
    /// `y[b,t,h] = Σ_{s≤t} K[h,s]·u[b,t−s,h] + D[h]·u[b,t,h]` (plus the decayed initial state).
    ///
    /// Per channel, with chunk size C, M = B·⌈T/C⌉ chunks, U the chunks as rows `[M × C]`:
    /// 1. intra-chunk: `Y = U·Tᵀ` with the lower-triangular Toeplitz `T[i,j] = K[i−j]` (C×C);
    /// 2. chunk-end states (each chunk alone): `S = U·Pᵀ`, `P[n, j] = dB_n·dA_n^(C−1−j)`
    ///    (re/im rows, `[2·N2 × C]`);
    /// 3. a scan over chunk boundaries `X_c = dA^C·X_{c−1} + S_c` (O(M·N2));
    /// 4. read-out of the carried state: `Y += X_prev·Qᵀ`, `Q[i, n] = 2·C_n·dA_n^(i+1)`
    ///    as `[Re, −Im]` columns (`[C × 2·N2]`).
    /// The powers `dA^l` in P, Q, `dA^C` and the final state are taken as in
    /// ``kernel(_:length:discretization:)``: exact at a zero bilinear pole (0⁰ = 1, 0^l = 0).
    /// Cost `2·B·T·(C + 2N)` flops per channel, memory O(B·T + M·N) per work item; channels
    /// are ``/LRNNLinearAlgebra/Threading/parallelFor(_:_:)`` work items. No O(T²) term.
    /// - Parameters:
    ///   - u: the input `[B, T, H]`.
    ///   - parameters: the S4D parameters.
    ///   - discretization: zoh or bilinear.
    ///   - chunkSize: C ≥ 1 (default 64; clamped to T).
    ///   - initialState: optional `[B, H, N2]` state before the first token.
    /// - Returns: `y [B, T, H]` and the final state `[B, H, N2]` (for ``S4DRecurrence``).
    /// - Throws: ``KernelError`` on shape mismatch, non-finite input or a bad chunk size.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func convolve<T: LRNNScalar>(
        _ u: Tensor<T>, parameters: S4DParameters<T>, discretization: SSMDiscretization,
        chunkSize: Int = 64, initialState: Tensor<Complex<T>>? = nil
    ) throws(KernelError) -> (y: Tensor<T>, finalState: Tensor<Complex<T>>) {
        // Every element of y is written by the kernel: no zero fill.
        var y = Tensor<T>(
            shape: u.shape, scalars: [T](unsafeUninitializedCapacity: u.count) { _, count in count = u.count })
        let states = u.rank == 3 ? [u.shape[0], parameters.channels, parameters.modes] : [0, 0, 0]
        var final = Tensor<Complex<T>>(
            shape: states, scalars: [Complex<T>](repeating: .zero, count: states.reduce(1, *)))
        try convolve(
            u, parameters: parameters, discretization: discretization, chunkSize: chunkSize,
            initialState: initialState, output: &y, finalState: &final)
        return (y, final)
    }

    /// The S4D layer writing into caller-owned tensors, for callers that run it repeatedly: the same
    /// result as ``convolve(_:parameters:discretization:chunkSize:initialState:)`` without
    /// allocating the output or the state.
    ///
    /// - Parameters:
    ///   - u: the input `[B, T, H]`.
    ///   - parameters: the S4D parameters.
    ///   - discretization: zoh or bilinear.
    ///   - chunkSize: C ≥ 1 (default 64; clamped to T).
    ///   - initialState: optional `[B, H, N2]` state before the first token.
    ///   - y: (`output:`) overwritten with the output; must have the shape of `u`, `[B, T, H]`.
    ///   - final: (`finalState:`) overwritten with the final state; must have shape `[B, H, N2]`.
    /// - Throws: as the allocating form (every input is validated before anything is written), plus
    ///   ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming `output` or `finalState`.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func convolve<T: LRNNScalar>(
        _ u: Tensor<T>, parameters: S4DParameters<T>, discretization: SSMDiscretization,
        chunkSize: Int = 64, initialState: Tensor<Complex<T>>? = nil,
        output y: inout Tensor<T>, finalState final: inout Tensor<Complex<T>>
    ) throws(KernelError) {
        let h = parameters.channels
        let n2 = parameters.modes
        guard u.rank == 3, u.shape[2] == h else {
            throw .shapeMismatch(tensor: "u", shape: u.shape, expected: "[B, T, \(h)]")
        }
        try KernelError.requireFinite(u, "u")
        guard chunkSize >= 1 else {
            throw .invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got \(chunkSize)")
        }
        let (bsz, t) = (u.shape[0], u.shape[1])
        if let s = initialState {
            try KernelError.requireShape(s, [bsz, h, n2], "initial_state")
            for z in s.scalars where !(z.real.isFinite && z.imaginary.isFinite) {
                throw .nonFinite(tensor: "initial_state")
            }
        }
        try KernelError.requireShape(y, [bsz, t, h], "output")
        try KernelError.requireShape(final, [bsz, h, n2], "finalState")
        final.resetState(from: initialState)
        if t == 0 || h == 0 || bsz == 0 { return }
        let c = Swift.min(chunkSize, t)
        let nc = (t + c - 1) / c
        let m = bsz * nc
        let lastLength = t - (nc - 1) * c
        let n2x2 = 2 * n2
        u.withUnsafeBufferPointer { ub in
            y.withUnsafeMutableBufferPointer { yb in
                final.withUnsafeMutableBufferPointer { fb in
                    let uBase = ub.baseAddress!
                    let yBase = UncheckedPointer(yb.baseAddress!)
                    let fBase = UncheckedPointer(fb.baseAddress!)
                    // Work items are blocks of up to 16 channels: each gathers its channels' inputs
                    // into channel-major rows (16 contiguous values per token read), allocates its
                    // workspaces once, and scatters its outputs back the same way.
                    let perItem = Swift.max(1, Swift.min(64, h / Swift.max(1, 2 * Threading.workerCount)))
                    let items = (h + perItem - 1) / perItem
                    Threading.parallelFor(items) { item in
                        let ch0 = item * perItem
                        let ch1 = Swift.min(h, ch0 + perItem)
                        let cb = ch1 - ch0
                        let width = c + n2x2
                        var kern = [Double](repeating: 0, count: c)
                        var pw = [T](repeating: 0, count: n2x2 * c)
                        var op = [T](repeating: 0, count: c * width)
                        var poleRe = [Double](repeating: 0, count: n2)  // dA^C
                        var poleIm = [Double](repeating: 0, count: n2)
                        var xre = [Double](repeating: 0, count: n2)  // the carried state
                        var xim = [Double](repeating: 0, count: n2)
                        var pows = [Complex<Double>](repeating: .zero, count: c + 1)
                        // Workspace rows: one chunk each, `[u chunk (C) | carried state (N)]`; the zero
                        // padding of a short last chunk is never overwritten.
                        var wk = [T](repeating: 0, count: m * width)
                        var yc = [T](repeating: 0, count: m * c)
                        var st = [T](repeating: 0, count: m * n2x2)
                        // Channel-major rows padded by one cache line so that the cb rows do not all map
                        // to the same cache set when T is a power of two.
                        let rs = t + 16
                        var ublk = [T](repeating: 0, count: cb * bsz * rs)
                        var yblk = [T](repeating: 0, count: cb * bsz * rs)
                        for b in 0..<bsz {
                            for s in 0..<t {
                                let row = uBase + (b * t + s) * h + ch0
                                for k in 0..<cb { ublk[(k * bsz + b) * rs + s] = row[k] }
                            }
                        }
                        for ch in ch0..<ch1 {
                            let modes = parameters.discreteModes(channel: ch, discretization)
                            // Small per-channel operators (Float64 powers, rounded once to T):
                            // `op = [Toeplitz + D·I | Q]` (C × (C + N), zero above the diagonal) and P (N × C).
                            for l in 0..<c { kern[l] = 0 }
                            for (k, md) in modes.enumerated() {
                                md.powers(stride: 1, count: c + 1) { l, p in pows[l] = p }
                                for l in 0..<c {
                                    let p = pows[l]
                                    kern[l] += 2 * (md.kernelWeight * p).real
                                    let s = md.inputWeight * p
                                    pw[k * c + (c - 1 - l)] = T(s.real)
                                    pw[(n2 + k) * c + (c - 1 - l)] = T(s.imaginary)
                                    let r = md.outputWeight * pows[l + 1]
                                    op[l * width + c + k] = T(2 * r.real)
                                    op[l * width + c + n2 + k] = T(-2 * r.imaginary)
                                }
                                poleRe[k] = pows[c].real
                                poleIm[k] = pows[c].imaginary
                            }
                            kern[0] += Double(parameters.d.scalars[ch])
                            for i in 0..<c { for j in 0...i { op[i * width + j] = T(kern[i - j]) } }
                            wk.withUnsafeMutableBufferPointer { wb in
                                let w = wb.baseAddress!
                                for b in 0..<bsz {
                                    ublk.withUnsafeBufferPointer { ubk in
                                        let src = ubk.baseAddress! + ((ch - ch0) * bsz + b) * rs
                                        for j in 0..<nc {
                                            let len = Swift.min(c, t - j * c)
                                            (w + (b * nc + j) * width).update(from: src + j * c, count: len)
                                        }
                                    }
                                }
                                let whole = MatrixView(w, rows: m, columns: width)
                                let uView = whole.block(rows: 0..<m, columns: 0..<c)
                                st.withUnsafeMutableBufferPointer { sb in
                                    pw.withUnsafeMutableBufferPointer { pb in
                                        BLAS.gemm(
                                            uView, .none, MatrixView(pb.baseAddress!, rows: n2x2, columns: c),
                                            .transpose,
                                            into: MatrixView(sb.baseAddress!, rows: m, columns: n2x2))
                                    }
                                }
                                // Scan over chunk boundaries (Float64 state) into the state columns, row by
                                // row (contiguous reads of S and writes of the state columns).
                                st.withUnsafeBufferPointer { sb in
                                    let sp = sb.baseAddress!
                                    for b in 0..<bsz {
                                        for k in 0..<n2 {
                                            if initialState != nil {
                                                let z = fBase.pointer[(b * h + ch) * n2 + k]
                                                xre[k] = Double(z.real)
                                                xim[k] = Double(z.imaginary)
                                            } else {
                                                xre[k] = 0
                                                xim[k] = 0
                                            }
                                        }
                                        for j in 0..<nc {
                                            let row = b * nc + j
                                            let wr = w + row * width + c
                                            let sr = sp + row * n2x2
                                            for k in 0..<n2 {
                                                let (a, bb) = (xre[k], xim[k])
                                                wr[k] = T(a)
                                                wr[n2 + k] = T(bb)
                                                xre[k] = poleRe[k] * a - poleIm[k] * bb + Double(sr[k])
                                                xim[k] = poleRe[k] * bb + poleIm[k] * a + Double(sr[n2 + k])
                                            }
                                        }
                                    }
                                }
                                // Y = [U | X_prev]·opᵀ: intra-chunk Toeplitz, skip term and carried state at once.
                                yc.withUnsafeMutableBufferPointer { ycb in
                                    op.withUnsafeMutableBufferPointer { ob in
                                        BLAS.gemm(
                                            whole, .none, MatrixView(ob.baseAddress!, rows: c, columns: width),
                                            .transpose,
                                            into: MatrixView(ycb.baseAddress!, rows: m, columns: c))
                                    }
                                }
                                // Scatter, and the exact final state of each sequence.
                                for b in 0..<bsz {
                                    let off = ((ch - ch0) * bsz + b) * rs
                                    yblk.withUnsafeMutableBufferPointer { ybk in
                                        yc.withUnsafeBufferPointer {
                                            (ybk.baseAddress! + off).update(
                                                from: $0.baseAddress! + b * nc * c, count: t)
                                        }
                                    }
                                    let lastRow = (b * nc + nc - 1) * width
                                    for (k, md) in modes.enumerated() {
                                        var x =
                                            md.power(lastLength)
                                            * Complex(Double(w[lastRow + c + k]), Double(w[lastRow + c + n2 + k]))
                                        var acc = Complex<Double>.zero
                                        for j in 0..<lastLength {
                                            acc = acc * md.pole + Complex(Double(w[lastRow + j]))
                                        }
                                        x = x + md.inputWeight * acc
                                        fBase.pointer[(b * h + ch) * n2 + k] = Complex(T(x.real), T(x.imaginary))
                                    }
                                }
                            }
                        }
                        for b in 0..<bsz {
                            for s in 0..<t {
                                let row = yBase.pointer + (b * t + s) * h + ch0
                                for k in 0..<cb { row[k] = yblk[(k * bsz + b) * rs + s] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Reference convolution, O(B·H·T²): the kernel of length T from ``kernelReference(_:length:discretization:)``
    /// applied by the plain double sum `y[t] = Σ_{s≤t} K[s]·u[t−s] + D·u[t]` in Float64.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func convolveDirect<T: LRNNScalar>(
        _ u: Tensor<T>, parameters: S4DParameters<T>, discretization: SSMDiscretization
    ) throws(KernelError) -> Tensor<T> {
        let h = parameters.channels
        guard u.rank == 3, u.shape[2] == h else {
            throw .shapeMismatch(tensor: "u", shape: u.shape, expected: "[B, T, \(h)]")
        }
        let (bsz, t) = (u.shape[0], u.shape[1])
        let k = kernelReference(parameters.converted(to: Double.self), length: t, discretization: discretization)
        var y = [T](repeating: 0, count: u.count)
        for b in 0..<bsz {
            for ch in 0..<h {
                for i in 0..<t {
                    var acc = Double(parameters.d.scalars[ch]) * Double(u.scalars[(b * t + i) * h + ch])
                    for s in 0...i {
                        acc += k.scalars[ch * t + s] * Double(u.scalars[(b * t + i - s) * h + ch])
                    }
                    y[(b * t + i) * h + ch] = T(acc)
                }
            }
        }
        return Tensor(shape: u.shape, scalars: y)
    }
}

extension S4DParameters {
    /// The same parameters in another precision.
    ///
    /// - Parameter to: the destination precision.
    public func converted<U: LRNNScalar>(to: U.Type = U.self) -> S4DParameters<U> {
        // Shapes and values were validated at construction (A_re ≤ 0); conversion keeps them
        // valid. A tiny negative A_re that underflows in U is clamped to stay < 0 (a decaying
        // mode stays decaying); an exact 0 stays 0.
        func cv(_ x: Tensor<T>) -> Tensor<U> { x.converted(to: U.self) }
        var are = cv(aRe)
        for i in are.scalars.indices where are.scalars[i] == 0 && aRe.scalars[i] < 0 {
            are.scalars[i] = -U.leastNonzeroMagnitude
        }
        return S4DParameters<U>(
            unchecked: cv(logDt), aRe: are, aIm: cv(aIm), bRe: cv(bRe), bIm: cv(bIm), cRe: cv(cRe),
            cIm: cv(cIm), d: cv(d))
    }

    init(
        unchecked logDt: Tensor<T>, aRe: Tensor<T>, aIm: Tensor<T>, bRe: Tensor<T>, bIm: Tensor<T>,
        cRe: Tensor<T>, cIm: Tensor<T>, d: Tensor<T>
    ) {
        self.logDt = logDt
        self.aRe = aRe
        self.aIm = aIm
        self.bRe = bRe
        self.bIm = bIm
        self.cRe = cRe
        self.cIm = cIm
        self.d = d
    }
}
