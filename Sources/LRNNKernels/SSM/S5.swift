import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// S5's discretised operators as real matrices, ready for GEMMs:
/// `inputMatrix [2P × H]` = `[Re dB; Im dB]`, `outputMatrix [H × 2P]` = `f·[Re C, −Im C]`,
/// and the poles `dΛ` (Float64).
///
/// An immutable `Sendable` value: one system may serve any number of concurrent calls.
public struct S5System<T: LRNNScalar>: Sendable {
    /// The number of states P.
    public let states: Int
    /// The number of channels H.
    public let channels: Int
    @usableFromInline let poles: [Complex<Double>]
    @usableFromInline let inputMatrix: [T]
    @usableFromInline let outputMatrix: [T]
    @usableFromInline let skip: [T]

    /// Discretises `parameters` (Float64, rounded once to T).
    ///
    /// - Parameters:
    ///   - parameters: the S5 parameters.
    ///   - discretization: zoh or bilinear.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public init(_ parameters: S5Parameters<T>, discretization: SSMDiscretization) {
        let p = parameters.states
        let h = parameters.channels
        states = p
        channels = h
        var poles = [Complex<Double>](repeating: .zero, count: p)
        var bm = [T](repeating: 0, count: 2 * p * h)
        for i in 0..<p {
            let a = Complex(Double(parameters.lambdaRe.scalars[i]), Double(parameters.lambdaIm.scalars[i]))
            let (pole, _, scale) = discretization.discretize(a, step: Double.exp(Double(parameters.logStep.scalars[i])))
            poles[i] = pole
            for j in 0..<h {
                let b =
                    scale
                    * Complex(Double(parameters.bRe.scalars[i * h + j]), Double(parameters.bIm.scalars[i * h + j]))
                bm[i * h + j] = T(b.real)
                bm[(p + i) * h + j] = T(b.imaginary)
            }
        }
        let f: T = parameters.conjugateSymmetric ? 2 : 1
        var cm = [T](repeating: 0, count: h * 2 * p)
        for j in 0..<h {
            for i in 0..<p {
                cm[j * 2 * p + i] = f * parameters.cRe.scalars[j * p + i]
                cm[j * 2 * p + p + i] = -f * parameters.cIm.scalars[j * p + i]
            }
        }
        self.poles = poles
        inputMatrix = bm
        outputMatrix = cm
        skip = parameters.d.scalars
    }

    /// A zero state `[B, P]`.
    ///
    /// - Parameter batch: the number of sequences B.
    public func zeroState(batch: Int) -> Tensor<Complex<T>> {
        Tensor(shape: [batch, states], repeating: .zero)
    }

    /// Runs `rows` tokens of one sequence (`u` rows with leading dimension H) from `state`
    /// (P complex, Float64, updated), writing `y` rows. `z` is a `[rows × 2P]` workspace.
    ///
    /// Three steps: `Z = U·[Re dB; Im dB]ᵀ` (one GEMM), the diagonal scan
    /// `x ← dΛ·x + z_t` written back over Z, `Y = Z·(f·[Re C, −Im C])ᵀ` (one GEMM), `Y += D·U`.
    @usableFromInline
    func advance(
        u: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>, rows: Int,
        state: inout [Complex<Double>], z: UnsafeMutablePointer<T>
    ) {
        project(u: u, rows: rows, z: z)
        scan(z: z, rows: rows, state: &state)
        output(z: z, u: u, y: y, rows: rows)
    }

    /// `Z = U·[Re dB; Im dB]ᵀ` for `rows` tokens (one GEMM).
    @usableFromInline
    func project(u: UnsafeMutablePointer<T>, rows: Int, z: UnsafeMutablePointer<T>) {
        let p = states
        let h = channels
        inputMatrix.withUnsafeBufferPointer { bb in
            BLAS.gemm(
                MatrixView(u, rows: rows, columns: h), .none,
                MatrixView(UnsafeMutablePointer(mutating: bb.baseAddress!), rows: 2 * p, columns: h),
                .transpose, into: MatrixView(z, rows: rows, columns: 2 * p))
        }
    }

    /// The diagonal recurrence `x ← dΛ·x + z_t` over `rows` projected tokens, in Float64, each
    /// state written back over its row of Z (rounded to T).
    @usableFromInline
    func scan(z: UnsafeMutablePointer<T>, rows: Int, state: inout [Complex<Double>]) {
        let p = states
        for t in 0..<rows {
            let row = z + t * 2 * p
            for i in 0..<p {
                let x = poles[i] * state[i] + Complex(Double(row[i]), Double(row[p + i]))
                state[i] = x
                row[i] = T(x.real)
                row[p + i] = T(x.imaginary)
            }
        }
    }

    /// `Y = Z·(f·[Re C, −Im C])ᵀ + D·U` for `rows` tokens (one GEMM and the skip term).
    @usableFromInline
    func output(z: UnsafeMutablePointer<T>, u: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>, rows: Int) {
        let p = states
        let h = channels
        outputMatrix.withUnsafeBufferPointer { cb in
            BLAS.gemm(
                MatrixView(z, rows: rows, columns: 2 * p), .none,
                MatrixView(UnsafeMutablePointer(mutating: cb.baseAddress!), rows: h, columns: 2 * p),
                .transpose, into: MatrixView(y, rows: rows, columns: h))
        }
        for t in 0..<rows { for j in 0..<h { y[t * h + j] += skip[j] * u[t * h + j] } }
    }
}

/// The S5 layer: chunked GEMM path, recurrent step, and a naive reference.
///
/// Thread safety: static functions with no shared mutable state; any number of threads or tasks
/// may call them at once, and each call's result is bit-identical to the same call run alone
/// (``/LRNNLinearAlgebra/Threading``). Outputs and states are values the caller owns.
public enum S5 {
    /// The S5 layer over a batch `u [B, T, H]` → `y [B, T, H]`, chunk by chunk: per chunk of
    /// C tokens, dB·U as one GEMM, the diagonal recurrence scanned over the chunk, C·X as one
    /// GEMM. Batch entries are ``/LRNNLinearAlgebra/Threading/parallelFor(_:_:)`` work items.
    /// - Parameters:
    ///   - u: the input `[B, T, H]`.
    ///   - system: the discretised system.
    ///   - chunkSize: C ≥ 1 tokens per GEMM (default 256).
    ///   - initialState: optional `[B, P]`.
    /// - Returns: the outputs and the final state `[B, P]`.
    /// - Throws: ``KernelError`` on shape mismatch, non-finite input or a bad chunk size.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func run<T: LRNNScalar>(
        _ u: Tensor<T>, system: S5System<T>, chunkSize: Int = 256, initialState: Tensor<Complex<T>>? = nil
    ) throws(KernelError) -> (y: Tensor<T>, finalState: Tensor<Complex<T>>) {
        // Every element of y is written (a gemm with β = 0, then the skip term): no zero fill.
        var y = Tensor<T>(
            shape: u.shape, scalars: [T](unsafeUninitializedCapacity: u.count) { _, count in count = u.count })
        var final = system.zeroState(batch: u.rank == 3 ? u.shape[0] : 0)
        try run(u, system: system, chunkSize: chunkSize, initialState: initialState, output: &y, finalState: &final)
        return (y, final)
    }

    /// The S5 layer writing into caller-owned tensors, for callers that run it repeatedly: the same
    /// result as ``run(_:system:chunkSize:initialState:)`` without allocating the output or the state.
    ///
    /// An allocation above the allocator's mmap threshold (at most 32 MB with glibc) is mapped afresh
    /// on every call, and the kernel then pays one page fault per 4 KiB page of a fresh output as it
    /// first writes it; an output reused from call to call has its pages mapped already.
    ///
    /// - Parameters:
    ///   - u: the input `[B, T, H]`.
    ///   - system: the discretised system.
    ///   - chunkSize: C ≥ 1 tokens per GEMM (default 256).
    ///   - initialState: optional `[B, P]`.
    ///   - y: (`output:`) overwritten with the output; must have the shape of `u`, `[B, T, H]`.
    ///   - final: (`finalState:`) overwritten with the final state; must have shape `[B, P]`.
    /// - Throws: as the allocating form (every input is validated before anything is written), plus
    ///   ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming `output` or `finalState`.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func run<T: LRNNScalar>(
        _ u: Tensor<T>, system: S5System<T>, chunkSize: Int = 256, initialState: Tensor<Complex<T>>? = nil,
        output y: inout Tensor<T>, finalState final: inout Tensor<Complex<T>>
    ) throws(KernelError) {
        let h = system.channels
        let p = system.states
        guard u.rank == 3, u.shape[2] == h else {
            throw .shapeMismatch(tensor: "u", shape: u.shape, expected: "[B, T, \(h)]")
        }
        try KernelError.requireFinite(u, "u")
        guard chunkSize >= 1 else { throw .invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got \(chunkSize)") }
        let (bsz, t) = (u.shape[0], u.shape[1])
        if let s = initialState {
            try KernelError.requireShape(s, [bsz, p], "initial_state")
            for z in s.scalars where !(z.real.isFinite && z.imaginary.isFinite) {
                throw .nonFinite(tensor: "initial_state")
            }
        }
        try KernelError.requireShape(y, u.shape, "output")
        try KernelError.requireShape(final, [bsz, p], "finalState")
        final.resetState(from: initialState)
        if t == 0 || bsz == 0 { return }
        let c = Swift.max(1, Swift.min(chunkSize, t))
        u.withUnsafeBufferPointer { ub in
            y.withUnsafeMutableBufferPointer { yb in
                final.withUnsafeMutableBufferPointer { fb in
                    // Read-only: BLAS only reads U (views need a mutable pointer type).
                    let uBase = UncheckedPointer(UnsafeMutablePointer(mutating: ub.baseAddress!))
                    let yBase = UncheckedPointer(yb.baseAddress!)
                    let fBase = UncheckedPointer(fb.baseAddress!)
                    // Fewer sequences than workers: each sequence in turn, its chunks' two GEMMs
                    // spread over the workers (the scan stays sequential). Chunk boundaries and
                    // every GEMM are those of the path below, so the result is the same bits.
                    // A group of several chunks per region keeps each region's work long enough
                    // that a helper thread woken for it still finds chunks left to take.
                    let workers = Threading.workerCount
                    if bsz < workers && t > c {
                        for b in 0..<bsz {
                            runPipelined(
                                u: uBase.pointer + b * t * h, y: yBase.pointer + b * t * h, rows: t, chunk: c,
                                group: Swift.max(8, 2 * workers), system: system, state: fBase.pointer + b * p)
                        }
                        return
                    }
                    Threading.parallelFor(bsz) { b in
                        var state = (0..<p).map { i in
                            let z = fBase.pointer[b * p + i]
                            return Complex(Double(z.real), Double(z.imaginary))
                        }
                        var z = [T](repeating: 0, count: c * 2 * p)
                        z.withUnsafeMutableBufferPointer { zb in
                            var start = 0
                            while start < t {
                                let rows = Swift.min(c, t - start)
                                let off = (b * t + start) * h
                                system.advance(
                                    u: uBase.pointer + off, y: yBase.pointer + off, rows: rows, state: &state,
                                    z: zb.baseAddress!)
                                start += rows
                            }
                        }
                        for i in 0..<p { fBase.pointer[b * p + i] = Complex(T(state[i].real), T(state[i].imaginary)) }
                    }
                }
            }
        }
    }

    /// One sequence's `rows` tokens, `group` chunks of `chunk` rows at a time: the chunks' input
    /// projections as parallel work items, the scan over them in order, then their output
    /// projections as parallel work items. `state` (P complex) is read and updated. The workspace
    /// holds `group` chunks (`group·chunk·2P` values), allocated once per call.
    static func runPipelined<T: LRNNScalar>(
        u: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>, rows: Int, chunk c: Int, group: Int,
        system: S5System<T>, state stateOut: UnsafeMutablePointer<Complex<T>>
    ) {
        let p = system.states
        let h = system.channels
        var state = (0..<p).map { Complex(Double(stateOut[$0].real), Double(stateOut[$0].imaginary)) }
        let chunks = (rows + c - 1) / c
        var z = [T](repeating: 0, count: group * c * 2 * p)
        z.withUnsafeMutableBufferPointer { zb in
            let zBase = UncheckedPointer(zb.baseAddress!)
            let uBase = UncheckedPointer(u)
            let yBase = UncheckedPointer(y)
            var first = 0
            while first < chunks {
                let k = Swift.min(group, chunks - first)
                // Rows of chunk `first + j` and their count.
                func span(_ j: Int) -> (start: Int, count: Int) {
                    let start = (first + j) * c
                    return (start, Swift.min(c, rows - start))
                }
                Threading.parallelFor(k) { j in
                    let (start, count) = span(j)
                    system.project(u: uBase.pointer + start * h, rows: count, z: zBase.pointer + j * c * 2 * p)
                }
                for j in 0..<k {
                    system.scan(z: zBase.pointer + j * c * 2 * p, rows: span(j).count, state: &state)
                }
                Threading.parallelFor(k) { j in
                    let (start, count) = span(j)
                    system.output(
                        z: zBase.pointer + j * c * 2 * p, u: uBase.pointer + start * h, y: yBase.pointer + start * h,
                        rows: count)
                }
                first += k
            }
        }
        for i in 0..<p { stateOut[i] = Complex(T(state[i].real), T(state[i].imaginary)) }
    }

    /// One token for every batch entry: `u [B, H]` → `y [B, H]`, updating `state [B, P]`
    /// (the same GEMM path with one row).
    /// - Throws: ``KernelError`` on shape mismatch or non-finite input.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func step<T: LRNNScalar>(
        _ u: Tensor<T>, system: S5System<T>, state: inout Tensor<Complex<T>>
    ) throws(KernelError) -> Tensor<T> {
        guard u.rank == 2, u.shape[1] == system.channels else {
            throw .shapeMismatch(tensor: "u", shape: u.shape, expected: "[B, \(system.channels)]")
        }
        let (y, s) = try run(
            u.reshaped([u.shape[0], 1, u.shape[1]]), system: system, chunkSize: 1, initialState: state)
        state = s
        return y.reshaped(u.shape)
    }

    /// Naive reference in Float64, token by token with full complex sums:
    /// `x_t = dΛ·x_{t−1} + dB·u_t`, `y_t = f·Re(C·x_t) + D·u_t`. O(B·T·P·H).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func reference<T: LRNNScalar>(
        _ u: Tensor<T>, parameters: S5Parameters<T>, discretization: SSMDiscretization
    ) -> Tensor<T> {
        let p = parameters.states
        let h = parameters.channels
        precondition(u.rank == 3 && u.shape[2] == h, "S5.reference: u \(u.shape) with H = \(h)")
        let (bsz, t) = (u.shape[0], u.shape[1])
        let f: Double = parameters.conjugateSymmetric ? 2 : 1
        var poles: [Complex<Double>] = []
        var db: [Complex<Double>] = []
        for i in 0..<p {
            let a = Complex(Double(parameters.lambdaRe.scalars[i]), Double(parameters.lambdaIm.scalars[i]))
            let (pole, _, scale) = discretization.discretize(a, step: Double.exp(Double(parameters.logStep.scalars[i])))
            poles.append(pole)
            for j in 0..<h {
                db.append(
                    scale
                        * Complex(Double(parameters.bRe.scalars[i * h + j]), Double(parameters.bIm.scalars[i * h + j])))
            }
        }
        var y = [T](repeating: 0, count: u.count)
        for b in 0..<bsz {
            var x = [Complex<Double>](repeating: .zero, count: p)
            for s in 0..<t {
                let row = (b * t + s) * h
                for i in 0..<p {
                    var acc = poles[i] * x[i]
                    for j in 0..<h { acc = acc + db[i * h + j] * Double(u.scalars[row + j]) }
                    x[i] = acc
                }
                for j in 0..<h {
                    var re = 0.0
                    for i in 0..<p {
                        let cc = Complex(
                            Double(parameters.cRe.scalars[j * p + i]), Double(parameters.cIm.scalars[j * p + i]))
                        re += (cc * x[i]).real
                    }
                    y[row + j] = T(f * re + Double(parameters.d.scalars[j]) * Double(u.scalars[row + j]))
                }
            }
        }
        return Tensor(shape: u.shape, scalars: y)
    }
}
