import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// One S5 backward call's constants and its three passes (see
/// ``S5/backward(_:discretization:sequences:chunkSize:outputGradient:finalStateGradient:)``).
struct S5BackwardProblem<T: LRNNScalar>: Sendable {
    let system: S5System<T>
    let discretization: SSMDiscretization
    let layout: SSMChunkLayout
    let parameters: S5Parameters<T>
    let initialState: Tensor<Complex<T>>?
    let finalStateGradient: Tensor<Complex<T>>?

    /// `x ← dΛ·x + z_t` over `rows` rows of Z (`[rows × 2P]`), from `state` (updated); each state is
    /// written back over its row when `write` is true.
    func scan(_ z: UnsafeMutablePointer<T>, rows: Int, state: UnsafeMutablePointer<Complex<Double>>, write: Bool) {
        let p = system.states
        for t in 0..<rows {
            let row = z + t * 2 * p
            for i in 0..<p {
                let x = system.poles[i] * state[i] + Complex(Double(row[i]), Double(row[p + i]))
                state[i] = x
                if write {
                    row[i] = T(x.real)
                    row[p + i] = T(x.imaginary)
                }
            }
        }
    }

    /// The adjoint `λ_t = conj(dΛ)·λ_{t+1} + s_t` backwards over `rows` rows of S (`[rows × 2P]`),
    /// `λ` entering the last row as `incoming` (then the adjoint at the first row); written back
    /// over S when `states` is given, which also accumulates `Σ λ_t ⊙ conj(x_{t−1})` into
    /// `poleGradient` (`x_{−1} = start`, the other states read from `states`' rows).
    func reverseScan(
        _ s: UnsafeMutablePointer<T>, rows: Int, incoming: UnsafeMutablePointer<Complex<Double>>,
        states: UnsafeMutablePointer<T>?, start: UnsafeMutablePointer<Complex<Double>>,
        poleGradient: UnsafeMutablePointer<Complex<Double>>
    ) {
        let p = system.states
        for i in 0..<p { poleGradient[i] = .zero }
        for t in stride(from: rows - 1, through: 0, by: -1) {
            let row = s + t * 2 * p
            for i in 0..<p {
                let g =
                    (t == rows - 1 ? incoming[i] : system.poles[i].conjugate * incoming[i])
                    + Complex(Double(row[i]), Double(row[p + i]))
                incoming[i] = g
                if let states {
                    row[i] = T(g.real)
                    row[p + i] = T(g.imaginary)
                    let x =
                        t == 0
                        ? start[i]
                        : Complex(Double(states[(t - 1) * 2 * p + i]), Double(states[(t - 1) * 2 * p + p + i]))
                    poleGradient[i] = poleGradient[i] + g * x.conjugate
                }
            }
        }
    }

    /// `S = DY·(f·[Re C, −Im C])` for `rows` tokens (one GEMM): the adjoint's source `f·Cᴴ·dy_t`.
    func source(dy: UnsafeMutablePointer<T>, rows: Int, into s: UnsafeMutablePointer<T>) {
        let (p, h) = (system.states, system.channels)
        system.outputMatrix.withUnsafeBufferPointer { cb in
            BLAS.gemm(
                MatrixView(dy, rows: rows, columns: h), .none,
                MatrixView(UnsafeMutablePointer(mutating: cb.baseAddress!), rows: h, columns: 2 * p), .none,
                into: MatrixView(s, rows: rows, columns: 2 * p))
        }
    }

    /// The three passes; `gdB [P, H]`, `gc [H, P]` (including f), `gPole [P]`, `dx0 [N, P]` are
    /// overwritten, `du [B·T, H]` is written row by row.
    func run(
        u: UnsafeMutablePointer<T>, dy: UnsafeMutablePointer<T>, du: UnsafeMutablePointer<T>,
        gdB: inout [Complex<Double>], gc: inout [Complex<Double>], gPole: inout [Complex<Double>],
        dx0: inout [Complex<Double>]
    ) {
        let (p, h, c, m) = (system.states, system.channels, layout.chunk, layout.chunks)
        let workers = Swift.max(1, Swift.min(m, Threading.workerCount))
        let z = (0..<workers).map { _ in WorkerBuffer<T>(count: c * 2 * p, repeating: 0) }
        let carry = (0..<workers).map { _ in WorkerBuffer<Complex<Double>>(count: p, repeating: .zero) }
        let ends = WorkerBuffer<Complex<Double>>(count: m * p, repeating: .zero)
        let heads = WorkerBuffer<Complex<Double>>(count: m * p, repeating: .zero)
        let starts = WorkerBuffer<Complex<Double>>(count: m * p, repeating: .zero)
        let incoming = WorkerBuffer<Complex<Double>>(count: m * p, repeating: .zero)
        let poleParts = WorkerBuffer<Complex<Double>>(count: m * p, repeating: .zero)
        let (uIn, dyIn, duOut) = (UncheckedPointer(u), UncheckedPointer(dy), UncheckedPointer(du))
        // Pass 1: every chunk alone.
        Threading.parallelFor(m, workers: workers) { j, w in
            let (start, len) = (layout.chunkStart[j], layout.chunkLength[j])
            let (zw, state) = (z[w].pointer, carry[w].pointer)
            system.project(u: uIn.pointer + start * h, rows: len, z: zw)
            for i in 0..<p { state[i] = .zero }
            scan(zw, rows: len, state: state, write: false)
            (ends.pointer + j * p).update(from: state, count: p)
            source(dy: dyIn.pointer + start * h, rows: len, into: zw)
            for i in 0..<p { state[i] = .zero }
            reverseScan(
                zw, rows: len, incoming: state, states: nil, start: state, poleGradient: poleParts.pointer + j * p)
            (heads.pointer + j * p).update(from: state, count: p)
        }
        // Pass 2: boundary values per sequence.
        let modes = (0..<p).map { i in
            let a = Complex(Double(parameters.lambdaRe.scalars[i]), Double(parameters.lambdaIm.scalars[i]))
            let step = Double.exp(Double(parameters.logStep.scalars[i]))
            let (pole, logPole, _) = discretization.discretize(a, step: step)
            return DiscreteMode(
                pole: pole, exactLogPole: discretization == .zoh ? logPole : nil, inputWeight: .zero,
                outputWeight: .zero, kernelWeight: .zero)
        }
        let poleC = modes.map { $0.power(c) }
        let poleC1 = modes.map { $0.power(c - 1).conjugate }
        for s in 0..<layout.sequences {
            let (first, end) = (layout.firstChunk[s], layout.firstChunk[s + 1])
            for i in 0..<p {
                var x = Complex<Double>.zero
                if let z = initialState?.scalars[s * p + i] { x = Complex(Double(z.real), Double(z.imaginary)) }
                for j in first..<end {
                    starts.pointer[j * p + i] = x
                    x = poleC[i] * x + ends.pointer[j * p + i]
                }
                var g = Complex<Double>.zero
                if let f = finalStateGradient?.scalars[s * p + i] { g = Complex(Double(f.real), Double(f.imaginary)) }
                for j in stride(from: end - 1, through: first, by: -1) {
                    incoming.pointer[j * p + i] = g
                    let back = j == end - 1 ? modes[i].power(layout.chunkLength[j] - 1).conjugate : poleC1[i]
                    g = modes[i].pole.conjugate * (back * g + heads.pointer[j * p + i])
                }
                dx0[s * p + i] = g
            }
        }
        // Pass 3: groups of chunks.
        let slab = S5.backwardSlabChunks
        let slabRows = slab * c
        let xs = WorkerBuffer<T>(count: slabRows * 2 * p, repeating: 0)
        let gs = WorkerBuffer<T>(count: slabRows * 2 * p, repeating: 0)
        let tB = WorkerBuffer<T>(count: 2 * p * h, repeating: 0)
        let tC = WorkerBuffer<T>(count: h * 2 * p, repeating: 0)
        let accB = WorkerBuffer<Double>(count: 2 * p * h, repeating: 0)
        let accC = WorkerBuffer<Double>(count: h * 2 * p, repeating: 0)
        let half = h / 2
        var j0 = 0
        while j0 < m {
            let j1 = Swift.min(m, j0 + slab)
            let rowStart = layout.chunkStart[j0]
            let rows = layout.chunkStart[j1 - 1] + layout.chunkLength[j1 - 1] - rowStart
            Threading.parallelFor(j1 - j0, workers: workers) { jj, w in
                let j = j0 + jj
                let (start, len) = (layout.chunkStart[j], layout.chunkLength[j])
                let off = (start - rowStart) * 2 * p
                let state = carry[w].pointer
                let (xr, gr) = (xs.pointer + off, gs.pointer + off)
                system.project(u: uIn.pointer + start * h, rows: len, z: xr)
                state.update(from: starts.pointer + j * p, count: p)
                scan(xr, rows: len, state: state, write: true)
                source(dy: dyIn.pointer + start * h, rows: len, into: gr)
                state.update(from: incoming.pointer + j * p, count: p)
                reverseScan(
                    gr, rows: len, incoming: state, states: xr, start: starts.pointer + j * p,
                    poleGradient: poleParts.pointer + j * p)
                let duRows = duOut.pointer + start * h
                system.inputMatrix.withUnsafeBufferPointer { bb in
                    BLAS.gemm(
                        MatrixView(gr, rows: len, columns: 2 * p), .none,
                        MatrixView(UnsafeMutablePointer(mutating: bb.baseAddress!), rows: 2 * p, columns: h), .none,
                        into: MatrixView(duRows, rows: len, columns: h))
                }
                for t in 0..<len {
                    for k in 0..<h {
                        duRows[t * h + k] += system.skip[k] * dyIn.pointer[(start + t) * h + k]
                    }
                }
            }
            // ∂L/∂dB += Λᵀ·U ([Re; Im] row blocks) and DYᵀ·X (two column blocks of DY), one output
            // block per work item.
            let uSlab = MatrixView(uIn.pointer + rowStart * h, rows: rows, columns: h)
            let dySlab = MatrixView(dyIn.pointer + rowStart * h, rows: rows, columns: h)
            let gView = MatrixView(gs.pointer, rows: rows, columns: 2 * p)
            let xView = MatrixView(xs.pointer, rows: rows, columns: 2 * p)
            let blocks: [(part: Int, range: Range<Int>)] = [(0, 0..<p), (0, p..<(2 * p)), (1, 0..<half), (1, half..<h)]
            Threading.parallelFor(blocks.count) { item in
                let (part, range) = blocks[item]
                if range.isEmpty { return }
                if part == 0 {
                    let out = MatrixView(tB.pointer, rows: 2 * p, columns: h).block(rows: range, columns: 0..<h)
                    BLAS.gemm(gView.block(rows: 0..<rows, columns: range), .transpose, uSlab, .none, into: out)
                    for i in range { for k in 0..<h { accB.pointer[i * h + k] += Double(tB.pointer[i * h + k]) } }
                } else {
                    let out = MatrixView(tC.pointer, rows: h, columns: 2 * p).block(rows: range, columns: 0..<(2 * p))
                    BLAS.gemm(dySlab.block(rows: 0..<rows, columns: range), .transpose, xView, .none, into: out)
                    for k in range {
                        for i in 0..<(2 * p) { accC.pointer[k * 2 * p + i] += Double(tC.pointer[k * 2 * p + i]) }
                    }
                }
            }
            j0 = j1
        }
        let f: Double = parameters.conjugateSymmetric ? 2 : 1
        for i in 0..<p {
            for k in 0..<h {
                gdB[i * h + k] = Complex(accB.pointer[i * h + k], accB.pointer[(p + i) * h + k])
                gc[k * p + i] = Complex(accC.pointer[k * 2 * p + i], -accC.pointer[k * 2 * p + p + i]) * f
            }
            var sum = Complex<Double>.zero
            for j in 0..<m { sum = sum + poleParts.pointer[j * p + i] }
            gPole[i] = sum
        }
    }
}
