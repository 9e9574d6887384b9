import ComplexModule
import LRNNLinearAlgebra
import RealModule

extension S5 {
    /// The S5 layer over a batch `u [B, T, H]` → `[B, T, H]`, chunk by chunk: per chunk of C
    /// tokens, dB·U as one GEMM, the diagonal recurrence scanned over the chunk in Float64, C·X as
    /// one GEMM (S5's parallel form with a chunked instead of an associative scan).
    ///
    /// Sequences are ``/LRNNLinearAlgebra/Threading/parallelFor(_:workers:_:)`` work items with one
    /// workspace per worker; with fewer sequences than workers each sequence in turn spreads its
    /// chunks' GEMMs over the workers (the same chunk boundaries and GEMMs, so the same bits).
    ///
    /// - Parameters:
    ///   - inputs: `u [B, T, H]`, the parameters (P states, H channels) and an optional
    ///     `initialState [N, P]` (zeros when nil).
    ///   - discretization: zoh or bilinear.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - chunkSize: C ≥ 1 tokens per GEMM.
    /// - Returns: the output `[B, T, H]` and the final states `[N, P]`.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming `u`, `initialState`
    ///   or a parameter tensor, ``KernelError/nonFinite(tensor:)`` for NaN/±∞ in `u`, the state or a
    ///   parameter, ``KernelError/invalidArgument(name:reason:)`` for a chunk size below 1,
    ///   `Lambda_re > 0` or an overflowing step, ``KernelError/invalidSequenceBoundaries(reason:)``
    ///   for boundaries with B ≠ 1 or not ending at T.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = S5.defaultChunkSize
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<Complex<T>>) {
        try inputs.parameters.validate()
        return try chunked(
            inputs.u, system: S5System(inputs.parameters, discretization: discretization), sequences: sequences,
            chunkSize: chunkSize, initialState: inputs.initialState)
    }

    /// The S5 layer writing into caller-owned tensors: the same result as
    /// ``chunked(_:discretization:sequences:chunkSize:)`` without allocating the output or the state.
    ///
    /// - Parameters:
    ///   - inputs: as for the allocating form.
    ///   - discretization: zoh or bilinear.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - chunkSize: C ≥ 1 tokens per GEMM.
    ///   - output: overwritten with the output; must have the shape of `u`, `[B, T, H]`.
    ///   - finalState: overwritten with the final states; must have shape `[N, P]`.
    /// - Throws: as the allocating form, plus ``KernelError/shapeMismatch(tensor:shape:expected:)``
    ///   naming `output` or `finalState`.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = S5.defaultChunkSize, output: inout Tensor<T>, finalState: inout Tensor<Complex<T>>
    ) throws(KernelError) {
        try inputs.parameters.validate()
        try chunked(
            inputs.u, system: S5System(inputs.parameters, discretization: discretization), sequences: sequences,
            chunkSize: chunkSize, initialState: inputs.initialState, output: &output, finalState: &finalState)
    }

    /// ``chunked(_:discretization:sequences:chunkSize:)`` on a system discretised once by the caller
    /// (a layer that runs many calls with the same parameters).
    ///
    /// - Parameters:
    ///   - u: the input `[B, T, H]`.
    ///   - system: the discretised system.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - chunkSize: C ≥ 1 tokens per GEMM.
    ///   - initialState: optional `[N, P]` (zeros when nil).
    /// - Returns: the output `[B, T, H]` and the final states `[N, P]`.
    /// - Throws: as ``chunked(_:discretization:sequences:chunkSize:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ u: Tensor<T>, system: S5System<T>, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = S5.defaultChunkSize, initialState: Tensor<Complex<T>>? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<Complex<T>>) {
        let problem = try S5Problem(
            u, channels: system.channels, states: system.states, initialState: initialState, sequences: sequences)
        // Every element of the output is written (a gemm with β = 0, then the skip term): no zero fill.
        var output = Tensor<T>(
            shape: u.shape, scalars: [T](unsafeUninitializedCapacity: u.count) { _, count in count = u.count })
        var final = Tensor<Complex<T>>.zeros(problem.stateShape)
        try chunked(
            u, system: system, sequences: sequences, chunkSize: chunkSize, initialState: initialState,
            output: &output, finalState: &final)
        return (output, final)
    }

    /// The S5 layer on a discretised system, writing into caller-owned tensors, for callers that run
    /// it repeatedly (a serving loop, a benchmark).
    ///
    /// An allocation above the allocator's mmap threshold (at most 32 MB with glibc) is mapped afresh
    /// on every call, and the kernel then pays one page fault per 4 KiB page of a fresh output as it
    /// first writes it; an output reused from call to call has its pages mapped already.
    ///
    /// - Parameters:
    ///   - u: the input `[B, T, H]`.
    ///   - system: the discretised system.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - chunkSize: C ≥ 1 tokens per GEMM.
    ///   - initialState: optional `[N, P]` (zeros when nil); may be the same tensor as `finalState`.
    ///   - y: (`output:`) overwritten with the output; must have the shape of `u`, `[B, T, H]`.
    ///   - final: (`finalState:`) overwritten with the final states; must have shape `[N, P]`.
    /// - Throws: as ``chunked(_:discretization:sequences:chunkSize:)`` (every input is validated
    ///   before anything is written), plus ``KernelError/shapeMismatch(tensor:shape:expected:)``
    ///   naming `output` or `finalState`.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ u: Tensor<T>, system: S5System<T>, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = S5.defaultChunkSize, initialState: Tensor<Complex<T>>? = nil,
        output y: inout Tensor<T>, finalState final: inout Tensor<Complex<T>>
    ) throws(KernelError) {
        let problem = try S5Problem(
            u, channels: system.channels, states: system.states, initialState: initialState, sequences: sequences)
        guard chunkSize >= 1 else { throw .invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got \(chunkSize)") }
        try KernelError.requireShape(y, u.shape, "output")
        try KernelError.requireShape(final, problem.stateShape, "finalState")
        final.resetState(from: initialState)
        let (t, h, p) = (problem.tokens, system.channels, system.states)
        let seqs = problem.sequences
        let longest = seqs.map(\.length).max() ?? 0
        if longest == 0 { return }
        let c = Swift.max(1, Swift.min(chunkSize, longest))
        let workers = Threading.workerCount
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
                    if seqs.count < workers && longest > c {
                        let group = Swift.max(8, 2 * workers)
                        let z = UnsafeMutablePointer<T>.allocate(capacity: group * c * 2 * p)
                        let state = UnsafeMutablePointer<Complex<Double>>.allocate(capacity: p)
                        defer {
                            z.deallocate()
                            state.deallocate()
                        }
                        for seq in seqs where seq.length > 0 {
                            let off = (seq.batch * t + seq.start) * h
                            runPipelined(
                                u: uBase.pointer + off, y: yBase.pointer + off, rows: seq.length, chunk: c,
                                group: group, system: system, state: fBase.pointer + seq.slot * p, workspace: z,
                                scratchState: state)
                        }
                        return
                    }
                    // One workspace per worker (a chunk of Z and the Float64 state), allocated once.
                    let slots = Swift.max(1, Swift.min(seqs.count, workers))
                    let zSpace = UncheckedPointer(UnsafeMutablePointer<T>.allocate(capacity: slots * c * 2 * p))
                    let stateSpace = UncheckedPointer(
                        UnsafeMutablePointer<Complex<Double>>.allocate(capacity: slots * p))
                    defer {
                        zSpace.pointer.deallocate()
                        stateSpace.pointer.deallocate()
                    }
                    Threading.parallelFor(seqs.count, workers: slots) { item, worker in
                        let seq = seqs[item]
                        if seq.length == 0 { return }
                        let z = zSpace.pointer + worker * c * 2 * p
                        let state = stateSpace.pointer + worker * p
                        let stateOut = fBase.pointer + seq.slot * p
                        for i in 0..<p { state[i] = Complex(Double(stateOut[i].real), Double(stateOut[i].imaginary)) }
                        var start = 0
                        while start < seq.length {
                            let rows = Swift.min(c, seq.length - start)
                            let off = (seq.batch * t + seq.start + start) * h
                            system.advance(
                                u: uBase.pointer + off, y: yBase.pointer + off, rows: rows, state: state, z: z)
                            start += rows
                        }
                        for i in 0..<p { stateOut[i] = Complex(T(state[i].real), T(state[i].imaginary)) }
                    }
                }
            }
        }
    }

    /// One sequence's `rows` tokens, `group` chunks of `chunk` rows at a time: the chunks' input
    /// projections as parallel work items, the scan over them in order, then their output
    /// projections as parallel work items. `state` (P complex) is read and updated. The caller's
    /// `workspace` holds `group` chunks (`group·chunk·2P` values) and `scratchState` P values.
    static func runPipelined<T: LRNNScalar>(
        u: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>, rows: Int, chunk c: Int, group: Int,
        system: S5System<T>, state stateOut: UnsafeMutablePointer<Complex<T>>, workspace: UnsafeMutablePointer<T>,
        scratchState state: UnsafeMutablePointer<Complex<Double>>
    ) {
        let p = system.states
        let h = system.channels
        for i in 0..<p { state[i] = Complex(Double(stateOut[i].real), Double(stateOut[i].imaginary)) }
        let chunks = (rows + c - 1) / c
        let zBase = UncheckedPointer(workspace)
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
                system.scan(z: zBase.pointer + j * c * 2 * p, rows: span(j).count, state: state)
            }
            Threading.parallelFor(k) { j in
                let (start, count) = span(j)
                system.output(
                    z: zBase.pointer + j * c * 2 * p, u: uBase.pointer + start * h, y: yBase.pointer + start * h,
                    rows: count)
            }
            first += k
        }
        for i in 0..<p { stateOut[i] = Complex(T(state[i].real), T(state[i].imaginary)) }
    }
}
