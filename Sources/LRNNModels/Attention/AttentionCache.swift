import LRNNLinearAlgebra

/// The key/value cache of one softmax-attention layer for N sequences (the `attn_state` of fla's
/// cache), with each sequence's position.
///
/// Keys are stored after the rotary embedding, as fla caches them. A global layer keeps every
/// key and value; a layer with a sliding window w keeps only the last w − 1 (what the next query
/// can still see besides its own key) in a ring buffer: position p lives in row `p mod (w − 1)`,
/// so decoding writes one row and reads at most w − 1 per token whatever the context length.
/// Storage grows by doubling up to that bound as positions advance.
///
/// A `Sendable` value (part of ``MixerState``): copying a cache copies its contents.
public struct AttentionCache<T: LRNNScalar>: Sendable {
    /// The key/value heads Hkv.
    public let kvHeads: Int
    /// The head size D.
    public let headDim: Int
    /// The sliding window w, or nil for a global layer.
    public let windowSize: Int?
    /// The stored keys `[N, capacity, Hkv·D]` (rows beyond ``storedRows(_:)`` are unused).
    public internal(set) var keys: Tensor<T>
    /// The stored values `[N, capacity, Hkv·D]`.
    public internal(set) var values: Tensor<T>
    /// The tokens each sequence has consumed: the position of its next token.
    public internal(set) var positions: [Int]

    /// An empty cache for `sequences` sequences.
    ///
    /// - Parameters:
    ///   - sequences: the number of sequences N.
    ///   - kvHeads: the key/value heads.
    ///   - headDim: the head size.
    ///   - windowSize: the sliding window (≥ 1), or nil for a global layer.
    /// - Precondition: `sequences ≥ 0`, `kvHeads ≥ 1`, `headDim ≥ 0`, `windowSize ≥ 1` when given.
    public init(sequences: Int, kvHeads: Int, headDim: Int, windowSize: Int?) {
        precondition(
            sequences >= 0 && kvHeads >= 1 && headDim >= 0 && (windowSize ?? 1) >= 1,
            "AttentionCache: \(sequences) sequences, \(kvHeads) heads of \(headDim), window \(String(describing: windowSize))"
        )
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.windowSize = windowSize
        keys = Tensor(shape: [sequences, 0, kvHeads * headDim], scalars: [])
        values = keys
        positions = Array(repeating: 0, count: sequences)
    }

    /// The number of sequences N.
    public var sequenceCount: Int { positions.count }
    /// The rows allocated per sequence.
    public var capacity: Int { keys.shape[1] }
    /// The most rows a sequence keeps: w − 1 with a window, nil (unbounded) without.
    public var keptRows: Int? { windowSize.map { $0 - 1 } }
    /// The elements of one row (one token's keys over all heads), Hkv·D.
    var rowWidth: Int { kvHeads * headDim }

    /// The rows sequence `n` holds: its position, at most ``keptRows``.
    ///
    /// - Parameter n: the sequence index.
    public func storedRows(_ n: Int) -> Int { Swift.min(positions[n], keptRows ?? Int.max) }

    /// The storage row of position `p`.
    func row(ofPosition p: Int) -> Int { keptRows.map { p % $0 } ?? p }

    /// Grows the storage so that every sequence can hold `rows` rows (bounded by ``keptRows``),
    /// at least doubling, keeping every row at its index.
    mutating func reserve(rows wanted: Int) {
        let needed = Swift.min(wanted, keptRows ?? Int.max)
        if needed <= capacity { return }
        let newCapacity = Swift.min(keptRows ?? Int.max, Swift.max(needed, 2 * capacity))
        let (n, w, old) = (sequenceCount, rowWidth, capacity)
        func grown(_ t: Tensor<T>) -> Tensor<T> {
            var g = Tensor<T>.zeros([n, newCapacity, w])
            t.withUnsafeBufferPointer { src in
                g.withUnsafeMutableBufferPointer { dst in
                    for s in 0..<n where old > 0 {
                        (dst.baseAddress! + s * newCapacity * w).update(
                            from: src.baseAddress! + s * old * w, count: old * w)
                    }
                }
            }
            return g
        }
        keys = grown(keys)
        values = grown(values)
    }

    /// Records `count[n]` new tokens of each sequence n, whose key and value rows are rows
    /// `first[n] ..< first[n] + count[n]` of `k` and `v` (`[rows, Hkv·D]`): only the rows the
    /// cache keeps are written, and each position advances.
    mutating func append(k: UnsafePointer<T>, v: UnsafePointer<T>, first: [Int], count: [Int]) {
        let w = rowWidth
        let longest = (0..<sequenceCount).map { positions[$0] + count[$0] }.max() ?? 0
        reserve(rows: longest)
        let (cap, kept, old) = (capacity, keptRows, positions)
        keys.withUnsafeMutableBufferPointer { kb in
            values.withUnsafeMutableBufferPointer { vb in
                for n in 0..<old.count {
                    let end = old[n] + count[n]
                    let start = Swift.max(old[n], end - (kept ?? Int.max))
                    for p in start..<Swift.max(start, end) {
                        let src = (first[n] + p - old[n]) * w
                        let dst = (n * cap + (kept.map { p % $0 } ?? p)) * w
                        (kb.baseAddress! + dst).update(from: k + src, count: w)
                        (vb.baseAddress! + dst).update(from: v + src, count: w)
                    }
                }
            }
        }
        for n in 0..<sequenceCount { positions[n] += count[n] }
    }

    /// Copies sequence `n`'s stored keys and values in position order (oldest first) to `k` and `v`.
    func copyOrdered(_ n: Int, keys k: UnsafeMutablePointer<T>, values v: UnsafeMutablePointer<T>) {
        let (w, cap) = (rowWidth, capacity)
        let stored = storedRows(n)
        keys.withUnsafeBufferPointer { kb in
            values.withUnsafeBufferPointer { vb in
                for i in 0..<stored {
                    let src = (n * cap + row(ofPosition: positions[n] - stored + i)) * w
                    (k + i * w).update(from: kb.baseAddress! + src, count: w)
                    (v + i * w).update(from: vb.baseAddress! + src, count: w)
                }
            }
        }
    }

    /// One decoding step of attention for every sequence: query `q [N, H·D]` (rotated) attends to
    /// the stored keys (all visible: a window keeps only the keys the next query sees) and its own
    /// key `kNew [N, Hkv·D]`; writes `[N, H·D]` into `out`. Work items are (sequence, KV head).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func attendOneToken(
        q: UnsafePointer<T>, kNew: UnsafePointer<T>, vNew: UnsafePointer<T>, heads h: Int, scale: T, blockSize: Int,
        out: UnsafeMutablePointer<T>
    ) {
        let (hkv, d, cap, n) = (kvHeads, headDim, capacity, sequenceCount)
        let g = h / hkv
        let items = n * hkv
        if items == 0 { return }
        let problem = AttentionProblem(
            heads: h, kvHeads: hkv, headDim: d, window: nil, blockSize: blockSize, qStart: [], qLength: [],
            kStart: [], kLength: [])
        let size = problem.workspaceCount
        let workers = Swift.min(Threading.workerCount, items)
        var workspace = [T](repeating: 0, count: workers * size)
        keys.withUnsafeBufferPointer { kb in
            values.withUnsafeBufferPointer { vb in
                workspace.withUnsafeMutableBufferPointer { wb in
                    let base = wb.baseAddress!
                    Threading.parallelFor(items, workers: workers) { item, worker in
                        let (s, j) = (item / hkv, item % hkv)
                        var ws = AttentionWorkspace(
                            base + worker * size, rows: g * blockSize, headDim: d, keys: blockSize)
                        ws.packQueries(
                            q + s * h * d + j * g * d, tokens: 1, rowStride: h * d, width: g * d, scale: scale)
                        let stored = storedRows(s)
                        var key = 0
                        while key < stored {
                            let count = Swift.min(blockSize, stored - key)
                            let offset = (s * cap + key) * hkv * d + j * d
                            ws.attend(
                                keys: kb.baseAddress! + offset, values: vb.baseAddress! + offset, count: count,
                                rowStride: hkv * d, rows: g, mask: nil)
                            key += count
                        }
                        ws.attend(
                            keys: kNew + s * hkv * d + j * d, values: vNew + s * hkv * d + j * d, count: 1,
                            rowStride: hkv * d, rows: g, mask: nil)
                        ws.finish(into: out + s * h * d + j * g * d, tokens: 1, rowStride: h * d, width: g * d)
                    }
                }
            }
        }
    }
}
