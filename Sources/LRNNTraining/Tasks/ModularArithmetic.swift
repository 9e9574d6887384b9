import LRNNLinearAlgebra

/// Arithmetic expressions modulo 5 over the digits 0–4 with +, − and ×, optionally with brackets:
/// the "modular arithmetic" tasks of Delétang et al. ("Neural Networks and the Chomsky
/// Hierarchy", ICLR 2023) that Grazzi et al. (ICLR 2025, "Unlocking State-Tracking in Linear RNNs
/// Through Negative Eigenvalues") train on.
///
/// Token ids: the digits 0–4 are ids 0–4 (so the value k is class k), then ``plus`` (5),
/// ``minus`` (6), ``times`` (7), ``equals`` (8), ``open`` (9) and ``close`` (10). × binds tighter
/// than + and −, which associate to the left; brackets group.
public enum ModularArithmetic {
    /// The modulus (5).
    public static let modulus = 5
    /// The id of +.
    public static let plus = 5
    /// The id of −.
    public static let minus = 6
    /// The id of ×.
    public static let times = 7
    /// The id of =, the answer position.
    public static let equals = 8
    /// The id of (.
    public static let open = 9
    /// The id of ).
    public static let close = 10

    /// The number of tokens of a generated expression for a requested length: every well-formed
    /// expression has an odd number of tokens, so an even request is rounded down (and anything
    /// below 1 is 1).
    ///
    /// - Parameter length: the requested number of tokens.
    /// - Returns: the largest odd number ≤ `length`, at least 1.
    public static func expressionLength(_ length: Int) -> Int { Swift.max(1, length % 2 == 0 ? length - 1 : length) }

    /// A random expression of exactly ``expressionLength(_:)`` tokens.
    ///
    /// Without brackets: digits and operators alternate, each drawn uniformly. With brackets: an
    /// expression of L tokens is a digit (L = 1), a bracketed expression of L − 2 tokens (with
    /// probability 1/4 when L ≥ 3), or an expression of l tokens, an operator and a term of
    /// L − 1 − l tokens (l odd, uniform), where a term is a digit or a bracketed expression.
    ///
    /// - Parameters:
    ///   - length: the requested number of tokens (≥ 1).
    ///   - brackets: whether brackets may appear.
    ///   - generator: the random source.
    /// - Returns: the token ids.
    public static func randomExpression(length: Int, brackets: Bool, using generator: inout SeededGenerator) -> [Int] {
        let n = expressionLength(length)
        var out: [Int] = []
        out.reserveCapacity(n)
        func digit() -> Int { Int(generator.next() % UInt64(modulus)) }
        func op() -> Int { plus + Int(generator.next() % 3) }
        if !brackets {
            for i in 0..<n { out.append(i % 2 == 0 ? digit() : op()) }
            return out
        }
        func term(_ l: Int) {
            if l == 1 {
                out.append(digit())
            } else {
                out.append(open)
                expression(l - 2)
                out.append(close)
            }
        }
        func expression(_ l: Int) {
            if l == 1 {
                out.append(digit())
                return
            }
            if generator.next() % 4 == 0 {
                term(l)
                return
            }
            // l = left + 1 + right, left and right odd, right ≠ 1 only through brackets.
            let left = 1 + 2 * Int(generator.next() % UInt64((l - 1) / 2))
            let right = l - 1 - left
            expression(left)
            out.append(op())
            term(right)
        }
        expression(n)
        return out
    }

    /// The value of an expression modulo 5 (× before + and −, left to right, brackets first), by
    /// recursive descent.
    ///
    /// - Parameter tokens: a well-formed expression's token ids (no ``equals``).
    /// - Returns: the value in 0..<5.
    /// - Precondition: the expression is well formed.
    public static func evaluate(_ tokens: [Int]) -> Int {
        var i = 0
        func primary() -> Int {
            let t = tokens[i]
            i += 1
            if t == open {
                let v = sum()
                precondition(i < tokens.count && tokens[i] == close, "ModularArithmetic.evaluate: unbalanced bracket")
                i += 1
                return v
            }
            precondition(t >= 0 && t < modulus, "ModularArithmetic.evaluate: token \(t) where a digit was expected")
            return t
        }
        func product() -> Int {
            var v = primary()
            while i < tokens.count && tokens[i] == times {
                i += 1
                v = (v * primary()) % modulus
            }
            return v
        }
        func sum() -> Int {
            var v = product()
            while i < tokens.count && (tokens[i] == plus || tokens[i] == minus) {
                let op = tokens[i]
                i += 1
                let w = product()
                v = op == plus ? (v + w) % modulus : (v - w + modulus) % modulus
            }
            return v
        }
        let v = sum()
        precondition(i == tokens.count, "ModularArithmetic.evaluate: trailing tokens from position \(i)")
        return v
    }
}
