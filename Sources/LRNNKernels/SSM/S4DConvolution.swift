import ComplexModule
import LRNNLinearAlgebra
import RealModule

extension S4D {
    /// The default chunk length C of ``chunked(_:discretization:sequences:chunkSize:)``.
    public static let defaultChunkSize: Int = 64

    /// The S4D layer by chunked state passing (the parallel form of S4D's convolution,
    /// Gu et al. 2022): `y[b,t,h] = Σ_{s≤t} K[h,s]·u[b,t−s,h] + D[h]·u[b,t,h]` per sequence, plus
    /// the decayed initial state.
    ///
    /// Per channel, with chunk size C, M chunks over all sequences (a sequence of length L has
    /// ⌈L/C⌉), U the chunks as rows `[M × C]`:
    /// 1. intra-chunk: `Y = U·Tᵀ` with the lower-triangular Toeplitz `T[i,j] = K[i−j]` (C×C);
    /// 2. chunk-end states (each chunk alone): `S = U·Pᵀ`, `P[n, j] = dB_n·dA_n^(C−1−j)`
    ///    (re/im rows, `[2·N2 × C]`);
    /// 3. a scan over the chunk boundaries of each sequence `X_c = dA^C·X_{c−1} + S_c`, from the
    ///    sequence's initial state (O(M·N2));
    /// 4. read-out of the carried state: `Y += X_prev·Qᵀ`, `Q[i, n] = 2·C_n·dA_n^(i+1)`
    ///    as `[Re, −Im]` columns (`[C × 2·N2]`).
    /// The powers `dA^l` in P, Q, `dA^C` and the final state are taken as in
    /// ``kernel(_:length:discretization:)``: exact at a zero bilinear pole (0⁰ = 1, 0^l = 0).
    /// Cost `2·B·T·(C + 2N)` flops per channel, memory O(B·T + M·N) per worker; blocks of channels
    /// are ``/LRNNLinearAlgebra/Threading/parallelFor(_:workers:_:)`` work items with one workspace
    /// per worker. No O(T²) term.
    ///
    /// - Parameters:
    ///   - inputs: `u [B, T, H]`, the parameters (H channels, N2 modes) and an optional
    ///     `initialState [N, H, N2]` (zeros when nil).
    ///   - discretization: zoh or bilinear.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1); each sequence
    ///     starts from its own initial state and ends in its own final state.
    ///   - chunkSize: C ≥ 1 (clamped to the longest sequence).
    /// - Returns: the output `[B, T, H]` and the final states `[N, H, N2]`.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming `u`, `initialState`
    ///   or a parameter tensor, ``KernelError/nonFinite(tensor:)`` for NaN/±∞ in `u`, the state or a
    ///   parameter, ``KernelError/invalidArgument(name:reason:)`` for a chunk size below 1 or
    ///   `A_re > 0`, ``KernelError/invalidSequenceBoundaries(reason:)`` for boundaries with B ≠ 1 or
    ///   not ending at T.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = S4D.defaultChunkSize
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<Complex<T>>) {
        let problem = try S4DProblem(inputs, sequences: sequences)
        let u = inputs.u
        // Every element of the output is written by the kernel: no zero fill.
        var output = Tensor<T>(
            shape: u.shape, scalars: [T](unsafeUninitializedCapacity: u.count) { _, count in count = u.count })
        var finalState = Tensor<Complex<T>>.zeros(problem.stateShape)
        try chunked(
            inputs, discretization: discretization, sequences: sequences, chunkSize: chunkSize, output: &output,
            finalState: &finalState)
        return (output, finalState)
    }

    /// The S4D layer writing into caller-owned tensors, for callers that run it repeatedly: the same
    /// result as ``chunked(_:discretization:sequences:chunkSize:)`` without allocating the output or
    /// the state.
    ///
    /// - Parameters:
    ///   - inputs: as for the allocating form; the tensor passed as `finalState` may also be the
    ///     inputs' `initialState`.
    ///   - discretization: zoh or bilinear.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - chunkSize: C ≥ 1 (clamped to the longest sequence).
    ///   - y: (`output:`) overwritten with the output; must have the shape of `u`, `[B, T, H]`.
    ///   - final: (`finalState:`) overwritten with the final states; must have shape `[N, H, N2]`.
    /// - Throws: as the allocating form (every input is validated before anything is written), plus
    ///   ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming `output` or `finalState`.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = S4D.defaultChunkSize, output y: inout Tensor<T>, finalState final: inout Tensor<Complex<T>>
    ) throws(KernelError) {
        let problem = try S4DProblem(inputs, sequences: sequences)
        guard chunkSize >= 1 else {
            throw .invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got \(chunkSize)")
        }
        let u = inputs.u
        let parameters = inputs.parameters
        try KernelError.requireShape(y, u.shape, "output")
        try KernelError.requireShape(final, problem.stateShape, "finalState")
        final.resetState(from: inputs.initialState)
        let (bsz, t, h, n2) = (problem.batch, problem.tokens, problem.channels, problem.modes)
        let seqs = problem.sequences
        let longest = seqs.map(\.length).max() ?? 0
        if longest == 0 || h == 0 { return }
        let c = Swift.min(chunkSize, longest)
        // Chunk rows: sequence s owns rows rowStart[s] ..< rowStart[s] + ⌈L_s / C⌉.
        var rowStart = [Int](repeating: 0, count: seqs.count + 1)
        for (i, seq) in seqs.enumerated() { rowStart[i + 1] = rowStart[i] + (seq.length + c - 1) / c }
        let m = rowStart[seqs.count]
        let n2x2 = 2 * n2
        let width = c + n2x2
        // Work items are blocks of up to 64 channels: each gathers its channels' inputs into
        // channel-major rows (contiguous values per token read) and scatters its outputs back the same
        // way. Channel-major rows are padded by one cache line so that the rows do not all map to the
        // same cache set when T is a power of two.
        let perItem = Swift.max(1, Swift.min(64, h / Swift.max(1, 2 * Threading.workerCount)))
        let items = (h + perItem - 1) / perItem
        let rs = t + 16
        // One workspace per worker, allocated here once: Float64 scratch (the kernel, dA^C, the carried
        // state), the powers, the modes, and T scratch (P, the operator, the chunk rows, Y, S and the
        // channel-major blocks). The chunk rows' zero padding of a short last chunk is the same for
        // every channel and is never overwritten.
        let workers = Swift.max(1, Swift.min(items, Threading.workerCount))
        let doubles = c + 4 * n2
        let scalars = n2x2 * c + c * width + m * width + m * c + m * n2x2 + 2 * perItem * bsz * rs
        let doubleSpace = UnsafeMutablePointer<Double>.allocate(capacity: workers * doubles)
        let powerSpace = UnsafeMutablePointer<Complex<Double>>.allocate(capacity: workers * (c + 1))
        let modeSpace = UnsafeMutablePointer<DiscreteMode>.allocate(capacity: workers * n2)
        let scalarSpace = UnsafeMutablePointer<T>.allocate(capacity: workers * scalars)
        scalarSpace.initialize(repeating: 0, count: workers * scalars)
        defer {
            doubleSpace.deallocate()
            powerSpace.deallocate()
            modeSpace.deallocate()
            scalarSpace.deallocate()
        }
        let doubleBase = UncheckedPointer(doubleSpace)
        let powerBase = UncheckedPointer(powerSpace)
        let modeBase = UncheckedPointer(modeSpace)
        let scalarBase = UncheckedPointer(scalarSpace)
        u.withUnsafeBufferPointer { ub in
            y.withUnsafeMutableBufferPointer { yb in
                final.withUnsafeMutableBufferPointer { fb in
                    let uBase = ub.baseAddress!
                    let yBase = UncheckedPointer(yb.baseAddress!)
                    let fBase = UncheckedPointer(fb.baseAddress!)
                    Threading.parallelFor(items, workers: workers) { item, worker in
                        let ch0 = item * perItem
                        let ch1 = Swift.min(h, ch0 + perItem)
                        let cb = ch1 - ch0
                        let kern = doubleBase.pointer + worker * doubles
                        let poleRe = kern + c  // dA^C
                        let poleIm = poleRe + n2
                        let xre = poleIm + n2  // the carried state
                        let xim = xre + n2
                        let pows = powerBase.pointer + worker * (c + 1)
                        let modes = modeBase.pointer + worker * n2
                        let pw = scalarBase.pointer + worker * scalars
                        let op = pw + n2x2 * c
                        let w = op + c * width
                        let yc = w + m * width
                        let st = yc + m * c
                        let ublk = st + m * n2x2
                        let yblk = ublk + perItem * bsz * rs
                        for b in 0..<bsz {
                            for s in 0..<t {
                                let row = uBase + (b * t + s) * h + ch0
                                for k in 0..<cb { ublk[(k * bsz + b) * rs + s] = row[k] }
                            }
                        }
                        for ch in ch0..<ch1 {
                            for k in 0..<n2 {
                                (modes + k).initialize(
                                    to: parameters.discreteMode(channel: ch, mode: k, discretization))
                            }
                            // Small per-channel operators (Float64 powers, rounded once to T):
                            // `op = [Toeplitz + D·I | Q]` (C × (C + N), zero above the diagonal) and P (N × C).
                            for l in 0..<c { kern[l] = 0 }
                            for k in 0..<n2 {
                                let md = modes[k]
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
                            for (si, seq) in seqs.enumerated() {
                                let src = ublk + ((ch - ch0) * bsz + seq.batch) * rs + seq.start
                                for j in 0..<(rowStart[si + 1] - rowStart[si]) {
                                    let len = Swift.min(c, seq.length - j * c)
                                    (w + (rowStart[si] + j) * width).update(from: src + j * c, count: len)
                                }
                            }
                            let whole = MatrixView(w, rows: m, columns: width)
                            BLAS.gemm(
                                whole.block(rows: 0..<m, columns: 0..<c), .none, MatrixView(pw, rows: n2x2, columns: c),
                                .transpose, into: MatrixView(st, rows: m, columns: n2x2))
                            // Scan over each sequence's chunk boundaries (Float64 state, from the
                            // sequence's initial state) into the state columns, row by row.
                            for (si, seq) in seqs.enumerated() {
                                for k in 0..<n2 {
                                    let z = fBase.pointer[(seq.slot * h + ch) * n2 + k]
                                    xre[k] = Double(z.real)
                                    xim[k] = Double(z.imaginary)
                                }
                                for row in rowStart[si]..<rowStart[si + 1] {
                                    let wr = w + row * width + c
                                    let sr = st + row * n2x2
                                    for k in 0..<n2 {
                                        let (a, bb) = (xre[k], xim[k])
                                        wr[k] = T(a)
                                        wr[n2 + k] = T(bb)
                                        xre[k] = poleRe[k] * a - poleIm[k] * bb + Double(sr[k])
                                        xim[k] = poleRe[k] * bb + poleIm[k] * a + Double(sr[n2 + k])
                                    }
                                }
                            }
                            // Y = [U | X_prev]·opᵀ: intra-chunk Toeplitz, skip term and carried state at once.
                            BLAS.gemm(
                                whole, .none, MatrixView(op, rows: c, columns: width), .transpose,
                                into: MatrixView(yc, rows: m, columns: c))
                            // Scatter, and the exact final state of each non-empty sequence.
                            for (si, seq) in seqs.enumerated() where seq.length > 0 {
                                let off = ((ch - ch0) * bsz + seq.batch) * rs + seq.start
                                (yblk + off).update(from: yc + rowStart[si] * c, count: seq.length)
                                let chunks = rowStart[si + 1] - rowStart[si]
                                let lastLength = seq.length - (chunks - 1) * c
                                let lastRow = (rowStart[si + 1] - 1) * width
                                for k in 0..<n2 {
                                    let md = modes[k]
                                    var x =
                                        md.power(lastLength)
                                        * Complex(Double(w[lastRow + c + k]), Double(w[lastRow + c + n2 + k]))
                                    var acc = Complex<Double>.zero
                                    for j in 0..<lastLength {
                                        acc = acc * md.pole + Complex(Double(w[lastRow + j]))
                                    }
                                    x = x + md.inputWeight * acc
                                    fBase.pointer[(seq.slot * h + ch) * n2 + k] = Complex(T(x.real), T(x.imaginary))
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

    /// ``chunked(_:discretization:sequences:chunkSize:)`` with the input and parameters as separate
    /// arguments (the argument list of existing call sites).
    ///
    /// - Parameters:
    ///   - u: the input `[B, T, H]`.
    ///   - parameters: the S4D parameters.
    ///   - discretization: zoh or bilinear.
    ///   - chunkSize: C ≥ 1 (clamped to T).
    ///   - initialState: optional `[B, H, N2]` state before the first token.
    /// - Returns: the output `[B, T, H]` and the final state `[B, H, N2]`.
    /// - Throws: as ``chunked(_:discretization:sequences:chunkSize:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ u: Tensor<T>, parameters: S4DParameters<T>, discretization: SSMDiscretization,
        chunkSize: Int = S4D.defaultChunkSize, initialState: Tensor<Complex<T>>? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<Complex<T>>) {
        try chunked(
            Inputs(u: u, parameters: parameters, initialState: initialState), discretization: discretization,
            chunkSize: chunkSize)
    }

    /// ``chunked(_:discretization:sequences:chunkSize:output:finalState:)`` with the input and
    /// parameters as separate arguments (the argument list of existing call sites).
    ///
    /// - Parameters:
    ///   - u: the input `[B, T, H]`.
    ///   - parameters: the S4D parameters.
    ///   - discretization: zoh or bilinear.
    ///   - chunkSize: C ≥ 1 (clamped to T).
    ///   - initialState: optional `[B, H, N2]` state before the first token.
    ///   - output: overwritten with the output `[B, T, H]`.
    ///   - finalState: overwritten with the final state `[B, H, N2]`.
    /// - Throws: as ``chunked(_:discretization:sequences:chunkSize:output:finalState:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ u: Tensor<T>, parameters: S4DParameters<T>, discretization: SSMDiscretization,
        chunkSize: Int = S4D.defaultChunkSize, initialState: Tensor<Complex<T>>? = nil,
        output: inout Tensor<T>, finalState: inout Tensor<Complex<T>>
    ) throws(KernelError) {
        try chunked(
            Inputs(u: u, parameters: parameters, initialState: initialState), discretization: discretization,
            chunkSize: chunkSize, output: &output, finalState: &finalState)
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
        try KernelError.requireFinite(u, "u")
        let (bsz, t) = (u.shape[0], u.shape[1])
        let k = try kernelReference(parameters.converted(to: Double.self), length: t, discretization: discretization)
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
