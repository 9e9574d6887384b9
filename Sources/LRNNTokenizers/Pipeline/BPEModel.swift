/// The `BPE` model of `tokenizer.json`: a vocabulary and ranked merges, with optional byte
/// fallback (`<0xNN>` tokens for characters outside the vocabulary), an unknown token (fused
/// over runs with `fuse_unk`), `continuing_subword_prefix`, `end_of_word_suffix` and
/// `ignore_merges` (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
/// Subword Units"; `tokenizers`' `BPE::merge_word` and `Word::merge_all`).
struct BPEModel: Sendable {
    /// Token string (byte-exact) to id.
    let vocabulary: [ExactString: Int32]
    /// Id to token string ("" for an id the vocabulary does not use).
    let tokens: [String]
    /// Ids of the single-scalar tokens (the initial symbols when there is no prefix or suffix):
    /// a table indexed by scalar value below ``denseScalarLimit`` (-1 where absent), a dictionary
    /// above it.
    private let scalarIdTable: [Int32]
    private let scalarIds: [UInt32: Int32]
    /// The ids of `<0x00>` … `<0xFF>` (-1 where absent), when `byte_fallback` is on.
    private let byteIds: [Int32]?
    /// `(left id << 32 | right id)` → `(rank << 32 | merged id)`.
    private let merges: MergeTable
    let unknownId: Int32?
    private let fuseUnknown: Bool
    private let prefix: String?
    private let suffix: String?
    private let ignoreMerges: Bool
    /// A scalar before which every word may be cut for the merges (see
    /// ``splitsWords(before:)``), or nil.
    private(set) var wordBoundary: UInt32?

    /// Single-scalar tokens below this value are found in a table.
    static let denseScalarLimit: UInt32 = 0x3_0000

    /// Vocabularies whose largest id exceeds twice their size plus this are refused (the id
    /// table is sized by the largest id).
    static let idSlack = 1024

    /// Reads the `model` component.
    /// - Throws: ``TokenizerError`` for another model type, a `dropout`, malformed vocabulary or
    ///   merges, or a merge of tokens the vocabulary does not hold.
    init(_ field: JSONField) throws(TokenizerError) {
        let type = try field.type()
        guard type == "BPE" else { throw .unsupportedComponent(file: field.file, field: field.path, type: type) }
        try field.onlyKeys(
            [
                "type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
                "byte_fallback", "ignore_merges", "vocab", "merges",
            ], component: "BPE")
        if let d = try field.nonNull("dropout") {
            throw .unsupportedValue(
                file: field.file, field: d.path, value: "\(try d.number())",
                reason: "BPE dropout makes encoding random; only null is supported")
        }
        let file = field.file
        let vocabField = try field.required("vocab")
        let entries = try vocabField.object()
        var vocabulary: [ExactString: Int32] = [:]
        vocabulary.reserveCapacity(entries.count)
        var maxId = -1
        for (token, v) in entries {
            let id = try v.integer()
            guard id >= 0, id <= 2 * entries.count + Self.idSlack, id <= Int(Int32.max) else {
                throw .invalidValue(
                    file: file, field: v.path,
                    reason:
                        "id \(id) outside 0...\(2 * entries.count + Self.idSlack) (a vocabulary of \(entries.count) tokens)"
                )
            }
            vocabulary[ExactString(token)] = Int32(id)
            maxId = max(maxId, id)
        }
        var tokens = [String](repeating: "", count: maxId + 1)
        var used = [Bool](repeating: false, count: maxId + 1)
        for (token, v) in entries {
            let id = Int(vocabulary[ExactString(token)]!)
            guard !used[id] else {
                throw .invalidValue(
                    file: file, field: v.path, reason: "id \(id) is given to '\(tokens[id])' and '\(token)'")
            }
            used[id] = true
            tokens[id] = token
        }
        self.vocabulary = vocabulary
        self.tokens = tokens
        prefix = try field.nonNull("continuing_subword_prefix")?.string()
        suffix = try field.nonNull("end_of_word_suffix")?.string()
        var scalarIds: [UInt32: Int32] = [:]
        var tableSize = 0
        for (token, id) in vocabulary {
            let s = token.string.unicodeScalars
            if s.count == 1 {
                let v = s.first!.value
                if v < Self.denseScalarLimit { tableSize = max(tableSize, Int(v) + 1) } else { scalarIds[v] = id }
            }
        }
        var table = [Int32](repeating: -1, count: tableSize)
        for (token, id) in vocabulary {
            let s = token.string.unicodeScalars
            if s.count == 1, s.first!.value < Self.denseScalarLimit { table[Int(s.first!.value)] = id }
        }
        self.scalarIdTable = table
        self.scalarIds = scalarIds
        if try field.bool("byte_fallback", default: false) {
            byteIds = (0..<256).map { vocabulary[ExactString("<0x" + String(format2Hex: UInt8($0)) + ">")] ?? -1 }
        } else {
            byteIds = nil
        }
        if let u = try field.nonNull("unk_token") {
            let name = try u.string()
            guard let id = vocabulary[ExactString(name)] else {
                throw .unknownToken(file: file, field: u.path, token: name)
            }
            unknownId = id
        } else {
            unknownId = nil
        }
        fuseUnknown = try field.bool("fuse_unk", default: false)
        ignoreMerges = try field.bool("ignore_merges", default: false)
        let list = try field.required("merges").array()
        var merges = MergeTable(capacity: list.count)
        let prefixCount = prefix?.unicodeScalars.count ?? 0
        for (rank, m) in list.enumerated() {
            let a: String
            let b: String
            switch m.value {
            case let .string(line):
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw .invalidValue(
                        file: file, field: m.path, reason: "a merge must be two tokens separated by one space")
                }
                (a, b) = (String(parts[0]), String(parts[1]))
            case let .array(pair):
                guard pair.count == 2, case let .string(x) = pair[0], case let .string(y) = pair[1] else {
                    throw .wrongType(file: file, field: m.path, expected: "a pair of strings")
                }
                (a, b) = (x, y)
            default:
                throw .wrongType(file: file, field: m.path, expected: "a string \"a b\" or a pair [a, b]")
            }
            guard let ia = vocabulary[ExactString(a)] else { throw .unknownToken(file: file, field: m.path, token: a) }
            guard let ib = vocabulary[ExactString(b)] else { throw .unknownToken(file: file, field: m.path, token: b) }
            let mergedString = a + String(String.UnicodeScalarView(b.unicodeScalars.dropFirst(prefixCount)))
            guard let im = vocabulary[ExactString(mergedString)] else {
                throw .unknownToken(file: file, field: m.path, token: mergedString)
            }
            merges.insert(UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib)), UInt64(rank) << 32 | UInt64(UInt32(im)))
        }
        self.merges = merges
    }

    /// The id of the single-scalar token `c`, or nil.
    @inline(__always)
    private func scalarId(_ c: UInt32) -> Int32? {
        if c < Self.denseScalarLimit {
            guard Int(c) < scalarIdTable.count else { return nil }
            let id = scalarIdTable[Int(c)]
            return id < 0 ? nil : id
        }
        return scalarIds[c]
    }

    /// Whether cutting every word before each `c` that follows another scalar leaves its ids
    /// unchanged, so that the parts can be merged (and cached) separately. SentencePiece's
    /// `Metaspace(split: false)` makes all the text one word; its merges never join a token to a
    /// following `▁` unless the token is all `▁`, and then the cut is exact: it holds when
    ///
    /// - the initial symbols are single scalars (no prefix or suffix, no `ignore_merges`), `c` is
    ///   a token, and no scalar is ever dropped (an unknown token or a complete byte fallback);
    /// - every merge `(a, b)` whose `b` begins with `c` has an `a` made only of `c`;
    /// - neither the unknown token nor a `<0xNN>` token is made only of `c`.
    ///
    /// Then the symbol left of a cut ends with the symbol of a scalar other than `c` (a token, a
    /// byte or the unknown token, none all `c`), the one right of it begins with `c`, and no merge
    /// joins them at any time; the merges on each side are the ones the whole word gets, in the
    /// same order (the lowest rank, then the leftmost, within each side).
    func splitsWords(before c: UInt32) -> Bool {
        guard prefix == nil, suffix == nil, !ignoreMerges, scalarId(c) != nil else { return false }
        guard unknownId != nil || (byteIds?.allSatisfy { $0 >= 0 } ?? false) else { return false }
        func allC(_ id: Int32) -> Bool { tokens[Int(id)].unicodeScalars.allSatisfy { $0.value == c } }
        if let unknownId, allC(unknownId) { return false }
        if let byteIds, byteIds.contains(where: { $0 >= 0 && allC($0) }) { return false }
        return merges.allPairs { a, b in tokens[Int(b)].unicodeScalars.first?.value != c || allC(a) }
    }

    /// Turns on cutting words before `c` (``splitsWords(before:)`` must hold).
    mutating func splitWords(before c: UInt32) {
        precondition(splitsWords(before: c), "cutting words before U+\(String(c, radix: 16)) would change the ids")
        wordBoundary = c
    }

    /// Appends the ids of one word.
    func encode(_ word: UnsafeBufferPointer<UInt32>, into out: inout [Int32], scratch: inout BPEScratch) {
        guard let boundary = wordBoundary, word.count > 1 else {
            encodeCached(word, into: &out, scratch: &scratch)
            return
        }
        var start = 0
        for i in 1..<word.count where word[i] == boundary && word[i - 1] != boundary {
            encodeCached(UnsafeBufferPointer(rebasing: word[start..<i]), into: &out, scratch: &scratch)
            start = i
        }
        encodeCached(UnsafeBufferPointer(rebasing: word[start...]), into: &out, scratch: &scratch)
    }

    private func encodeCached(_ word: UnsafeBufferPointer<UInt32>, into out: inout [Int32], scratch: inout BPEScratch) {
        guard word.count <= WordCache.maxWordLength else {
            encodeUncached(word, into: &out, scratch: &scratch)
            return
        }
        let hash = WordCache.hash(word)
        if let hit = scratch.cache.lookup(word, hash: hash) {
            out.append(contentsOf: scratch.cache.ids[hit])
            return
        }
        let start = out.count
        encodeUncached(word, into: &out, scratch: &scratch)
        scratch.cache.insert(word, hash: hash, ids: out[start...])
    }

    private func encodeUncached(_ word: UnsafeBufferPointer<UInt32>, into out: inout [Int32], scratch: inout BPEScratch)
    {
        if ignoreMerges, let id = vocabulary[ExactString(String(scalarValues: word))] {
            out.append(id)
            return
        }
        var symbols = scratch.symbols
        symbols.removeAll(keepingCapacity: true)
        var pendingUnknown = false
        for (i, c) in word.enumerated() {
            let id: Int32?
            if prefix == nil, suffix == nil {
                id = scalarId(c)
            } else {
                var s = i > 0 ? prefix ?? "" : ""
                s.unicodeScalars.append(Unicode.Scalar(c)!)
                if i == word.count - 1 { s += suffix ?? "" }
                id = vocabulary[ExactString(s)]
            }
            if let id {
                symbols.append(id)
                pendingUnknown = false
                continue
            }
            if let byteIds {
                let before = symbols.count
                var all = true
                Unicode.UTF8.encode(Unicode.Scalar(c)!) { b in
                    let t = byteIds[Int(b)]
                    if t < 0 { all = false } else { symbols.append(t) }
                }
                if all {
                    pendingUnknown = false
                    continue
                }
                symbols.removeSubrange(before...)
            }
            if let unknownId {
                if !(fuseUnknown && pendingUnknown) { symbols.append(unknownId) }
                pendingUnknown = true
            }
        }
        mergeAll(&symbols, scratch: &scratch)
        out += symbols
        scratch.symbols = symbols
    }

    /// Applies the merges to `symbols` in rank order (lowest rank first, leftmost among equal
    /// ranks), each merge creating the pairs with its neighbours; a binary heap holds the
    /// candidate pairs and stale ones are skipped when popped.
    private func mergeAll(_ symbols: inout [Int32], scratch: inout BPEScratch) {
        let n = symbols.count
        guard n > 1 else { return }
        var next = scratch.next
        var prev = scratch.prev
        var alive = scratch.alive
        var heap = scratch.heap
        next.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        alive.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for i in 0..<n {
            next.append(Int32(i + 1))
            prev.append(Int32(i - 1))
            alive.append(true)
        }
        func lookup(_ a: Int32, _ b: Int32) -> UInt64? { merges.find(a, b) }
        func push(_ rank: UInt64, _ pos: Int, _ newId: Int32) {
            heap.append(BPEScratch.Candidate(key: rank << 32 | UInt64(pos), newId: newId))
            var k = heap.count - 1
            while k > 0 {
                let parent = (k - 1) / 2
                if heap[parent].key <= heap[k].key { break }
                heap.swapAt(parent, k)
                k = parent
            }
        }
        func pop() -> BPEScratch.Candidate {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var k = 0
                while true {
                    let l = 2 * k + 1
                    if l >= heap.count { break }
                    let r = l + 1
                    let m = r < heap.count && heap[r].key < heap[l].key ? r : l
                    if heap[k].key <= heap[m].key { break }
                    heap.swapAt(k, m)
                    k = m
                }
            }
            return top
        }
        for i in 0..<(n - 1) {
            if let m = lookup(symbols[i], symbols[i + 1]) { push(m >> 32, i, Int32(truncatingIfNeeded: m)) }
        }
        while !heap.isEmpty {
            let top = pop()
            let pos = Int(top.key & 0xFFFF_FFFF)
            guard alive[pos] else { continue }
            let right = Int(next[pos])
            guard right < n else { continue }
            guard let m = lookup(symbols[pos], symbols[right]), Int32(truncatingIfNeeded: m) == top.newId else {
                continue
            }
            symbols[pos] = top.newId
            alive[right] = false
            next[pos] = next[right]
            if Int(next[right]) < n { prev[Int(next[right])] = Int32(pos) }
            let p = Int(prev[pos])
            if p >= 0, let m = lookup(symbols[p], symbols[pos]) { push(m >> 32, p, Int32(truncatingIfNeeded: m)) }
            let q = Int(next[pos])
            if q < n, let m = lookup(symbols[pos], symbols[q]) { push(m >> 32, pos, Int32(truncatingIfNeeded: m)) }
        }
        var w = 0
        for i in 0..<n where alive[i] {
            symbols[w] = symbols[i]
            w += 1
        }
        symbols.removeSubrange(w...)
        scratch.next = next
        scratch.prev = prev
        scratch.alive = alive
        scratch.heap = heap
    }
}

/// Scratch space of the BPE model within one encoding call: the merge heap and linked list, and
/// the cache of the ids of short words already encoded.
struct BPEScratch {
    struct Candidate {
        var key: UInt64
        var newId: Int32
    }

    var symbols: [Int32] = []
    var next: [Int32] = []
    var prev: [Int32] = []
    var alive: [Bool] = []
    var heap: [Candidate] = []
    var cache = WordCache()
}

extension String {
    /// Two upper-case hexadecimal digits.
    init(format2Hex b: UInt8) {
        let digits = Array("0123456789ABCDEF")
        self = String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }
}
