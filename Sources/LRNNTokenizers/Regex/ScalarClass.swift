/// A set of Unicode scalars, as a regex character class or escape (`[^\r\n\p{L}\p{N}]`, `\s`)
/// describes it: an ASCII bitmap for the common case and a list of items for the rest.
struct ScalarClass: Sendable, Equatable {
    /// One member description.
    enum Item: Sendable, Equatable {
        /// An inclusive scalar range.
        case range(UInt32, UInt32)
        /// Scalars whose general category is in the mask (bits of ``categoryBit(_:)``).
        case categories(UInt32)
        /// Unicode White_Space.
        case whitespace
        /// Decimal digits (`\d`: general category Nd).
        case digit
        /// Word characters (`\w`: letters, marks, Nd, connector punctuation).
        case word
        /// Any scalar but `\n` (`.`).
        case notNewline
    }

    /// Items and whether each is negated (`\S`, `\P{L}` inside a class).
    private(set) var items: [(item: Item, negated: Bool)] = []
    /// Whether the whole class is negated (`[^…]`).
    var negated = false
    /// Whether letters match in every case (inside `(?i:…)`).
    var caseInsensitive = false
    /// Membership of the 128 ASCII scalars, negation and case folding applied.
    private var ascii: (UInt64, UInt64) = (0, 0)

    static func == (a: ScalarClass, b: ScalarClass) -> Bool {
        a.negated == b.negated && a.caseInsensitive == b.caseInsensitive && a.items.count == b.items.count
            && zip(a.items, b.items).allSatisfy { $0.item == $1.item && $0.negated == $1.negated }
    }

    mutating func add(_ item: Item, negated: Bool = false) { items.append((item, negated)) }

    /// Fills the ASCII bitmap; call once after the last ``add(_:negated:)``.
    mutating func seal() {
        ascii = (0, 0)
        for c in UInt32(0)..<128 where slowContains(c) {
            if c < 64 { ascii.0 |= 1 << UInt64(c) } else { ascii.1 |= 1 << UInt64(c - 64) }
        }
    }

    /// Whether `c` is in the class.
    @inline(__always)
    func contains(_ c: UInt32) -> Bool {
        if c < 64 { return ascii.0 & (1 << UInt64(c)) != 0 }
        if c < 128 { return ascii.1 & (1 << UInt64(c - 64)) != 0 }
        return slowContains(c)
    }

    private func slowContains(_ c: UInt32) -> Bool {
        var hit = itemsContain(c)
        if !hit, caseInsensitive {
            for v in CaseFolding.variants(of: c) where v != c && itemsContain(v) {
                hit = true
                break
            }
        }
        return hit != negated
    }

    private func itemsContain(_ c: UInt32) -> Bool {
        for (item, neg) in items where Self.matches(item, c) != neg { return true }
        return false
    }

    static func matches(_ item: Item, _ c: UInt32) -> Bool {
        switch item {
        case let .range(lo, hi): return c >= lo && c <= hi
        case let .categories(mask): return mask & categoryBit(c) != 0
        case .whitespace: return isWhitespace(c)
        case .digit: return categoryBit(c) & categoryBit(.decimalNumber) != 0
        case .word:
            let b = categoryBit(c)
            return b & (letterMask | markMask | categoryBit(.decimalNumber) | categoryBit(.connectorPunctuation)) != 0
        case .notNewline: return c != 0x0A
        }
    }

    /// Unicode White_Space (what `\s` matches in the Oniguruma engine that `tokenizers` uses).
    @inline(__always)
    static func isWhitespace(_ c: UInt32) -> Bool {
        switch c {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// The bit of a scalar's general category (0 for a value that is not a scalar).
    @inline(__always)
    static func categoryBit(_ c: UInt32) -> UInt32 {
        if c < 128 { return asciiCategories[Int(c)] }
        guard let s = Unicode.Scalar(c) else { return 0 }
        return categoryBit(s.properties.generalCategory)
    }

    private static let asciiCategories: [UInt32] = (0..<128).map {
        categoryBit(Unicode.Scalar(UInt8($0)).properties.generalCategory)
    }

    static func categoryBit(_ g: Unicode.GeneralCategory) -> UInt32 {
        let index: UInt32 =
            switch g {
            case .uppercaseLetter: 0
            case .lowercaseLetter: 1
            case .titlecaseLetter: 2
            case .modifierLetter: 3
            case .otherLetter: 4
            case .nonspacingMark: 5
            case .spacingMark: 6
            case .enclosingMark: 7
            case .decimalNumber: 8
            case .letterNumber: 9
            case .otherNumber: 10
            case .connectorPunctuation: 11
            case .dashPunctuation: 12
            case .openPunctuation: 13
            case .closePunctuation: 14
            case .initialPunctuation: 15
            case .finalPunctuation: 16
            case .otherPunctuation: 17
            case .mathSymbol: 18
            case .currencySymbol: 19
            case .modifierSymbol: 20
            case .otherSymbol: 21
            case .spaceSeparator: 22
            case .lineSeparator: 23
            case .paragraphSeparator: 24
            case .control: 25
            case .format: 26
            case .surrogate: 27
            case .privateUse: 28
            case .unassigned: 29
            @unknown default: 29
            }
        return 1 << index
    }

    static let letterMask: UInt32 = 0b11111
    static let markMask: UInt32 = 0b111 << 5
    static let numberMask: UInt32 = 0b111 << 8

    /// The category mask of a `\p{…}` name (one- or two-letter abbreviations and the long
    /// names of the seven major classes), or nil for a name this engine does not know.
    static func categoryMask(named name: String) -> UInt32? {
        let table: [String: UInt32] = [
            "L": letterMask, "Letter": letterMask, "Lu": 1 << 0, "Ll": 1 << 1, "Lt": 1 << 2, "Lm": 1 << 3,
            "Lo": 1 << 4, "LC": 0b111, "M": markMask, "Mark": markMask, "Mn": 1 << 5, "Mc": 1 << 6, "Me": 1 << 7,
            "N": numberMask, "Number": numberMask, "Nd": 1 << 8, "Nl": 1 << 9, "No": 1 << 10,
            "P": 0b1111111 << 11, "Punctuation": 0b1111111 << 11, "Pc": 1 << 11, "Pd": 1 << 12, "Ps": 1 << 13,
            "Pe": 1 << 14, "Pi": 1 << 15, "Pf": 1 << 16, "Po": 1 << 17,
            "S": 0b1111 << 18, "Symbol": 0b1111 << 18, "Sm": 1 << 18, "Sc": 1 << 19, "Sk": 1 << 20, "So": 1 << 21,
            "Z": 0b111 << 22, "Separator": 0b111 << 22, "Zs": 1 << 22, "Zl": 1 << 23, "Zp": 1 << 24,
            "C": 0b11111 << 25, "Other": 0b11111 << 25, "Cc": 1 << 25, "Cf": 1 << 26, "Cs": 1 << 27,
            "Co": 1 << 28, "Cn": 1 << 29,
        ]
        return table[name]
    }
}

/// Simple case folding for `(?i:…)`: the scalars that fold together with a given one.
enum CaseFolding {
    /// `c` and the scalars whose simple case folding equals `c`'s (ASCII letters with their
    /// other case, plus U+017F ſ with s and U+212A K with k, as Unicode's CaseFolding.txt has it).
    static func variants(of c: UInt32) -> [UInt32] {
        switch c {
        case 0x61...0x7A:
            let upper = c - 32
            if c == 0x73 { return [c, upper, 0x17F] }
            if c == 0x6B { return [c, upper, 0x212A] }
            return [c, upper]
        case 0x41...0x5A:
            return variants(of: c + 32)
        case 0x17F: return variants(of: 0x73)
        case 0x212A: return variants(of: 0x6B)
        case 0..<128: return [c]
        default:
            guard let s = Unicode.Scalar(c) else { return [c] }
            var out: [UInt32] = [c]
            for m in [s.properties.lowercaseMapping, s.properties.uppercaseMapping, s.properties.titlecaseMapping] {
                let scalars = Array(m.unicodeScalars)
                if scalars.count == 1, !out.contains(scalars[0].value) { out.append(scalars[0].value) }
            }
            return out
        }
    }
}
