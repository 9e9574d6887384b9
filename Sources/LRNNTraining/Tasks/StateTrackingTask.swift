import LRNNLinearAlgebra

/// A state-tracking task: a formal-language problem whose answer is the state of a finite
/// automaton after reading the input, the benchmark of Grazzi et al. (ICLR 2025, "Unlocking
/// State-Tracking in Linear RNNs Through Negative Eigenvalues") and Siems et al. (2025,
/// "DeltaProduct").
///
/// Every task is a vocabulary of ``vocabulary`` tokens and c = ``classCount`` classes, and class k
/// is token id k, so a causal language model's head over the vocabulary scores the classes in
/// its first c logits; the prediction is the argmax over those c logits only (``TaskMetrics``).
///
/// - ``parity``: bits (ids 0, 1), then `=` (id 2); the label of `=` is the parity of the number
///   of ones (class 0 even, 1 odd); every other position is −100. `<pad>` (id 3) completes the
///   papers' vocabulary; packed batches never need it. Length = the number of bits.
/// - ``modArithmetic(brackets:)``: an expression mod 5 (``ModularArithmetic``), then `=`; the
///   label of `=` is its value (class = digit), the others −100. `<pad>` is the last id. Length =
///   the number of expression tokens, an odd number (``ModularArithmetic/expressionLength(_:)``).
/// - the group word problems ``cyclic(_:)``, ``s3``, ``s4``, ``a5``, ``s5``, ``s5Swaps``: a word
///   of group elements (token k = element k of ``group``), labelled at every position t with the
///   running product g₁ ⋯ g_t (g₁ applied first). ``s5Swaps`` draws its inputs among the 10
///   transpositions of S5 only, and its classes are all 120 elements. No pad token. Length = the
///   number of elements.
public enum StateTrackingTask: Sendable, Hashable, CustomStringConvertible {
    /// The parity of a bit string.
    case parity
    /// An expression modulo 5, without or with brackets.
    case modArithmetic(brackets: Bool)
    /// The cyclic group Z_n (2…1024).
    case cyclic(Int)
    /// The symmetric group S3 (6 elements).
    case s3
    /// The symmetric group S4 (24 elements).
    case s4
    /// The alternating group A5 (60 elements).
    case a5
    /// The symmetric group S5 (120 elements).
    case s5
    /// S5 with transpositions as inputs (10 input tokens, 120 classes).
    case s5Swaps

    /// The order of Z_n for the name `cyclic` without a suffix: Z_60, the abelian group of the
    /// same order as A5 that Merrill et al. contrast with it.
    public static let defaultCyclicOrder = 60

    /// The command-line names: `parity`, `mod-arith`, `mod-arith-brackets`, `cyclic` (Z_60) or
    /// `cyclic-N`, `s3`, `s4`, `a5`, `s5`, `s5-swaps`.
    public static let names = [
        "parity", "mod-arith", "mod-arith-brackets", "cyclic", "cyclic-N", "s3", "s4", "a5", "s5", "s5-swaps",
    ]

    /// Parses a command-line name (``names``).
    ///
    /// - Parameter name: the task's name.
    /// - Returns: the task, or nil for an unknown name or a cyclic order outside 2…1024.
    public init?(name: String) {
        switch name {
        case "parity": self = .parity
        case "mod-arith": self = .modArithmetic(brackets: false)
        case "mod-arith-brackets": self = .modArithmetic(brackets: true)
        case "cyclic": self = .cyclic(Self.defaultCyclicOrder)
        case "s3": self = .s3
        case "s4": self = .s4
        case "a5": self = .a5
        case "s5": self = .s5
        case "s5-swaps": self = .s5Swaps
        default:
            guard name.hasPrefix("cyclic-"), let n = Int(name.dropFirst("cyclic-".count)), n >= 2, n <= 1024 else {
                return nil
            }
            self = .cyclic(n)
        }
    }

    /// The command-line name (``names``).
    public var name: String {
        switch self {
        case .parity: "parity"
        case let .modArithmetic(b): b ? "mod-arith-brackets" : "mod-arith"
        case let .cyclic(n): n == Self.defaultCyclicOrder ? "cyclic" : "cyclic-\(n)"
        case .s3: "s3"
        case .s4: "s4"
        case .a5: "a5"
        case .s5: "s5"
        case .s5Swaps: "s5-swaps"
        }
    }

    /// The command-line name.
    public var description: String { name }

    /// Whether every position is supervised (the group word problems) rather than only the
    /// answer position (parity and modular arithmetic).
    public var supervisesEveryPosition: Bool {
        switch self {
        case .parity, .modArithmetic: false
        default: true
        }
    }

    /// The group of a word problem (nil for parity and modular arithmetic).
    public var group: PermutationGroup? {
        switch self {
        case .parity, .modArithmetic: nil
        case let .cyclic(n): .cyclic(n)
        case .s3: .symmetric(3)
        case .s4: .symmetric(4)
        case .a5: .alternating(5)
        case .s5, .s5Swaps: .symmetric(5)
        }
    }

    /// The order of the word problem's group without building it (0 for parity and arithmetic).
    var groupOrder: Int {
        switch self {
        case .parity, .modArithmetic: 0
        case let .cyclic(n): n
        case .s3: 6
        case .s4: 24
        case .a5: 60
        case .s5, .s5Swaps: 120
        }
    }

    /// The token names, by id: the class tokens first (class k = id k), then the other symbols.
    public var vocabulary: [String] {
        switch self {
        case .parity: ["0", "1", "=", "<pad>"]
        case let .modArithmetic(b): ["0", "1", "2", "3", "4", "+", "-", "*", "="] + (b ? ["(", ")"] : []) + ["<pad>"]
        case let .cyclic(n):
            (0..<n).map(String.init)
        default:
            group!.elements.map { "[" + $0.map(String.init).joined(separator: " ") + "]" }
        }
    }

    /// The number of token ids.
    public var vocabSize: Int {
        switch self {
        case .parity: 4
        case let .modArithmetic(b): b ? 12 : 10
        default: groupOrder
        }
    }

    /// The number of classes c: 2 for parity, 5 for modular arithmetic, the group's order for a
    /// word problem.
    public var classCount: Int {
        switch self {
        case .parity: 2
        case .modArithmetic: ModularArithmetic.modulus
        default: groupOrder
        }
    }

    /// The id of the pad token, where the papers' vocabulary has one (parity, modular arithmetic).
    public var padToken: Int? {
        switch self {
        case .parity, .modArithmetic: vocabSize - 1
        default: nil
        }
    }

    /// The id of `=`, the answer position of parity and modular arithmetic.
    public var answerToken: Int? {
        switch self {
        case .parity: 2
        case .modArithmetic: ModularArithmetic.equals
        default: nil
        }
    }

    /// The ids a word problem draws its inputs from (all elements, or S5's transpositions).
    public var inputTokens: [Int] {
        switch self {
        case .parity: [0, 1]
        case .modArithmetic: Array(0..<(vocabSize - 1))
        case .s5Swaps: group!.transpositions
        default: Array(0..<group!.order)
        }
    }

    /// The length an example drawn for a requested length has: at least 1, and for modular
    /// arithmetic rounded down to odd.
    ///
    /// - Parameter length: a requested length.
    /// - Returns: the length the example will have.
    public func effectiveLength(_ length: Int) -> Int {
        switch self {
        case .modArithmetic: ModularArithmetic.expressionLength(length)
        default: Swift.max(1, length)
        }
    }
}
