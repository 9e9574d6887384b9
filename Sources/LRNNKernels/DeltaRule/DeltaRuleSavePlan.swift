import LRNNLinearAlgebra

/// Where a training forward (`DeltaRule.chunked(…, saving:)`) keeps the values its backward
/// would otherwise recompute, laid out per (sequence, head), and which chunks it keeps.
///
/// The backward's chunks fall into segments of `segmentChunks` (`DeltaRule.runBackward`); per
/// sequence s and head the plan keeps
///
///     checkpoints_s × K·V     the state at every segment start, when the sequence has more than one
///     blocks_s × K·V          the chunk-start state S of every `stateInterval`-th saved chunk (the
///                             first chunk of each block of saved chunks)
///     saved_s × slot          the slots (U', T, [P; Ã]) of the last `saved_s` chunks, all inside
///                             the last segment (the one the reverse pass reaches first)
///
/// with `saved_s` as many chunks of the last segment as the budget still allows, sequence by
/// sequence in order. The backward recomputes the other chunk-start states of a block from its first
/// one and the saved U' (one K×c by c×V product per chunk): at K = V = 128 and c = 16 a state is
/// 85 % of a chunk's values, and writing it in the forward and reading it back in the backward took
/// longer than that product (docs/kernels/delta-rule.md). Every number depends only on the problem,
/// the chunk length and the budgets, so the forward and the backward compute the same plan and the
/// backward can check it.
struct DeltaRuleSavePlan: Equatable, Sendable {
    /// The scalars of saved slots the plan allows in all (2²⁶: 256 MB in Float32). At T = 4,096,
    /// H = 8, K = V = 128 and C = 16 every chunk is saved (≈ 39·10⁶ scalars); longer sequences keep
    /// their last segment and their checkpoints.
    static let defaultBudget = 1 << 26

    /// Saved chunks per block without a gate: the forward keeps the chunk-start state of the first
    /// chunk of each block, the backward recomputes the others into its workspace (`stateInterval − 1`
    /// states per head of a work item's group: 1.75 MB per worker at four heads of K = V = 128 in
    /// Float32).
    static let ungatedStateInterval = 8

    /// The block length of a problem: ``ungatedStateInterval`` without a gate, 1 (every state kept)
    /// with one. The gated backward reads each chunk's state first in a streaming dot product
    /// (⟨S, dS'⟩), which hides most of the cost of reading it back; there recomputing it was measured
    /// slower than keeping it (docs/kernels/delta-rule.md).
    static func defaultStateInterval(_ p: DeltaRuleProblem) -> Int { p.gated ? 1 : ungatedStateInterval }

    /// Saved chunks per block (the first one's state is kept).
    let stateInterval: Int

    /// Tokens per chunk c_t.
    let chunkTokens: Int
    /// Householder steps per chunk c.
    let chunkSteps: Int
    /// Chunks per backward segment.
    let segmentChunks: Int
    /// Scalars of one slot: U' (c×V), T (c×c), [P; Ã] ((c_t + c)×c).
    let slotCount: Int
    /// K·V.
    let stateCount: Int
    /// Heads H.
    let heads: Int
    /// Per sequence: the first saved chunk (the chunk count when none is).
    let firstSaved: [Int]
    /// Per sequence: the saved segment-start states per head (0 for a single segment).
    let checkpoints: [Int]
    /// Per sequence: the saved chunks per head (from `firstSaved` to the sequence's end).
    let savedChunks: [Int]
    /// Per sequence: the saved block-start states per head (`savedChunks` / `stateInterval`, rounded up).
    let blockStates: [Int]
    /// Per sequence: the offset of its first head's values.
    let offsets: [Int]
    /// Scalars in all.
    let count: Int
    /// The shapes and constants of the forward call (checked by the backward).
    let key: [Int]

    /// The plan of problem `p` at `chunkTokens` tokens per chunk.
    ///
    /// - Parameters:
    ///   - p: the validated problem.
    ///   - chunkTokens: tokens per chunk, as the forward and the backward resolve it.
    ///   - stateBudget: the backward's stored-state budget per worker and head.
    ///   - budget: the most scalars of saved slots.
    ///   - stateInterval: saved chunks per block (≥ 1).
    ///   - key: the call's shapes and constants.
    init(_ p: DeltaRuleProblem, chunkTokens: Int, stateBudget: Int, budget: Int, stateInterval: Int, key: [Int]) {
        precondition(stateInterval >= 1, "DeltaRuleSavePlan: state interval \(stateInterval) < 1")
        let (dk, dv, n) = (p.keyDim, p.valueDim, p.householder)
        let cs = chunkTokens * n
        let kv = dk * dv
        self.chunkTokens = chunkTokens
        self.chunkSteps = cs
        self.stateCount = kv
        self.heads = p.heads
        self.key = key
        slotCount = cs * dv + cs * cs + (chunkTokens + cs) * cs
        self.stateInterval = stateInterval
        let interval = stateInterval
        let longest = p.sequences.map { $0.end - $0.start }.max() ?? 0
        let longestChunks = (longest + chunkTokens - 1) / chunkTokens
        segmentChunks = Swift.max(1, Swift.min(longestChunks, stateBudget / Swift.max(kv, 1)))
        var remaining = budget
        var offset = 0
        var first: [Int] = []
        var points: [Int] = []
        var offsets: [Int] = []
        var counts: [Int] = []
        var blocks: [Int] = []
        for seq in p.sequences {
            let chunks = (seq.end - seq.start + chunkTokens - 1) / chunkTokens
            let segments = (chunks + segmentChunks - 1) / segmentChunks
            let lastFirst = Swift.max(0, segments - 1) * segmentChunks
            // A block of `interval` chunks costs its slots and one state.
            let perBlock = p.heads * (interval * slotCount + kv)
            let perChunk = p.heads * (slotCount + kv)
            var saved = 0
            if perBlock > 0 {
                saved = Swift.min(chunks - lastFirst, (remaining / perBlock) * interval)
                let rest = remaining - (saved / interval) * perBlock
                if saved < chunks - lastFirst && rest >= perChunk {
                    // A last, shorter block: its state and as many slots as remain.
                    saved += Swift.min(
                        chunks - lastFirst - saved, interval - 1, (rest - p.heads * kv) / (p.heads * slotCount))
                }
            }
            let blockCount = (saved + interval - 1) / interval
            remaining -= p.heads * (saved * slotCount + blockCount * kv)
            let cp = segments > 1 ? segments : 0
            first.append(chunks - saved)
            points.append(cp)
            counts.append(saved)
            blocks.append(blockCount)
            offsets.append(offset)
            offset += p.heads * ((cp + blockCount) * kv + saved * slotCount)
        }
        firstSaved = first
        checkpoints = points
        savedChunks = counts
        blockStates = blocks
        self.offsets = offsets
        count = offset
    }

    /// Whether some chunk is not saved, so that the backward must sweep it again.
    var needsSweep: Bool { firstSaved.contains { $0 > 0 } }

    /// The values of sequence `s`, head `h`: its checkpoints, its block-start states, then its saved slots.
    @inline(__always)
    func headOffset(_ s: Int, head h: Int) -> Int {
        offsets[s] + h * ((checkpoints[s] + blockStates[s]) * stateCount + savedChunks[s] * slotCount)
    }

    /// The first chunk of the block of saved chunk `c` (≥ `firstSaved[s]`) of sequence `s`.
    @inline(__always)
    func blockStart(_ s: Int, chunk c: Int) -> Int {
        firstSaved[s] + (c - firstSaved[s]) / stateInterval * stateInterval
    }

    /// The offset of the saved chunk-start state of chunk `c`, the first of its block, of sequence `s`,
    /// head `h`.
    @inline(__always)
    func blockState(_ s: Int, head h: Int, chunk c: Int) -> Int {
        headOffset(s, head: h) + (checkpoints[s] + (c - firstSaved[s]) / stateInterval) * stateCount
    }

    /// The offset of checkpoint `index` of sequence `s`, head `h`.
    @inline(__always)
    func checkpoint(_ s: Int, head h: Int, index: Int) -> Int {
        headOffset(s, head: h) + index * stateCount
    }

    /// The offset of the slot of chunk `c` (≥ `firstSaved[s]`) of sequence `s`, head `h`.
    @inline(__always)
    func slot(_ s: Int, head h: Int, chunk c: Int) -> Int {
        headOffset(s, head: h) + (checkpoints[s] + blockStates[s]) * stateCount + (c - firstSaved[s]) * slotCount
    }
}
