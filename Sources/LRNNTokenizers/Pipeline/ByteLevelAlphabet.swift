/// GPT-2's byte-to-unicode map: every byte value stands for one printable character, so that
/// byte-level BPE works on strings (printable ASCII and Latin-1 bytes stand for themselves, the
/// other 68 bytes for U+0100 onwards in byte order; `Ġ` is the space, `Ċ` the newline).
enum ByteLevelAlphabet {
    /// The scalar value that stands for each byte.
    static let scalarOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each alphabet scalar stands for (the inverse of ``scalarOfByte``), indexed by
    /// scalar value below 324; -1 for values outside the alphabet.
    static let byteOfScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, s) in scalarOfByte.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The byte `s` stands for, or nil when it is not in the alphabet.
    @inline(__always)
    static func byte(of s: UInt32) -> UInt8? {
        guard s < 324 else { return nil }
        let b = byteOfScalar[Int(s)]
        return b < 0 ? nil : UInt8(b)
    }
}
