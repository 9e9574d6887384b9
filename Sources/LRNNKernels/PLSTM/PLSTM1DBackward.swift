import LRNNLinearAlgebra

extension PLSTM1D {
    /// Gradients of the pLSTM 1-D forward pass: dL/d(q, k, v, S, T, M, D, C0) for
    /// `L = Σ output ⊙ outputGradient + Σ finalState ⊙ finalStateGradient`.
    ///
    /// Per (sequence, head), a first pass runs the chunked forward (``chunked(_:scale:sequences:chunkSize:)``'s
    /// kernel, without outputs) and keeps the chunk-start states in the worker's workspace. A
    /// reverse pass over the chunks then
    /// recomputes the chunk's per-token states from its start state and runs the adjoint
    ///
    ///     dC_t = T_tᵀ·dC_{t+1} + scale·Q̃_t·dy_tᵀ,        dT_t = dC_{t+1}·C_tᵀ  (over d, v)
    ///
    /// token by token, every contraction over DK or DV a BLAS call on the (JT·DK) × DV state
    /// (docs/kernels/plstm.md). Work items are (sequence, head) pairs in parallel, one workspace per
    /// worker; memory beyond the gradients is one state per chunk of the longest sequence per worker.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:sequences:chunkSize:)``.
    ///   - scale: the query scale; nil means `DK^(−1/2)`.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    ///   - chunkSize: tokens per chunk of the forward pass and of the recomputation (≥ 1).
    ///   - outputGradient: dL/dy `[B, T, H, DV, JO]`, or nil for zero.
    ///   - finalStateGradient: dL/d(final state) `[N, H, DK, DV, JT]`, or nil for zero.
    /// - Returns: dL/d of every input as an ``Inputs`` value (`C0` exactly when the inputs have one).
    /// - Throws: as ``referenceBackward(_:scale:sequences:outputGradient:finalStateGradient:)``, and
    ///   ``KernelError/invalidArgument(name:reason:)`` for a chunk size below 1.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func backward<Scalar: LRNNScalar>(
        _ inputs: Inputs<Scalar>, scale: Scalar? = nil, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = PLSTM1D.defaultChunkSize, outputGradient: Tensor<Scalar>?,
        finalStateGradient: Tensor<Scalar>?
    ) throws(KernelError) -> Inputs<Scalar> {
        let x = inputs
        let p = try Problem(x, scale: scale, sequences: sequences)
        try validateChunkSize(chunkSize)
        try p.validateCotangents(outputGradient: outputGradient, finalStateGradient: finalStateGradient)
        let c = p.cell
        let longest = p.sequences.map(\.length).max() ?? 0
        let chunk = Swift.max(1, Swift.min(chunkSize, longest))
        let kernel = ChunkKernel(cell: c, chunkSize: chunk)
        let maxChunks = (longest + chunk - 1) / chunk
        let g = [x.q, x.k, x.v, x.S, x.T, x.M, x.D].map { PLSTMBuffer<Scalar>($0.count) }
        let dC0 = PLSTMBuffer<Scalar>(x.C0?.count ?? 0)
        let items = p.sequences.count * p.heads
        let workers = Swift.max(1, Swift.min(items, Threading.workerCount))
        let (dk, jv, jt, jo) = (c.dk, c.jv, c.jt, c.jo)
        let ss = c.stateCount
        let scratchCount = Swift.max(c.sourceScratch, c.markScratch, c.directScratch)
        // Per worker: the kernel's workspace, the item's chunk-start states, the chunk's per-token
        // states and keys, two adjoint states and scratch.
        let perWorker =
            kernel.workspaceCount + maxChunks * ss + ss + (chunk + 1) * ss + chunk * jt * dk * jv + 2 * ss + jt * dk
            * jo + scratchCount
        let workspaces = PLSTMBuffer<Scalar>(workers * perWorker)
        let empty = Tensor<Scalar>(shape: [0], scalars: [])
        let sc = p.scale
        withPLSTMPointers([
            x.q, x.k, x.v, x.S, x.T, x.M, x.D, outputGradient ?? empty, finalStateGradient ?? empty, x.C0 ?? empty,
        ]) { ptrs in
            let (q, k, v, s, tr, m, dg, dy, dFinal) = (
                ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6], ptrs[7], ptrs[8]
            )
            let c0 = ptrs[9]
            let (gq, gk, gv, gs, gt, gm, gd) = (
                g[0].pointer, g[1].pointer, g[2].pointer, g[3].pointer, g[4].pointer, g[5].pointer, g[6].pointer
            )
            Threading.parallelFor(items, workers: workers) { item, worker in
                let seq = p.sequences[item / p.heads]
                let head = item % p.heads
                let w0 = workspaces.pointer + worker * perWorker
                let chunkStates = w0 + kernel.workspaceCount
                let running = chunkStates + maxChunks * ss
                let w = running + ss
                let states = w
                let keys = states + (chunk + 1) * ss
                var dC = keys + chunk * jt * dk * jv
                var dPrev = dC + ss
                let queryTilde = dPrev + ss
                let scratch = queryTilde + jt * dk * jo
                let slot = (seq.slot * p.heads + head) * ss
                // The chunk-start states of this item, from the chunked forward without outputs.
                if x.C0 != nil {
                    c.importState(c0 + slot, into: running)
                } else {
                    running.update(repeating: 0, count: ss)
                }
                kernel.run(
                    batch: seq.batch, head: head, start: seq.start, end: seq.end, tokens: p.tokens, heads: p.heads,
                    scale: sc, inputs: ptrs, output: nil, state: running, chunkStates: chunkStates, workspace: w0)
                if finalStateGradient != nil {
                    c.importState(dFinal + slot, into: dC)
                } else {
                    dC.update(repeating: 0, count: ss)
                }
                let chunks = (seq.length + chunk - 1) / chunk
                for ci in stride(from: chunks - 1, through: 0, by: -1) {
                    let t0 = seq.start + ci * chunk
                    let n = Swift.min(chunk, seq.end - t0)
                    states.update(from: chunkStates + ci * ss, count: ss)
                    for t in 0..<n {
                        let r = (seq.batch * p.tokens + t0 + t) * p.heads + head
                        let kt = keys + t * jt * dk * jv
                        c.sourceKey(s + r * c.sCount, k + r * c.kCount, into: kt)
                        c.transition(tr + r * c.tCount, states + t * ss, into: states + (t + 1) * ss, beta: 0)
                        c.addSource(kt, v + r * c.vCount, into: states + (t + 1) * ss)
                    }
                    for t in stride(from: n - 1, through: 0, by: -1) {
                        let r = (seq.batch * p.tokens + t0 + t) * p.heads + head
                        let (qo, ko, vo) = (r * c.qCount, r * c.kCount, r * c.vCount)
                        let (so, to, mo, dO) = (r * c.sCount, r * c.tCount, r * c.mCount, r * c.dCount)
                        let state = states + t * ss
                        c.transitionGradient(dOut: dC, input: state, into: gt + to)
                        c.sourceBackward(
                            dState: dC, k: k + ko, v: v + vo, s: s + so, keyTilde: keys + t * jt * dk * jv,
                            ds: gs + so, dk: gk + ko, dv: gv + vo, scratch: scratch)
                        c.transition(tr + to, dC, into: dPrev, beta: 0, transpose: true)
                        if outputGradient != nil {
                            let dyt = dy + r * c.yCount
                            c.markBackward(
                                state: state, dy: dyt, q: q + qo, m: m + mo, scale: sc, dm: gm + mo, dq: gq + qo,
                                scratch: scratch)
                            c.directBackward(
                                q: q + qo, k: k + ko, v: v + vo, d: dg + dO, dy: dyt, scale: sc, dq: gq + qo,
                                dk: gk + ko,
                                dv: gv + vo, dD: gd + dO, scratch: scratch)
                            c.markQuery(m + mo, q + qo, into: queryTilde)
                            c.addReadAdjoint(queryTilde: queryTilde, dy: dyt, scale: sc, into: dPrev)
                        }
                        swap(&dC, &dPrev)
                    }
                }
                if x.C0 != nil { c.exportState(dC, into: dC0.pointer + slot) }
            }
        }
        return Inputs(
            q: g[0].tensor(x.q.shape), k: g[1].tensor(x.k.shape), v: g[2].tensor(x.v.shape), S: g[3].tensor(x.S.shape),
            T: g[4].tensor(x.T.shape), M: g[5].tensor(x.M.shape), D: g[6].tensor(x.D.shape),
            C0: x.C0.map { dC0.tensor($0.shape) })
    }
}
