import LRNNLinearAlgebra

/// pLSTM on a sequence (Pöppel et al., 2025, "pLSTM: parallelizable Linear Source Transition Mark
/// networks"): a linear recurrence with matrix-valued transitions between state-tracking channels,
/// and source, mark and direct gates.
///
/// Per (sequence, head), state `C[d, v, i]` (DK × DV × JT), `C = C0` (or zeros), for each token t:
///
///     y_t[v,o] = scale·( Σ_{d,a,i} q_t[d,a]·M_t[o,a,i]·C[d,v,i] + Σ_{d,a,j,l} q_t[d,a]·D_t[o,a,j,l]·k_t[d,j]·v_t[v,l] )
///     C[d,v,i] ← Σ_j T_t[i,j]·C[d,v,j] + Σ_{j,l} S_t[i,j,l]·k_t[d,j]·v_t[v,l]
///
/// so `y_t` reads the state before token t (token t reaches its own output only through D) and
/// `T_t` acts on the state leaving token t. Layouts are those of ``Inputs``; the output is
/// `[B, T, H, DV, JO]` and the states `[N, H, DK, DV, JT]`.
///
/// The verbs of the kernel-family contract (docs/kernels/contract.md):
/// ``chunked(_:scale:sequences:chunkSize:)`` (chunk-local products as GEMMs, states passed between
/// chunks; docs/kernels/plstm.md), ``recurrent(_:scale:sequences:)`` through
/// ``step(q:k:v:S:T:M:D:scale:state:)``, the naive ``reference(_:scale:sequences:)``, and the
/// gradients ``backward(_:scale:sequences:chunkSize:outputGradient:finalStateGradient:)`` and
/// ``referenceBackward(_:scale:sequences:outputGradient:finalStateGradient:)``.
///
/// Every verb checks shapes, `scale`, boundaries and the finiteness of every input before any work
/// and throws ``KernelError`` naming the tensor. Thread safety: static functions without shared
/// state; a call's result does not depend on other calls running at the same time.
public enum PLSTM1D {
    /// The default tokens per chunk of ``chunked(_:scale:sequences:chunkSize:)``.
    public static let defaultChunkSize: Int = 32

    /// Chunkwise-parallel pLSTM 1-D forward pass: per chunk, the outputs of every token and the state
    /// at the chunk's end from a few GEMMs over the chunk's transition products (their
    /// `pLSTM1D_torch` chunkwise form, computed without its padding).
    ///
    /// - Parameters:
    ///   - inputs: `q`, `k`, `v`, `S`, `T`, `M`, `D` and an optional `C0` (shapes in ``Inputs``).
    ///   - scale: the query scale; nil means `DK^(−1/2)`.
    ///   - sequences: packed sequence boundaries (fla's `cu_seqlens`); requires B = 1.
    ///   - chunkSize: tokens per chunk (≥ 1).
    /// - Returns: the output `[B, T, H, DV, JO]` and the final states `[N, H, DK, DV, JT]` (`C0`, or
    ///   zeros, for an empty sequence).
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming the tensor,
    ///   ``KernelError/invalidSequenceBoundaries(reason:)``, ``KernelError/nonFinite(tensor:)``, and
    ///   ``KernelError/invalidArgument(name:reason:)`` for a non-finite `scale` or a chunk size below 1.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func chunked<Scalar: LRNNScalar>(
        _ inputs: Inputs<Scalar>, scale: Scalar? = nil, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = PLSTM1D.defaultChunkSize
    ) throws(KernelError) -> (output: Tensor<Scalar>, finalState: Tensor<Scalar>) {
        let p = try Problem(inputs, scale: scale, sequences: sequences)
        try validateChunkSize(chunkSize)
        let output = PLSTMBuffer<Scalar>(p.outputShape.reduce(1, *))
        let state = PLSTMBuffer<Scalar>(p.stateShape.reduce(1, *))
        runChunked(p, inputs, chunkSize: chunkSize, output: output.pointer, finalState: state.pointer)
        return (output.tensor(p.outputShape), state.tensor(p.stateShape))
    }

    /// The naive pLSTM 1-D recurrence, one token at a time, written for clarity: the oracle the other
    /// paths are tested against (the per-step recurrence of their `pLSTM1D_fwbw`).
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:sequences:chunkSize:)``.
    ///   - scale: the query scale; nil means `DK^(−1/2)`.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    /// - Returns: the output `[B, T, H, DV, JO]` and the final states `[N, H, DK, DV, JT]`.
    /// - Throws: as ``chunked(_:scale:sequences:chunkSize:)`` (no chunk size).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func reference<Scalar: LRNNScalar>(
        _ inputs: Inputs<Scalar>, scale: Scalar? = nil, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<Scalar>, finalState: Tensor<Scalar>) {
        let p = try Problem(inputs, scale: scale, sequences: sequences)
        let r = runReference(p, inputs, keepStates: false)
        return (r.output, r.finalState)
    }

    /// The gradients of ``reference(_:scale:sequences:)`` by differentiating the naive recurrence token
    /// by token (the adjoint `dC ← Tᵀ·dC + scale·(q M)ᵀ·dy` run backwards over kept states): the
    /// backward's test oracle.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:sequences:chunkSize:)``.
    ///   - scale: the query scale; nil means `DK^(−1/2)`.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    ///   - outputGradient: dL/dy `[B, T, H, DV, JO]`, or nil for zero.
    ///   - finalStateGradient: dL/d(final state) `[N, H, DK, DV, JT]`, or nil for zero.
    /// - Returns: dL/d of every input as an ``Inputs`` value (`C0` exactly when the inputs have one).
    /// - Throws: as ``chunked(_:scale:sequences:chunkSize:)``, and
    ///   ``KernelError/shapeMismatch(tensor:shape:expected:)`` or ``KernelError/nonFinite(tensor:)``
    ///   naming `outputGradient` or `finalStateGradient`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func referenceBackward<Scalar: LRNNScalar>(
        _ inputs: Inputs<Scalar>, scale: Scalar? = nil, sequences: SequenceBoundaries? = nil,
        outputGradient: Tensor<Scalar>?, finalStateGradient: Tensor<Scalar>?
    ) throws(KernelError) -> Inputs<Scalar> {
        let p = try Problem(inputs, scale: scale, sequences: sequences)
        try p.validateCotangents(outputGradient: outputGradient, finalStateGradient: finalStateGradient)
        return runReferenceBackward(
            p, inputs, outputGradient: outputGradient, finalStateGradient: finalStateGradient)
    }

    /// Runs the chunk kernel over every (sequence, head) work item in parallel, one workspace per
    /// worker. `finalState` (public layout) receives the final states.
    static func runChunked<Scalar: LRNNScalar>(
        _ p: Problem<Scalar>, _ x: Inputs<Scalar>, chunkSize: Int, output: UnsafeMutablePointer<Scalar>,
        finalState: UnsafeMutablePointer<Scalar>
    ) {
        let items = p.sequences.count * p.heads
        guard items > 0 else { return }
        let longest = p.sequences.map(\.length).max() ?? 0
        let kernel = ChunkKernel(cell: p.cell, chunkSize: Swift.max(1, Swift.min(chunkSize, longest)))
        let workers = Swift.max(1, Swift.min(items, Threading.workerCount))
        let perWorker = kernel.workspaceCount + p.cell.stateCount
        let workspaces = PLSTMBuffer<Scalar>(workers * perWorker)
        withPLSTMPointers([x.q, x.k, x.v, x.S, x.T, x.M, x.D, x.C0 ?? Tensor(shape: [0], scalars: [])]) { ptrs in
            Threading.parallelFor(items, workers: workers) { item, worker in
                let seq = p.sequences[item / p.heads]
                let head = item % p.heads
                let w = workspaces.pointer + worker * perWorker
                let state = w + kernel.workspaceCount
                let slot = (seq.slot * p.heads + head) * p.cell.stateCount
                if x.C0 != nil {
                    p.cell.importState(ptrs[7] + slot, into: state)
                } else {
                    state.update(repeating: 0, count: p.cell.stateCount)
                }
                kernel.run(
                    batch: seq.batch, head: head, start: seq.start, end: seq.end, tokens: p.tokens, heads: p.heads,
                    scale: p.scale, inputs: ptrs, output: output, state: state,
                    chunkStates: nil, workspace: w)
                p.cell.exportState(state, into: finalState + slot)
            }
        }
    }
}
