/// A finite group given by permutations of {0, …, n−1}, with its multiplication table: the
/// groups of the word problems (S_n, A_n, Z_n) of Merrill et al. ("The Illusion of State in
/// State-Space Models", 2024) and Siems et al. ("DeltaProduct", 2025).
///
/// Elements are indexed 0..<``order``: the permutations of S_n in lexicographic order of their
/// one-line notation (so the identity is 0), A_n the even ones among them in the same order,
/// Z_n the rotations i ↦ i + k mod n (element k). The product of a word g₁ g₂ … g_t applies g₁
/// first: `product(a, b)` is the permutation i ↦ b(a(i)).
public struct PermutationGroup: Sendable, Equatable {
    /// The number of points n the permutations act on.
    public let degree: Int
    /// The elements in one-line notation: `elements[k][i]` is the image of i under element k.
    public let elements: [[Int]]
    /// `table[a · order + b]` is the index of `product(a, b)`.
    public let table: [Int]

    /// The number of elements.
    public var order: Int { elements.count }

    /// The index of the identity (0 for every group built here).
    public var identity: Int { elements.firstIndex(of: Array(0..<degree))! }

    /// The group of the given permutations, which must be closed under composition.
    ///
    /// - Parameter elements: distinct permutations of 0..<n, the identity among them.
    /// - Precondition: the list is non-empty, every entry is a permutation of the same degree,
    ///   and the set is closed under composition.
    public init(elements: [[Int]]) {
        precondition(!elements.isEmpty, "PermutationGroup: no elements")
        let n = elements[0].count
        precondition(
            elements.allSatisfy { $0.count == n && Set($0) == Set(0..<n) },
            "PermutationGroup: every element must be a permutation of 0..<\(n)")
        var index: [[Int]: Int] = [:]
        for (k, p) in elements.enumerated() { index[p] = k }
        precondition(index.count == elements.count, "PermutationGroup: repeated elements")
        var table = [Int](repeating: 0, count: elements.count * elements.count)
        for (a, p) in elements.enumerated() {
            for (b, q) in elements.enumerated() {
                let r = p.map { q[$0] }
                guard let k = index[r] else { preconditionFailure("PermutationGroup: not closed under composition") }
                table[a * elements.count + b] = k
            }
        }
        self.degree = n
        self.elements = elements
        self.table = table
    }

    /// The index of the product of `a` then `b` (i ↦ b(a(i))).
    ///
    /// - Parameters:
    ///   - a: the element applied first.
    ///   - b: the element applied second.
    /// - Returns: the product's index.
    @inline(__always)
    public func product(_ a: Int, _ b: Int) -> Int { table[a * order + b] }

    /// The symmetric group S_n: all n! permutations, in lexicographic order.
    ///
    /// - Parameter n: the degree (1…8).
    /// - Returns: the group.
    public static func symmetric(_ n: Int) -> PermutationGroup {
        precondition(n >= 1 && n <= 8, "PermutationGroup.symmetric: n = \(n), expected 1...8")
        return PermutationGroup(elements: permutations(n))
    }

    /// The alternating group A_n: the even permutations of S_n, in lexicographic order.
    ///
    /// - Parameter n: the degree (1…8).
    /// - Returns: the group.
    public static func alternating(_ n: Int) -> PermutationGroup {
        precondition(n >= 1 && n <= 8, "PermutationGroup.alternating: n = \(n), expected 1...8")
        return PermutationGroup(elements: permutations(n).filter { isEven($0) })
    }

    /// The cyclic group Z_n as the rotations of n points (element k: i ↦ i + k mod n).
    ///
    /// - Parameter n: the order (1…1024).
    /// - Returns: the group.
    public static func cyclic(_ n: Int) -> PermutationGroup {
        precondition(n >= 1 && n <= 1024, "PermutationGroup.cyclic: n = \(n), expected 1...1024")
        // The table is (a + b) mod n: built directly, not by composing n² permutations.
        var table = [Int](repeating: 0, count: n * n)
        for a in 0..<n { for b in 0..<n { table[a * n + b] = (a + b) % n } }
        return PermutationGroup(
            degree: n, elements: (0..<n).map { k in (0..<n).map { ($0 + k) % n } }, table: table)
    }

    /// A group from its parts, already known to be consistent.
    private init(degree: Int, elements: [[Int]], table: [Int]) {
        self.degree = degree
        self.elements = elements
        self.table = table
    }

    /// The indices of the transpositions (permutations that swap exactly two points).
    public var transpositions: [Int] {
        elements.indices.filter { k in zip(elements[k], 0..<degree).filter { $0 != $1 }.count == 2 }
    }

    /// Whether a permutation is even (an even number of inversions).
    ///
    /// - Parameter p: a permutation in one-line notation.
    /// - Returns: true for an even permutation.
    public static func isEven(_ p: [Int]) -> Bool {
        var inversions = 0
        for i in p.indices { for j in (i + 1)..<p.count where p[i] > p[j] { inversions += 1 } }
        return inversions % 2 == 0
    }

    /// All permutations of 0..<n in lexicographic order.
    static func permutations(_ n: Int) -> [[Int]] {
        var out: [[Int]] = []
        var p = Array(0..<n)
        while true {
            out.append(p)
            // Next permutation in lexicographic order.
            guard var i = p.indices.dropLast().last(where: { p[$0] < p[$0 + 1] }) else { return out }
            let j = p.indices.last(where: { p[$0] > p[i] })!
            p.swapAt(i, j)
            i += 1
            p[i...].reverse()
        }
    }
}
