import LRNNLinearAlgebra

/// Where a training forward (`GLA.chunked(…, saving:)`) keeps the chunk-start states and decay
/// factors its backward would otherwise recompute, laid out per (sequence, head), and which
/// sequences it keeps.
///
/// Per saved sequence s and head the plan holds `chunks_s + 1` states of K×V (row-major, the
/// layout of the state tensor): the state at every chunk start, then the sequence's final state;
/// then `chunks_s` blocks of C×K decay factors a = exp(gk) (contiguous rows of the chunk's tokens;
/// a shorter last chunk uses its first rows).
/// Sequences are kept whole, in order, while the budget allows; a sequence that no longer fits is
/// not saved, and the backward recomputes its states as without saved values. Every number depends
/// only on the problem, the chunking and the budget, so the forward and the backward compute the
/// same plan and the backward can check it.
struct GLASavePlan: Equatable, Sendable {
    /// The most scalars the plan keeps (2²⁶: 256 MB in Float32). At T = 4,096, H = 8,
    /// K = V = 128 and C = 32 every sequence is kept (≈ 21·10⁶ scalars: 17·10⁶ of states, 4·10⁶ of
    /// decay factors).
    static let defaultBudget = 1 << 26

    /// Tokens per chunk C, after the clamp to the longest sequence.
    let chunkTokens: Int
    /// K·V.
    let stateCount: Int
    /// C·K: the decay factors of one chunk.
    let decayCount: Int
    /// Heads H.
    let heads: Int
    /// Per sequence: whether its states are kept.
    let saved: [Bool]
    /// Per sequence: its chunk count.
    let chunks: [Int]
    /// Per sequence: the offset of its first head's states (meaningful when kept).
    let offsets: [Int]
    /// Scalars in all.
    let count: Int
    /// The shapes and chunking of the forward call (checked by the backward).
    let key: [Int]

    /// The plan of a problem with sequence lengths `lengths` at `chunkTokens` tokens per chunk.
    ///
    /// - Parameters:
    ///   - lengths: the tokens of each sequence.
    ///   - heads: H.
    ///   - stateCount: K·V.
    ///   - keyDim: K.
    ///   - chunkTokens: tokens per chunk, as the forward and the backward resolve it.
    ///   - budget: the most scalars to keep.
    ///   - key: the call's shapes and chunking.
    init(lengths: [Int], heads: Int, stateCount: Int, keyDim: Int, chunkTokens: Int, budget: Int, key: [Int]) {
        self.chunkTokens = chunkTokens
        self.stateCount = stateCount
        self.decayCount = chunkTokens * keyDim
        self.heads = heads
        self.key = key
        var remaining = budget
        var offset = 0
        var saved: [Bool] = []
        var chunks: [Int] = []
        var offsets: [Int] = []
        for length in lengths {
            let n = (length + chunkTokens - 1) / chunkTokens
            let need = heads * ((n + 1) * stateCount + n * chunkTokens * keyDim)
            let keep = length > 0 && need <= remaining
            saved.append(keep)
            chunks.append(n)
            offsets.append(offset)
            if keep {
                remaining -= need
                offset += need
            }
        }
        self.saved = saved
        self.chunks = chunks
        self.offsets = offsets
        count = offset
    }

    /// Whether some non-empty sequence is not kept, so that the backward must sweep it again.
    func needsSweep(lengths: [Int]) -> Bool {
        zip(saved, lengths).contains { !$0 && $1 > 0 }
    }

    /// The offset of the state at the start of chunk `c` (`chunks[s]`: the final state) of
    /// sequence `s`, head `h`.
    @inline(__always)
    func state(_ s: Int, head h: Int, chunk c: Int) -> Int {
        offsets[s] + h * headCount(s) + c * stateCount
    }

    /// The offset of the decay factors of chunk `c` of sequence `s`, head `h`.
    @inline(__always)
    func decay(_ s: Int, head h: Int, chunk c: Int) -> Int {
        offsets[s] + h * headCount(s) + (chunks[s] + 1) * stateCount + c * decayCount
    }

    /// The scalars of one head of sequence `s`.
    @inline(__always)
    func headCount(_ s: Int) -> Int {
        (chunks[s] + 1) * stateCount + chunks[s] * decayCount
    }
}
