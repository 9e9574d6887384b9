import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Seeded mutations of valid safetensors images.
struct SafeTensorsMutator {
    var rng: SeededRandom

    /// JSON fragments swapped in for header tokens.
    static let replacements = [
        "0", "1", "-1", "1.5", "1e3", "4", "8", "true", "false", "null", "\"F32\"", "\"BOOL\"", "\"F8\"", "\"\"",
        "[]", "{}", "[0,4]", "[4,0]", "\"__metadata__\"", "18446744073709551616", "9007199254740993", "", ",", ":",
        "\"data_offsets\"", "\"shape\"", "\"dtype\"", "[[1]]", "\"\\u0000\"",
    ]
    /// Dtypes of equal element size: swapping one for another keeps the file valid.
    static let sameSize = [
        ["\"F64\"", "\"I64\""], ["\"F32\"", "\"I32\""], ["\"F16\"", "\"BF16\"", "\"I16\""],
        ["\"U8\"", "\"I8\"", "\"BOOL\""],
    ]
    /// Bytes that matter to the JSON grammar, used by overwrites.
    static let interestingBytes: [UInt8] = Array("\"{}[],:-0123456789e. tfn\\".utf8) + [0x00, 0x7F, 0x80, 0xC0, 0xFF]

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &rng) }

    /// The header length an image declares.
    static func rawHeaderLength(_ b: [UInt8]) -> UInt64 {
        b.count < 8 ? 0 : b.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
    }

    /// The declared header length, clamped to `Int`.
    static func headerLength(_ b: [UInt8]) -> Int { Int(clamping: rawHeaderLength(b)) }

    static func withLength(_ b: [UInt8], _ n: UInt64) -> [UInt8] {
        var out = b
        withUnsafeBytes(of: n.littleEndian) { for i in 0..<8 { out[i] = $0[i] } }
        return out
    }

    /// A position, biased to the header where most of the structure is.
    mutating func position(_ b: [UInt8]) -> Int {
        let header = min(b.count, 8 + min(Self.headerLength(b), b.count))
        return int(0..<10) < 6 && header > 0 ? int(0..<header) : int(0..<b.count)
    }

    /// One mutation of `b` and the name of its kind.
    mutating func mutate(_ b: [UInt8]) -> (kind: String, bytes: [UInt8]) {
        var out = b
        switch int(0..<7) {
        case 0:
            for _ in 0..<int(1..<5) { out[position(out)] ^= UInt8(1) << UInt8(int(0..<8)) }
            return ("bit flip", out)
        case 1:
            for _ in 0..<int(1..<4) {
                let p = position(out)
                out[p] =
                    int(0..<2) == 0
                    ? Self.interestingBytes[int(0..<Self.interestingBytes.count)]
                    : UInt8(truncatingIfNeeded: rng.next())
            }
            return ("byte overwrite", out)
        case 2:
            return ("truncation", Array(out.prefix(int(0..<out.count))))
        case 3:
            guard b.count >= 8 else { return ("header length", out) }
            let n = Self.rawHeaderLength(b)
            let choices: [UInt64] = [
                n &+ UInt64(int(1..<17)), n &- UInt64(int(1..<17)), UInt64(b.count), UInt64(b.count - 8),
                UInt64(b.count - 7), 0, .max, UInt64(SafeTensorsFile.maxHeaderLength) + 1,
                rng.next() % UInt64(b.count + 16),
            ]
            return ("header length", Self.withLength(out, choices[int(0..<choices.count)]))
        case 4:
            return ("token edit", tokenEdit(b))
        case 5:
            out.insert(
                contentsOf: (0..<int(1..<9)).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                at: int(0..<(out.count + 1)))
            return ("insertion", out)
        default:
            // Overwrite data-section bytes only: the file stays valid, the values change.
            let start = 8 + min(Self.headerLength(b), b.count - 8)
            if start < out.count {
                for _ in 0..<int(1..<9) { out[int(start..<out.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            return ("data overwrite", out)
        }
    }

    /// Replaces, deletes or duplicates one JSON token of the header; the declared length is
    /// usually updated to the new header (so the edit reaches the JSON validation).
    mutating func tokenEdit(_ b: [UInt8]) -> [UInt8] {
        let n = Self.headerLength(b)
        guard b.count >= 8, n >= 0, n <= b.count - 8 else { return b }
        var header = Array(b[8..<(8 + n)])
        let data = Array(b[(8 + n)...])
        // Token boundaries: runs of digits/letters/quotes-delimited strings, or single punctuation.
        var tokens: [Range<Int>] = []
        var i = 0
        while i < header.count {
            let c = header[i]
            if c == UInt8(ascii: "\"") {
                var j = i + 1
                while j < header.count && header[j] != UInt8(ascii: "\"") { j += 1 }
                tokens.append(i..<min(j + 1, header.count))
                i = j + 1
            } else if c == UInt8(ascii: " ") {
                i += 1
            } else if "{}[],:".utf8.contains(c) {
                tokens.append(i..<(i + 1))
                i += 1
            } else {
                var j = i
                while j < header.count && !"{}[],:\" ".utf8.contains(header[j]) { j += 1 }
                tokens.append(i..<j)
                i = j
            }
        }
        guard !tokens.isEmpty else { return b }
        let t = tokens[int(0..<tokens.count)]
        let text = String(decoding: header[t], as: UTF8.self)
        switch int(0..<4) {
        case 3:
            // A same-size dtype swap (valid), or any replacement when the token is not a dtype.
            if let group = Self.sameSize.first(where: { $0.contains(text) }) {
                header.replaceSubrange(t, with: Array(group[int(0..<group.count)].utf8))
            } else {
                header.replaceSubrange(t, with: Array(Self.replacements[int(0..<Self.replacements.count)].utf8))
            }
        case 0: header.replaceSubrange(t, with: Array(Self.replacements[int(0..<Self.replacements.count)].utf8))
        case 1: header.removeSubrange(t)
        default: header.insert(contentsOf: Array(header[t]), at: t.upperBound)
        }
        let length = int(0..<10) < 8 ? UInt64(header.count) : UInt64(n)
        var out: [UInt8] = []
        withUnsafeBytes(of: length.littleEndian) { out.append(contentsOf: $0) }
        return out + header + data
    }
}

/// The case name of a `SafeTensorsError`, for tallying.
func caseName(_ e: SafeTensorsError) -> String {
    Mirror(reflecting: e).children.first?.label ?? "\(e)"
}

@Suite("safetensors fuzz")
struct SafeTensorsFuzzTests {
    /// Valid images the mutations start from.
    static func seeds() -> [[UInt8]] {
        var a = SafeTensorsWriter(metadata: ["op": "delta_rule", "scale": "0.125"])
        a.add("q", Tensor<Double>(shape: [2, 3], scalars: [1, -2, 3, 0.5, 0, 7]), as: .float64)
        a.add("h", Tensor<Double>(shape: [3], scalars: [1, 2, 3]), as: .float16)
        a.add("g", Tensor<Double>(shape: [2], scalars: [-1, 0.25]), as: .bfloat16)
        a.add("f", Tensor<Double>(shape: [1, 1], scalars: [9]), as: .float32)
        a.add("cu", integers: Tensor(shape: [3], scalars: [0, 2, 5]), as: .int64)
        a.add("n", integers: Tensor(shape: [], scalars: [-3]), as: .int32)
        a.add("s", integers: Tensor(shape: [2], scalars: [-300, 300]), as: .int16)
        a.add("m", integers: Tensor(shape: [2, 2], scalars: [1, 0, 0, 1]), as: .bool)
        a.add("e", integers: Tensor(shape: [0], scalars: []), as: .uint8)
        a.add("i8", integers: Tensor(shape: [4], scalars: [-128, 0, 1, 127]), as: .int8)
        var b = SafeTensorsWriter()
        b.add("x", Tensor<Float>(shape: [4], scalars: [1, 2, 3, 4]), as: .float32)
        let c = image(
            "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                + "\"b\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[2,4]}}",
            data: [1, 2, 3, 4])
        return [a.serialized(), b.serialized(), c]
    }

    @Test("10,000+ mutated files: each opens with every tensor readable, or throws SafeTensorsError")
    func mutations() throws {
        let seeds = Self.seeds()
        for s in seeds { _ = try SafeTensorsFile(bytes: s) }
        var mutator = SafeTensorsMutator(rng: SeededRandom(seed: 20_261_128))
        var accepted = 0
        var rejected: [String: Int] = [:]
        var kinds: [String: Int] = [:]
        let total = 12_000
        for i in 0..<total {
            let seed = seeds[i % seeds.count]
            // Sometimes stack two mutations.
            var (kind, bytes) = mutator.mutate(seed)
            if mutator.int(0..<4) == 0, !bytes.isEmpty { bytes = mutator.mutate(bytes).bytes }
            kinds[kind, default: 0] += 1
            let file: SafeTensorsFile
            do {
                file = try SafeTensorsFile(bytes: bytes, name: "fuzz")
            } catch {
                rejected[caseName(error), default: 0] += 1
                continue
            }
            accepted += 1
            // Accepted: the tensors tile the data section and every one reads in full.
            var covered = 0
            for name in file.names {
                let info = try file.info(name)
                #expect(info.count * info.dtype.byteCount == info.byteRange.count)
                covered += info.byteRange.count
                let values = try file.tensor(name, as: Double.self)
                #expect(values.count == info.count && values.shape == info.shape)
                if !info.dtype.isFloatingPoint { #expect(try file.integerTensor(name).count == info.count) }
                #expect(try file.withRawBytes(name) { $0.count } == info.byteRange.count)
            }
            #expect(8 + SafeTensorsMutator.headerLength(bytes) + covered == bytes.count)
        }
        let rejectedTotal = rejected.values.reduce(0, +)
        #expect(accepted + rejectedTotal == total)
        // The mutations reach both outcomes and many distinct validation rules.
        #expect(accepted > total / 10 && rejectedTotal > total / 2, "accepted \(accepted), rejected \(rejected)")
        #expect(rejected.count >= 10, "error kinds reached: \(rejected)")
        #expect(kinds.count == 7)
    }
}
