/// A pLSTM 1-D token mixer for stacks assembled in code (Pöppel et al., 2025; their
/// `pLSTM1DLayer` without its optional convolution, multi-head norm and passthrough): per-head
/// queries, keys and values, data-dependent source, transition, mark and direct gates, the
/// ``/LRNNKernels/PLSTM1D`` recurrence and an output projection.
///
/// Gates, as their layer makes them (with the gate weights switched on): S, M, D are
/// `sigmoid(W x + b)` (their "logsigmoid" activation, `exp(logsigmoid)`), and T is
/// `tanh(transitionFactor·(W x + b))`. Only JT = 1 is built: their JT > 1 transition (a matrix of
/// tanh eigenvalues between near-orthogonal matrices from a power series of the exponential of a
/// skew-symmetric matrix) is not implemented, and a configuration asking for it is refused.
public struct PLSTM1DConfiguration: Codable, Sendable, Equatable {
    /// The number of heads H.
    public var numHeads: Int = 4
    /// The key and query size per head, DK.
    public var keyDim: Int = 16
    /// The value size per head, DV.
    public var valueDim: Int = 16
    /// The query state-tracking size JQ.
    public var queryStates: Int = 1
    /// The key state-tracking size JK.
    public var keyStates: Int = 1
    /// The value state-tracking size JV.
    public var valueStates: Int = 1
    /// The output state-tracking size JO.
    public var outputStates: Int = 1
    /// The transition size JT (1 is the only value built).
    public var transitionStates: Int = 1
    /// The factor inside the transition's tanh (their eigenvalue factor; 5 in the reference cases).
    public var transitionFactor: Double = 5

    enum CodingKeys: String, CodingKey {
        case numHeads = "num_heads"
        case keyDim = "DK"
        case valueDim = "DV"
        case queryStates = "JQ"
        case keyStates = "JK"
        case valueStates = "JV"
        case outputStates = "JO"
        case transitionStates = "JT"
        case transitionFactor = "transition_factor"
    }

    /// Creates a configuration; every field has its default.
    ///
    /// - Parameters:
    ///   - numHeads: the number of heads H.
    ///   - keyDim: DK per head.
    ///   - valueDim: DV per head.
    ///   - queryStates: JQ.
    ///   - keyStates: JK.
    ///   - valueStates: JV.
    ///   - outputStates: JO.
    ///   - transitionStates: JT (must be 1).
    ///   - transitionFactor: the factor inside the transition's tanh.
    public init(
        numHeads: Int = 4, keyDim: Int = 16, valueDim: Int = 16, queryStates: Int = 1, keyStates: Int = 1,
        valueStates: Int = 1, outputStates: Int = 1, transitionStates: Int = 1, transitionFactor: Double = 5
    ) {
        self.numHeads = numHeads
        self.keyDim = keyDim
        self.valueDim = valueDim
        self.queryStates = queryStates
        self.keyStates = keyStates
        self.valueStates = valueStates
        self.outputStates = outputStates
        self.transitionStates = transitionStates
        self.transitionFactor = transitionFactor
    }

    /// Refuses impossible or unimplemented values.
    ///
    /// - Parameter hiddenSize: the model width (any positive width works).
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        for (field, value) in [
            ("num_heads", numHeads), ("DK", keyDim), ("DV", valueDim), ("JQ", queryStates), ("JK", keyStates),
            ("JV", valueStates), ("JO", outputStates),
        ] where value < 1 {
            throw .invalid(field, value, "must be ≥ 1")
        }
        if transitionStates != 1 {
            throw .unsupported(
                "JT", transitionStates,
                "only JT = 1 is built (the near-orthogonal matrix transition is not implemented)")
        }
        if !(transitionFactor.isFinite && transitionFactor > 0) {
            throw .invalid("transition_factor", transitionFactor, "must be finite and > 0")
        }
    }
}
