/// The ids of words already encoded within one encoding call (`tokenizers`' BPE cache), in flat
/// buffers so that neither a lookup nor an insertion allocates per word: an open-addressing table
/// of entries, the words' scalars and their ids. It is bounded: when it holds ``maxEntries`` words
/// or ``maxScalars`` scalars it is emptied, and a word whose slot is not found within
/// ``maxProbes`` probes is neither found nor stored (so no input can make a lookup slow). The ids
/// never depend on what the cache holds.
struct WordCache {
    private struct Entry {
        var hash: UInt64
        var keyStart: Int32
        var keyCount: Int32
        var idsStart: Int32
        var idsCount: Int32
    }

    /// Words up to this many scalars are cached.
    static let maxWordLength = 64
    static let maxEntries = 1 << 15
    static let maxScalars = 1 << 20
    static let maxProbes = 8

    private var slots: [Int32] = []
    private var entries: [Entry] = []
    private var keys: [UInt32] = []
    private(set) var ids: [Int32] = []

    /// The hash of a word (FNV-1a over scalar values, then a final mix).
    static func hash(_ word: UnsafeBufferPointer<UInt32>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in word { h = (h ^ UInt64(v)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    /// The range of ``ids`` holding the ids of `word`, or nil.
    func lookup(_ word: UnsafeBufferPointer<UInt32>, hash: UInt64) -> Range<Int>? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        for _ in 0..<Self.maxProbes {
            let e = slots[i]
            if e < 0 { return nil }
            let entry = entries[Int(e)]
            if entry.hash == hash, Int(entry.keyCount) == word.count,
                keys[Int(entry.keyStart)..<Int(entry.keyStart + entry.keyCount)].elementsEqual(word)
            {
                return Int(entry.idsStart)..<Int(entry.idsStart + entry.idsCount)
            }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Stores the ids of `word` (a word already stored is not looked for: call after a miss).
    mutating func insert(_ word: UnsafeBufferPointer<UInt32>, hash: UInt64, ids wordIds: ArraySlice<Int32>) {
        if entries.count >= Self.maxEntries || keys.count + word.count > Self.maxScalars { clear() }
        if 2 * (entries.count + 1) > slots.count { grow() }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        for _ in 0..<Self.maxProbes {
            if slots[i] < 0 {
                slots[i] = Int32(entries.count)
                entries.append(
                    Entry(
                        hash: hash, keyStart: Int32(keys.count), keyCount: Int32(word.count),
                        idsStart: Int32(ids.count), idsCount: Int32(wordIds.count)))
                keys.append(contentsOf: word)
                ids.append(contentsOf: wordIds)
                return
            }
            i = (i + 1) & mask
        }
    }

    private mutating func clear() {
        entries.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = -1 }
    }

    /// Doubles the table (from 1,024 slots) and re-inserts the entries.
    private mutating func grow() {
        let count = max(1024, 2 * slots.count)
        slots = [Int32](repeating: -1, count: count)
        let mask = count - 1
        for (k, entry) in entries.enumerated() {
            var i = Int(truncatingIfNeeded: entry.hash) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(k)
        }
    }
}
