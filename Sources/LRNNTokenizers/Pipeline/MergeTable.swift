/// The BPE merges as an open-addressing hash table from a pair of ids, packed as
/// `left << 32 | right`, to `rank << 32 | merged id` (the lookup of `tokenizers`' `merges` map,
/// without `Hasher`: the keys are fixed when the file is read, so a multiplicative hash with
/// linear probing at load factor ≤ 1/2 is enough).
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let shift: UInt64
    private let mask: Int

    /// Marks an empty slot; no key has it (ids are below 2^31).
    private static let empty = UInt64.max

    /// An empty table for up to `count` merges.
    init(capacity count: Int) {
        var bits = 4
        while (1 << bits) < 2 * max(count, 1) { bits += 1 }
        keys = [UInt64](repeating: Self.empty, count: 1 << bits)
        values = [UInt64](repeating: 0, count: 1 << bits)
        shift = UInt64(64 - bits)
        mask = (1 << bits) - 1
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// Sets the value of `key` (a later merge of the same pair replaces an earlier one, as a
    /// `HashMap` built from the list does).
    mutating func insert(_ key: UInt64, _ value: UInt64) {
        var i = slot(key)
        while keys[i] != Self.empty, keys[i] != key { i = (i + 1) & mask }
        keys[i] = key
        values[i] = value
    }

    /// `rank << 32 | merged id` for the pair `(a, b)`, or nil when it has no merge.
    @inline(__always)
    func find(_ a: Int32, _ b: Int32) -> UInt64? {
        let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
        return keys.withUnsafeBufferPointer { k -> UInt64? in
            var i = slot(key)
            while true {
                let stored = k[i]
                if stored == key { return values[i] }
                if stored == Self.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }

    /// Whether `test` holds for every pair `(left id, right id)` that has a merge.
    func allPairs(_ test: (Int32, Int32) -> Bool) -> Bool {
        for key in keys where key != Self.empty {
            if !test(Int32(truncatingIfNeeded: key >> 32), Int32(truncatingIfNeeded: key)) { return false }
        }
        return true
    }
}
