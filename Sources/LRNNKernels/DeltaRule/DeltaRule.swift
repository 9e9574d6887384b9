import LRNNLinearAlgebra

/// The delta rule and its variants: DeltaNet, DeltaNet with negative eigenvalues (β ∈ (0, 2)),
/// Gated DeltaNet (a per-token log decay `g`) and DeltaProduct (`n` Householder steps per token).
///
/// Per sequence and head, with S the K×V state:
///
///     S ← exp(g_t)·S;   for j < n:  S ← (I − β k kᵀ)·S + β k vᵀ   (k, v, β of step t·n + j)
///     o_t = Sᵀ(scale·q_t)
///
/// The verbs of the kernel-family contract (docs/kernels/contract.md) compute it:
/// ``chunked(_:scale:numHouseholder:sequences:chunkSize:)`` (the fast BLAS-3 prefill path, via the
/// compact WY/UT representation), ``recurrent(_:scale:numHouseholder:sequences:)`` (token by token
/// through ``step(q:k:v:beta:g:scale:numHouseholder:state:)``, decoding's path),
/// ``step(q:k:v:beta:g:scale:numHouseholder:state:)`` (one token) and
/// ``reference(_:scale:numHouseholder:sequences:)`` (the naive loop, the test oracle).
///
/// A log decay g = −∞ is a reset: exp(−∞) = 0 zeroes the state before the token's update, in all
/// three paths alike, and so does any finite g whose exponential underflows to 0 (e.g. −1e30; in
/// Float32 below about −104). The chunked path splits its within-chunk cumulative decays at a reset
/// (never forming −∞ − (−∞) or a difference of huge values), so the result equals the reference
/// run on the tokens after the reset from a zero state. See docs/kernels/delta-rule.md.
///
/// NaN policy: every input (q, k, v, β, g, states) is scanned and a NaN or ±∞ (in g: NaN or +∞)
/// is rejected with ``KernelError/nonFinite(tensor:)`` naming the tensor, and nothing is returned
/// (`step` leaves the state unchanged). β, g and states are scanned before any work; `chunked`
/// scans q, k and v as its kernel gathers them and throws when the work items finish. A positive
/// log decay is rejected with ``KernelError/invalidArgument(name:reason:)``.
///
/// Thread safety: static functions with no shared mutable state; any number of threads or tasks
/// may call them at once, and each call's result is bit-identical to the same call run alone
/// (``/LRNNLinearAlgebra/Threading``). Outputs and states are values the caller owns.
public enum DeltaRule {
    /// The chunk length (in tokens for n = 1; a chunk holds `chunkSize / n` tokens otherwise),
    /// chosen by measurement (see docs/kernels/delta-rule.md).
    public static let defaultChunkSize: Int = 16

    /// The chunkwise delta rule (fla's `chunk_delta_rule` / `chunk_gated_delta_rule`): runs whole
    /// sequences through BLAS-3 products, one chunk at a time.
    ///
    /// With S the state at a chunk start, γ the within-chunk cumulative log decay and M the
    /// causal mask, each chunk computes
    ///
    ///     A  = strictly-lower(diag(β)·K·Kᵀ ⊙ exp(γ_i − γ_j)),   T = (I + A)⁻¹
    ///     W  = T·diag(β ⊙ exp γ)·K,   U = T·diag(β)·V,   U' = U − W·S
    ///     O  = scale·[diag(exp γ)·Q·S + (Q·Kᵀ ⊙ exp(γ_i − γ_j) ⊙ M)·U']
    ///     S  ← exp(γ_C)·S + (diag(exp(γ_C − γ))·K)ᵀ·U'
    ///
    /// (T is formed by one small triangular solve and applied by gemm.) With n > 1 the recurrence runs over the
    /// interleaved sequence of T·n steps; queries and outputs exist only at each token's last step
    /// and the gate enters at each token's first step. Sequences × head groups run as parallel work items.
    ///
    /// - Parameters:
    ///   - inputs: `q [B, T, H, K]`, `k [B, T·n, H, K]` (step `t·n + j` is token t's j-th Householder
    ///     step), `v [B, T·n, H, V]`, `beta [B, T·n, H]` (any finite value; (0, 2) gives eigenvalues in
    ///     (−1, 1]), optional `g [B, T, H]` (each ≤ 0, or −∞: a reset of the state) and optional
    ///     `initialState [N, H, K, V]` (zeros when absent).
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - numHouseholder: n ≥ 1.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1); sequence s
    ///     owns tokens `offsets[s] ..< offsets[s+1]` and steps `offsets[s]·n ..< offsets[s+1]·n`.
    ///   - chunkSize: Householder steps per chunk (rounded down to a multiple of n, at least n).
    /// - Returns: the output `[B, T, H, V]` and the final states `[N, H, K, V]`.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming the tensor,
    ///   ``KernelError/nonFinite(tensor:)`` for NaN/±∞ inputs (NaN/+∞ in g),
    ///   ``KernelError/invalidSequenceBoundaries(reason:)`` for boundaries with B ≠ 1 or not ending at T,
    ///   ``KernelError/invalidArgument(name:reason:)`` for n < 1, chunkSize < 1, g > 0 or a
    ///   non-finite scale.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, numHouseholder: Int = 1, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = DeltaRule.defaultChunkSize
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        guard chunkSize >= 1 else {
            throw .invalidArgument(name: "chunkSize", reason: "must be at least 1, got \(chunkSize)")
        }
        let x = inputs
        let p = try DeltaRuleProblem.validate(
            q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, initialState: x.initialState, sequences: sequences,
            numHouseholder: numHouseholder, scanSequences: false)
        let outputCount = p.outputShape.reduce(1, *)
        // Every output row belongs to exactly one (sequence, head group) work item, whose first gemm
        // into it has β = 0: the storage needs no zero fill.
        var output = Tensor<T>(
            shape: p.outputShape,
            scalars: [T](unsafeUninitializedCapacity: outputCount) { _, count in count = outputCount })
        var finalState = Tensor<T>.zeros(p.stateShape)
        try run(
            p, q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, scale: scale, initialState: x.initialState,
            chunkSize: chunkSize, output: &output, finalState: &finalState)
        return (output, finalState)
    }

    /// The chunkwise delta rule writing into caller-owned tensors, for callers that run it
    /// repeatedly (a serving loop, a benchmark): the same result as
    /// ``chunked(_:scale:numHouseholder:sequences:chunkSize:)`` without allocating the output or
    /// the state.
    ///
    /// An allocation above the allocator's mmap threshold (at most 32 MB with glibc) is mapped afresh
    /// on every call, and the kernel then pays one page fault per 4 KiB page of a fresh output as it
    /// first writes it; an output reused from call to call has its pages mapped already.
    ///
    /// - Parameters:
    ///   - inputs: as for the allocating form. The tensor passed as `finalState` may also be the
    ///     inputs' `initialState` (it is read as a value before anything is written), which carries
    ///     a state across consecutive calls.
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - numHouseholder: n ≥ 1.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - chunkSize: Householder steps per chunk (rounded down to a multiple of n, at least n).
    ///   - output: overwritten with the output; must have shape `[B, T, H, V]`.
    ///   - finalState: overwritten with the final states; must have shape `[N, H, K, V]`.
    /// - Throws: as the allocating form, plus ``KernelError/shapeMismatch(tensor:shape:expected:)``
    ///   naming `output` or `finalState`. When it throws, `output` and `finalState` hold
    ///   unspecified values (the kernel may have written part of them).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, numHouseholder: Int = 1, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = DeltaRule.defaultChunkSize, output: inout Tensor<T>, finalState: inout Tensor<T>
    ) throws(KernelError) {
        let x = inputs
        let p = try validateForward(
            x, numHouseholder: numHouseholder, sequences: sequences, chunkSize: chunkSize, output: output,
            finalState: finalState)
        try run(
            p, q: x.q, k: x.k, v: x.v, beta: x.beta, g: x.g, scale: scale, initialState: x.initialState,
            chunkSize: chunkSize, output: &output, finalState: &finalState)
    }

    /// ``chunked(_:scale:numHouseholder:sequences:chunkSize:)`` with separate tensors and fla's
    /// `cu_seqlens` list (the argument list of existing call sites).
    ///
    /// - Parameters:
    ///   - q: queries `[B, T, H, K]`.
    ///   - k: keys `[B, T·n, H, K]`.
    ///   - v: values `[B, T·n, H, V]`.
    ///   - beta: step sizes `[B, T·n, H]`.
    ///   - g: optional log decays `[B, T, H]`.
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - initialState: optional `[N, H, K, V]`.
    ///   - cuSeqlens: optional packed-sequence boundaries (validated as
    ///     ``/LRNNLinearAlgebra/SequenceBoundaries``).
    ///   - numHouseholder: n ≥ 1.
    ///   - chunkSize: Householder steps per chunk.
    /// - Returns: the output `[B, T, H, V]` and the final states `[N, H, K, V]`.
    /// - Throws: as ``chunked(_:scale:numHouseholder:sequences:chunkSize:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>? = nil,
        scale: T? = nil, initialState: Tensor<T>? = nil, cuSeqlens: [Int]? = nil,
        numHouseholder: Int = 1, chunkSize: Int = DeltaRule.defaultChunkSize
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<T>) {
        try chunked(
            Inputs(q: q, k: k, v: v, beta: beta, g: g, initialState: initialState), scale: scale,
            numHouseholder: numHouseholder, sequences: KernelError.sequenceBoundaries(cuSeqlens), chunkSize: chunkSize)
    }

    /// ``chunked(_:scale:numHouseholder:sequences:chunkSize:output:finalState:)`` with separate
    /// tensors and fla's `cu_seqlens` list (the argument list of existing call sites).
    ///
    /// - Parameters:
    ///   - q: queries `[B, T, H, K]`.
    ///   - k: keys `[B, T·n, H, K]`.
    ///   - v: values `[B, T·n, H, V]`.
    ///   - beta: step sizes `[B, T·n, H]`.
    ///   - g: optional log decays `[B, T, H]`.
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - initialState: optional `[N, H, K, V]`; may be the same tensor as `finalState`.
    ///   - cuSeqlens: optional packed-sequence boundaries.
    ///   - numHouseholder: n ≥ 1.
    ///   - chunkSize: Householder steps per chunk.
    ///   - output: overwritten with the output `[B, T, H, V]`.
    ///   - finalState: overwritten with the final states `[N, H, K, V]`.
    /// - Throws: as ``chunked(_:scale:numHouseholder:sequences:chunkSize:output:finalState:)``.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func chunked<T: LRNNScalar>(
        q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>? = nil,
        scale: T? = nil, initialState: Tensor<T>? = nil, cuSeqlens: [Int]? = nil,
        numHouseholder: Int = 1, chunkSize: Int = DeltaRule.defaultChunkSize,
        output: inout Tensor<T>, finalState: inout Tensor<T>
    ) throws(KernelError) {
        try chunked(
            Inputs(q: q, k: k, v: v, beta: beta, g: g, initialState: initialState), scale: scale,
            numHouseholder: numHouseholder, sequences: KernelError.sequenceBoundaries(cuSeqlens), chunkSize: chunkSize,
            output: &output, finalState: &finalState)
    }

    /// The validated problem through the chunk kernel, into `output` and `finalState` (both of the
    /// problem's shapes).
    static func run<T: LRNNScalar>(
        _ p: DeltaRuleProblem, q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>?,
        scale: T?, initialState: Tensor<T>?, chunkSize: Int, output: inout Tensor<T>, finalState: inout Tensor<T>,
        saving: (plan: DeltaRuleSavePlan, base: UnsafeMutablePointer<T>)? = nil
    ) throws(KernelError) {
        let scale = try DeltaRuleProblem.resolveScale(scale, keyDim: p.keyDim)
        let chunkTokens = Self.chunkTokens(p, chunkSize: chunkSize)
        finalState.resetState(from: initialState)
        let nonFinite = runChunked(
            p, q: q, k: k, v: v, beta: beta, g: g, scale: scale, chunkTokens: chunkTokens, output: &output,
            state: &finalState, saving: saving)
        // q, k and v were scanned for NaN/±∞ by the kernel as it read them (every row exactly once).
        if nonFinite & DeltaRuleChunkKernel<T>.nonFiniteQ != 0 { throw .nonFinite(tensor: "q") }
        if nonFinite & DeltaRuleChunkKernel<T>.nonFiniteK != 0 { throw .nonFinite(tensor: "k") }
        if nonFinite & DeltaRuleChunkKernel<T>.nonFiniteV != 0 { throw .nonFinite(tensor: "v") }
    }

    /// Runs the chunk kernel over every (sequence, head group) work item in parallel, with `state`
    /// holding the initial states on entry; returns the non-finite flags of q, k and v.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func runChunked<T: LRNNScalar>(
        _ p: DeltaRuleProblem, q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, beta: Tensor<T>, g: Tensor<T>?,
        scale: T, chunkTokens: Int, output: inout Tensor<T>, state: inout Tensor<T>,
        saving: (plan: DeltaRuleSavePlan, base: UnsafeMutablePointer<T>)? = nil
    ) -> UInt8 {
        if output.count == 0 { return 0 }
        let gScalars = g?.scalars ?? []
        // Work items are (sequence, head group): within an item a chunk's rows of all its heads are
        // read as contiguous spans (measured ≈ 5 % faster than one head per item). Just enough
        // groups that every worker has an item.
        let workers = Threading.workerCount
        let groups = Swift.max(1, Swift.min(p.heads, (workers + p.sequences.count - 1) / p.sequences.count))
        let items = p.sequences.count * groups
        var flags = [UInt8](repeating: 0, count: items)
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    beta.withUnsafeBufferPointer { bb in
                        gScalars.withUnsafeBufferPointer { gb in
                            output.withUnsafeMutableBufferPointer { ob in
                                state.withUnsafeMutableBufferPointer { sb in
                                    let kernel = DeltaRuleChunkKernel<T>(
                                        problem: p, q: .init(mutating: qb.baseAddress!),
                                        k: .init(mutating: kb.baseAddress!), v: .init(mutating: vb.baseAddress!),
                                        beta: .init(mutating: bb.baseAddress!),
                                        g: p.gated ? .init(mutating: gb.baseAddress!) : nil,
                                        output: ob.baseAddress!, state: sb.baseAddress!, scale: scale,
                                        chunkTokens: chunkTokens, headGroups: groups, saved: saving?.base,
                                        plan: saving?.plan)
                                    // One workspace per worker, allocated here once for all work items.
                                    let slots = Swift.max(1, Swift.min(items, workers))
                                    let perWorker = kernel.workspaceCount
                                    let workspaces = UnsafeMutablePointer<T>.allocate(capacity: slots * perWorker)
                                    defer { workspaces.deallocate() }
                                    flags.withUnsafeMutableBufferPointer { fb in
                                        let fp = fb.baseAddress!
                                        Threading.parallelFor(items, workers: slots) { item, worker in
                                            fp[item] = kernel.run(
                                                item: item, workspace: workspaces + worker * perWorker)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return flags.reduce(0) { $0 | $1 }
    }

    /// Tokens per chunk for `chunkSize` Householder steps, never more than the longest sequence
    /// (bounds the workspaces): the forward's and the backward's chunks are the same.
    static func chunkTokens(_ p: DeltaRuleProblem, chunkSize: Int) -> Int {
        let longest = p.sequences.map { $0.end - $0.start }.max() ?? 0
        return Swift.max(1, Swift.min(chunkSize / p.householder, longest))
    }
}
