/// A regular expression over Unicode scalars for the `Split` pre-tokenizers of byte-level
/// tokenizers (GPT-2, Llama-3, Qwen2 patterns), matched as the Oniguruma engine behind
/// `tokenizers` matches: backtracking, alternatives tried left to right, greedy quantifiers.
///
/// The subset: literals and escapes (`\r \n \t \f \v \xHH \x{…} \uHHHH`, escaped punctuation),
/// `.`, classes `[…]` / `[^…]` with ranges, `\s \S \d \D \w \W`, `\p{…}` / `\P{…}` general
/// categories; groups `(…)`, `(?:…)`, `(?i:…)`; lookahead `(?=…)`, `(?!…)`; quantifiers `? * +`,
/// `{n}`, `{n,}`, `{n,m}` (lazy with a trailing `?`). Anything else — anchors, backreferences,
/// possessive quantifiers, inline flags other than `i` — is refused when the pattern is
/// compiled. A quantifier may not apply to an expression that holds another quantifier or can
/// match the empty string, which keeps the backtracking time polynomial for every input.
struct ScalarRegex: Sendable {
    /// One instruction of the backtracking machine.
    enum Instruction: Sendable {
        case scalar(UInt32)
        case set(Int)
        case split(Int, Int)
        case jump(Int)
        case lookahead(Int, negated: Bool)
        case match
    }

    let program: [Instruction]
    let classes: [ScalarClass]
    /// The ASCII membership bitmaps of ``classes``, two words per class, read without copying a class.
    private let asciiBits: [UInt64]
    /// For every instruction, what a match from it can consume first: the ASCII scalars (two
    /// words per instruction), and flags ``startsNonASCII`` and ``startsEmpty``. A branch whose
    /// first scalar cannot be the next one of the text is not tried (it would fail).
    private let firstBits: [UInt64]
    private let firstFlags: [UInt8]
    private static let startsNonASCII: UInt8 = 1
    private static let startsEmpty: UInt8 = 2

    /// Why a pattern was refused.
    struct PatternError: Error {
        let reason: String
    }

    /// Compiles `pattern`.
    /// - Throws: ``PatternError`` for a construct outside the subset or a malformed pattern.
    init(_ pattern: String) throws(PatternError) {
        var parser = RegexParser(Array(pattern.unicodeScalars.map(\.value)))
        let node = try parser.parseAll()
        var compiler = RegexCompiler()
        try compiler.compileMain(node)
        program = compiler.program
        classes = compiler.classes
        var bits = [UInt64](repeating: 0, count: 2 * classes.count)
        for (k, c) in classes.enumerated() {
            for v in UInt32(0)..<128 where c.contains(v) { bits[2 * k + Int(v >> 6)] |= 1 << UInt64(v & 63) }
        }
        asciiBits = bits
        (firstBits, firstFlags) = Self.firstSets(program, classBits: bits)
    }

    /// The first sets of every instruction, by iteration to a fixed point (loops refer back).
    private static func firstSets(_ program: [Instruction], classBits: [UInt64]) -> ([UInt64], [UInt8]) {
        var bits = [UInt64](repeating: 0, count: 2 * program.count)
        var flags = [UInt8](repeating: 0, count: program.count)
        var changed = true
        while changed {
            changed = false
            for pc in program.indices.reversed() {
                var b0: UInt64 = 0
                var b1: UInt64 = 0
                var f: UInt8 = 0
                func take(_ t: Int) {
                    b0 |= bits[2 * t]
                    b1 |= bits[2 * t + 1]
                    f |= flags[t]
                }
                switch program[pc] {
                case let .scalar(c):
                    if c < 64 {
                        b0 = 1 << UInt64(c)
                    } else if c < 128 {
                        b1 = 1 << UInt64(c - 64)
                    } else {
                        f = startsNonASCII
                    }
                case let .set(k):
                    (b0, b1, f) = (classBits[2 * k], classBits[2 * k + 1], startsNonASCII)
                case let .split(a, b):
                    take(a)
                    take(b)
                case let .jump(t): take(t)
                case .lookahead: take(pc + 1)
                case .match: f = startsEmpty
                }
                if b0 != bits[2 * pc] || b1 != bits[2 * pc + 1] || f != flags[pc] {
                    (bits[2 * pc], bits[2 * pc + 1], flags[pc]) = (b0, b1, f)
                    changed = true
                }
            }
        }
        return (bits, flags)
    }

    /// Whether a match from instruction `pc` can begin with `c` (or consume nothing).
    @inline(__always)
    private static func canStart(
        _ pc: Int, _ c: UInt32, _ bits: UnsafeBufferPointer<UInt64>, _ flags: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        let f = flags[pc]
        if f & startsEmpty != 0 { return true }
        if c >= 128 { return f & startsNonASCII != 0 }
        return bits[2 * pc + Int(c >> 6)] & (1 << UInt64(c & 63)) != 0
    }

    /// The end of the match that starts at `start`, or nil when none does.
    /// - Parameters:
    ///   - text: the scalars.
    ///   - start: where the match must begin.
    ///   - stack: scratch space reused between calls.
    func match(_ text: UnsafeBufferPointer<UInt32>, at start: Int, stack: inout [(Int, Int)]) -> Int? {
        if start < text.count {
            let viable = firstBits.withUnsafeBufferPointer { bits in
                firstFlags.withUnsafeBufferPointer { Self.canStart(0, text[start], bits, $0) }
            }
            if !viable { return nil }
        }
        return run(text, pc: 0, pos: start, stack: &stack)
    }

    private func run(_ text: UnsafeBufferPointer<UInt32>, pc startPC: Int, pos startPos: Int, stack: inout [(Int, Int)])
        -> Int?
    {
        let base = stack.count
        defer { stack.removeSubrange(base...) }
        var pc = startPC
        var pos = startPos
        let n = text.count
        return program.withUnsafeBufferPointer { prog -> Int? in
            firstBits.withUnsafeBufferPointer { first -> Int? in
                firstFlags.withUnsafeBufferPointer { flags -> Int? in
                    asciiBits.withUnsafeBufferPointer { bits -> Int? in
                        while true {
                            var ok: Bool
                            switch prog[pc] {
                            case let .scalar(c):
                                ok = pos < n && text[pos] == c
                                if ok {
                                    pos += 1
                                    pc += 1
                                }
                            case let .set(k):
                                if pos < n {
                                    let c = text[pos]
                                    ok =
                                        c < 128
                                        ? bits[2 * k + Int(c >> 6)] & (1 << UInt64(c & 63)) != 0
                                        : classes[k].contains(c)
                                } else {
                                    ok = false
                                }
                                if ok {
                                    pos += 1
                                    pc += 1
                                }
                            case let .split(a, b):
                                // Branches that cannot begin with the next scalar would fail: skip them.
                                var tryA = true
                                var tryB = true
                                if pos < n {
                                    tryA = Self.canStart(a, text[pos], first, flags)
                                    tryB = Self.canStart(b, text[pos], first, flags)
                                }
                                if tryA {
                                    if tryB { stack.append((b, pos)) }
                                    pc = a
                                    ok = true
                                } else {
                                    pc = b
                                    ok = tryB
                                }
                            case let .jump(t):
                                pc = t
                                ok = true
                            case let .lookahead(sub, negated):
                                let found = run(text, pc: sub, pos: pos, stack: &stack) != nil
                                ok = found != negated
                                if ok { pc += 1 }
                            case .match:
                                return pos
                            }
                            if !ok {
                                guard stack.count > base else { return nil }
                                (pc, pos) = stack.removeLast()
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The parsed form of a pattern.
indirect enum RegexNode {
    case empty
    case scalar(UInt32, caseInsensitive: Bool)
    case set(ScalarClass)
    case concat([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?, greedy: Bool)
    case lookahead(RegexNode, negated: Bool)

    var canMatchEmpty: Bool {
        switch self {
        case .empty, .lookahead: true
        case .scalar, .set: false
        case let .concat(items): items.allSatisfy(\.canMatchEmpty)
        case let .alternation(items): items.contains(where: \.canMatchEmpty)
        case let .repetition(n, min, _, _): min == 0 || n.canMatchEmpty
        }
    }

    var holdsQuantifier: Bool {
        switch self {
        case .empty, .scalar, .set: false
        case .repetition: true
        case let .concat(items), let .alternation(items): items.contains(where: \.holdsQuantifier)
        case let .lookahead(n, _): n.holdsQuantifier
        }
    }
}

struct RegexParser {
    private let p: [UInt32]
    private var i = 0
    private var caseInsensitive = false
    /// Expansion of counted repetitions is bounded (the program grows with the counts).
    static let maxCount = 1000

    init(_ scalars: [UInt32]) { p = scalars }

    private func fail(_ reason: String) -> ScalarRegex.PatternError {
        ScalarRegex.PatternError(reason: "\(reason) at character \(i)")
    }

    private func peek(_ k: Int = 0) -> UInt32? { i + k < p.count ? p[i + k] : nil }
    private func isChar(_ c: Character, _ k: Int = 0) -> Bool { peek(k) == c.unicodeScalars.first!.value }

    mutating func parseAll() throws(ScalarRegex.PatternError) -> RegexNode {
        let n = try alternation(depth: 0)
        guard i == p.count else { throw fail("unbalanced ')'") }
        return n
    }

    private mutating func alternation(depth: Int) throws(ScalarRegex.PatternError) -> RegexNode {
        guard depth < 64 else { throw fail("groups nested deeper than 64") }
        var branches = [try concat(depth: depth)]
        while isChar("|") {
            i += 1
            branches.append(try concat(depth: depth))
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func concat(depth: Int) throws(ScalarRegex.PatternError) -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek(), c != 0x7C, c != 0x29 {  // '|', ')'
            let atom = try self.atom(depth: depth)
            items.append(try quantified(atom))
        }
        return items.isEmpty ? .empty : items.count == 1 ? items[0] : .concat(items)
    }

    private mutating func number() -> Int? {
        var v = 0
        var any = false
        while let c = peek(), c >= 0x30, c <= 0x39 {
            v = min(v * 10 + Int(c - 0x30), Int(Int32.max))
            i += 1
            any = true
        }
        return any ? v : nil
    }

    private mutating func quantified(_ atom: RegexNode) throws(ScalarRegex.PatternError) -> RegexNode {
        guard let c = peek() else { return atom }
        var min = 0
        var max: Int? = nil
        switch c {
        case 0x3F: (min, max) = (0, 1); i += 1  // ?
        case 0x2A: (min, max) = (0, nil); i += 1  // *
        case 0x2B: (min, max) = (1, nil); i += 1  // +
        case 0x7B:  // {
            let save = i
            i += 1
            guard let lo = number() else {
                i = save
                return atom
            }
            min = lo
            if isChar(",") {
                i += 1
                max = number()
            } else {
                max = lo
            }
            guard isChar("}") else { throw fail("malformed counted repetition") }
            i += 1
            guard min <= Self.maxCount, (max ?? 0) <= Self.maxCount, max.map({ $0 >= min }) ?? true else {
                throw fail("counted repetition {\(min),\(max.map(String.init) ?? "")} outside 0...\(Self.maxCount)")
            }
        default:
            return atom
        }
        var greedy = true
        if isChar("?") {
            greedy = false
            i += 1
        } else if isChar("+") {
            throw fail("possessive quantifiers are not supported")
        }
        if isChar("?") || isChar("*") || isChar("+") { throw fail("a quantifier cannot follow a quantifier") }
        guard !atom.holdsQuantifier else {
            throw fail("a quantifier over an expression with a quantifier is not supported")
        }
        guard !atom.canMatchEmpty else { throw fail("a quantifier over an expression that can match nothing") }
        return .repetition(atom, min: min, max: max, greedy: greedy)
    }

    private mutating func atom(depth: Int) throws(ScalarRegex.PatternError) -> RegexNode {
        let c = p[i]
        switch c {
        case 0x28:  // (
            i += 1
            if isChar("?") {
                i += 1
                if isChar(":") {
                    i += 1
                    return try group(depth: depth, caseInsensitive: caseInsensitive)
                }
                if isChar("i"), isChar(":", 1) {
                    i += 2
                    return try group(depth: depth, caseInsensitive: true)
                }
                if isChar("=") || isChar("!") {
                    let negated = isChar("!")
                    i += 1
                    let inner = try group(depth: depth, caseInsensitive: caseInsensitive)
                    guard !inner.holdsLookahead else { throw fail("nested lookahead is not supported") }
                    return .lookahead(inner, negated: negated)
                }
                throw fail(
                    "group syntax '(?\(peek().flatMap(Unicode.Scalar.init).map { String($0) } ?? "")' is not supported")
            }
            return try group(depth: depth, caseInsensitive: caseInsensitive)
        case 0x29: throw fail("unbalanced ')'")
        case 0x5B:  // [
            i += 1
            return .set(try bracket())
        case 0x2E:  // .
            i += 1
            var s = ScalarClass()
            s.add(.notNewline)
            s.seal()
            return .set(s)
        case 0x5E, 0x24: throw fail("anchors (^, $) are not supported")
        case 0x2A, 0x2B, 0x3F: throw fail("a quantifier with nothing to repeat")
        case 0x5C:  // backslash
            i += 1
            switch try escape(inClass: false) {
            case let .scalar(v): return literal(v)
            case let .item(item, negated):
                var s = ScalarClass()
                s.add(item, negated: negated)
                s.seal()
                return .set(s)
            }
        default:
            i += 1
            return literal(c)
        }
    }

    private func literal(_ c: UInt32) -> RegexNode {
        guard caseInsensitive, CaseFolding.variants(of: c).count > 1 else { return .scalar(c, caseInsensitive: false) }
        var s = ScalarClass()
        s.caseInsensitive = true
        s.add(.range(c, c))
        s.seal()
        return .set(s)
    }

    private mutating func group(depth: Int, caseInsensitive ci: Bool) throws(ScalarRegex.PatternError) -> RegexNode {
        let saved = caseInsensitive
        caseInsensitive = ci
        let inner = try alternation(depth: depth + 1)
        caseInsensitive = saved
        guard isChar(")") else { throw fail("missing ')'") }
        i += 1
        return inner
    }

    private enum Escaped {
        case scalar(UInt32)
        case item(ScalarClass.Item, negated: Bool)
    }

    private mutating func hex(digits: Int) throws(ScalarRegex.PatternError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<digits {
            guard let c = peek(), let d = Self.hexValue(c) else { throw fail("malformed hex escape") }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    private static func hexValue(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    private mutating func escape(inClass: Bool) throws(ScalarRegex.PatternError) -> Escaped {
        guard let c = peek() else { throw fail("pattern ends with '\\'") }
        i += 1
        switch Character(Unicode.Scalar(c)!) {
        case "n": return .scalar(0x0A)
        case "r": return .scalar(0x0D)
        case "t": return .scalar(0x09)
        case "f": return .scalar(0x0C)
        case "v": return .scalar(0x0B)
        case "a": return .scalar(0x07)
        case "e": return .scalar(0x1B)
        case "s": return .item(.whitespace, negated: false)
        case "S": return .item(.whitespace, negated: true)
        case "d": return .item(.digit, negated: false)
        case "D": return .item(.digit, negated: true)
        case "w": return .item(.word, negated: false)
        case "W": return .item(.word, negated: true)
        case "p", "P":
            let negated = c == 0x50
            var name = ""
            if isChar("{") {
                i += 1
                var neg2 = false
                if isChar("^") {
                    neg2 = true
                    i += 1
                }
                while let d = peek(), d != 0x7D {
                    name.unicodeScalars.append(Unicode.Scalar(d)!)
                    i += 1
                }
                guard isChar("}") else { throw fail("unterminated \\p{") }
                i += 1
                guard let mask = ScalarClass.categoryMask(named: name) else {
                    throw fail("unknown property \\p{\(name)}")
                }
                return .item(.categories(mask), negated: negated != neg2)
            }
            guard let d = peek() else { throw fail("pattern ends after \\p") }
            i += 1
            name = String(Unicode.Scalar(d)!)
            guard let mask = ScalarClass.categoryMask(named: name) else { throw fail("unknown property \\p\(name)") }
            return .item(.categories(mask), negated: negated)
        case "x":
            if isChar("{") {
                i += 1
                var v: UInt32 = 0
                var count = 0
                while let d = peek(), let h = Self.hexValue(d), count < 8 {
                    v = v * 16 + h
                    i += 1
                    count += 1
                }
                guard count > 0, isChar("}"), Unicode.Scalar(v) != nil else { throw fail("malformed \\x{…}") }
                i += 1
                return .scalar(v)
            }
            return .scalar(try hex(digits: 2))
        case "u":
            let v = try hex(digits: 4)
            guard Unicode.Scalar(v) != nil else { throw fail("\\u escape of a surrogate") }
            return .scalar(v)
        default:
            // An escaped character that is not a letter or digit stands for itself.
            if let s = Unicode.Scalar(c), !s.properties.isAlphabetic, !(0x30...0x39).contains(c) {
                return .scalar(c)
            }
            throw fail("escape '\\\(Character(Unicode.Scalar(c)!))' is not supported")
        }
    }

    private mutating func bracket() throws(ScalarRegex.PatternError) -> ScalarClass {
        var s = ScalarClass()
        s.caseInsensitive = caseInsensitive
        if isChar("^") {
            s.negated = true
            i += 1
        }
        var first = true
        while true {
            guard let c = peek() else { throw fail("unterminated character class") }
            if c == 0x5D, !first {  // ]
                i += 1
                break
            }
            first = false
            if c == 0x5B { throw fail("nested character classes and class operations are not supported") }
            var lo: UInt32
            if c == 0x5C {
                i += 1
                switch try escape(inClass: true) {
                case let .item(item, negated):
                    s.add(item, negated: negated)
                    continue
                case let .scalar(v): lo = v
                }
            } else {
                lo = c
                i += 1
            }
            if isChar("-"), let next = peek(1), next != 0x5D {
                i += 1
                var hi: UInt32
                if next == 0x5C {
                    i += 1
                    guard case let .scalar(v) = try escape(inClass: true) else {
                        throw fail("a class escape ends a range")
                    }
                    hi = v
                } else {
                    hi = next
                    i += 1
                }
                guard lo <= hi else { throw fail("range out of order") }
                s.add(.range(lo, hi))
            } else {
                s.add(.range(lo, lo))
            }
        }
        s.seal()
        return s
    }
}

extension RegexNode {
    fileprivate var holdsLookahead: Bool {
        switch self {
        case .empty, .scalar, .set: false
        case .lookahead: true
        case let .concat(items), let .alternation(items): items.contains(where: \.holdsLookahead)
        case let .repetition(n, _, _, _): n.holdsLookahead
        }
    }
}

struct RegexCompiler {
    var program: [ScalarRegex.Instruction] = []
    var classes: [ScalarClass] = []
    private var pendingLookaheads: [(at: Int, node: RegexNode, negated: Bool)] = []
    /// The compiled program is bounded (counted repetitions multiply it).
    static let maxInstructions = 200_000

    mutating func compileMain(_ node: RegexNode) throws(ScalarRegex.PatternError) {
        try emit(node)
        program.append(.match)
        // Lookahead bodies are compiled after the main program, each ending in its own match.
        while !pendingLookaheads.isEmpty {
            let (at, node, negated) = pendingLookaheads.removeFirst()
            program[at] = .lookahead(program.count, negated: negated)
            try emit(node)
            program.append(.match)
        }
    }

    private mutating func append(_ inst: ScalarRegex.Instruction) throws(ScalarRegex.PatternError) {
        guard program.count < Self.maxInstructions else {
            throw ScalarRegex.PatternError(reason: "pattern compiles to more than \(Self.maxInstructions) instructions")
        }
        program.append(inst)
    }

    private mutating func emit(_ node: RegexNode) throws(ScalarRegex.PatternError) {
        switch node {
        case .empty: break
        case let .scalar(c, _): try append(.scalar(c))
        case let .set(s):
            if let k = classes.firstIndex(of: s) {
                try append(.set(k))
            } else {
                classes.append(s)
                try append(.set(classes.count - 1))
            }
        case let .concat(items):
            for n in items { try emit(n) }
        case let .alternation(branches):
            var jumps: [Int] = []
            for (k, b) in branches.enumerated() {
                if k < branches.count - 1 {
                    let split = program.count
                    try append(.split(split + 1, -1))
                    try emit(b)
                    jumps.append(program.count)
                    try append(.jump(-1))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try emit(b)
                }
            }
            for j in jumps { program[j] = .jump(program.count) }
        case let .repetition(body, min, max, greedy):
            for _ in 0..<min { try emit(body) }
            if let max {
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(program.count)
                    try append(.split(-1, -1))
                    try emit(body)
                }
                for s in splits {
                    program[s] = greedy ? .split(s + 1, program.count) : .split(program.count, s + 1)
                }
            } else {
                let loop = program.count
                try append(.split(-1, -1))
                try emit(body)
                try append(.jump(loop))
                program[loop] = greedy ? .split(loop + 1, program.count) : .split(program.count, loop + 1)
            }
        case let .lookahead(inner, negated):
            pendingLookaheads.append((program.count, inner, negated))
            try append(.lookahead(-1, negated: negated))
        }
    }
}
