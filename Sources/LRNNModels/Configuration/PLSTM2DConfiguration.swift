/// The configuration of a ``PLSTM2DLayer`` (Pöppel et al., 2025; their `pLSTM2DLayer` for one
/// orientation, without its optional convolution, multi-head norm and passthrough).
///
/// P-mode (directed propagation, `mode = "P"`): a per-head orientation `o = σ(W_o x + b_o)` splits
/// the incoming state between the two outgoing edges, `S_r = o·σ(W_S x + b_S)`, `S_d = 1 − S_r`,
/// `T_rl = T_ru = o·tanh(f·(W_T x + b_T))`, `T_dl = T_du = 1 − T_rl`, `M_u = M_l = σ(W_M x + b_M)`.
/// D-mode (diffusive distribution, `mode = "D"`): independent `S_r`, `S_d`, `M_l`, `M_u` (sigmoids)
/// and `T_rl`, `T_du` and one cross transition (tanh), used as `T_ru` (chirality L) or `T_dl`
/// (chirality R). In both, `D = σ(W_D x + b_D)`. Only JT = 1 is built.
public struct PLSTM2DConfiguration: Codable, Sendable, Equatable {
    /// The propagation mode.
    public var mode: PLSTM2DMode = .directed
    /// D-mode's chirality.
    public var chirality: PLSTM2DChirality = .left
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
    /// The factor inside the transitions' tanh.
    public var transitionFactor: Double = 5

    enum CodingKeys: String, CodingKey {
        case mode
        case chirality = "dmode_chirality"
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
    ///   - mode: P-mode (directed) or D-mode (diffusive).
    ///   - chirality: D-mode's chirality.
    ///   - numHeads: the number of heads H.
    ///   - keyDim: DK per head.
    ///   - valueDim: DV per head.
    ///   - queryStates: JQ.
    ///   - keyStates: JK.
    ///   - valueStates: JV.
    ///   - outputStates: JO.
    ///   - transitionStates: JT (must be 1).
    ///   - transitionFactor: the factor inside the transitions' tanh.
    public init(
        mode: PLSTM2DMode = .directed, chirality: PLSTM2DChirality = .left, numHeads: Int = 4, keyDim: Int = 16,
        valueDim: Int = 16,
        queryStates: Int = 1, keyStates: Int = 1, valueStates: Int = 1, outputStates: Int = 1,
        transitionStates: Int = 1, transitionFactor: Double = 5
    ) {
        self.mode = mode
        self.chirality = chirality
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
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate() throws(ConfigurationIssue) {
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

/// pLSTM's 2-D propagation mode (Pöppel et al., 2025), spelled as their layer's `mode`.
public enum PLSTM2DMode: String, ConfigurationChoice {
    /// P-mode (`P`): directed propagation, the incoming state split between the two outgoing edges.
    case directed = "P"
    /// D-mode (`D`): diffusive distribution, independent gates with one cross transition.
    case diffusive = "D"
}

/// D-mode's chirality: which cross transition its line graph keeps (a multitree either way).
public enum PLSTM2DChirality: String, ConfigurationChoice {
    /// `L`: the cross transition is `T_ru` (from above to the right edge).
    case left = "L"
    /// `R`: the cross transition is `T_dl` (from the left to the down edge).
    case right = "R"
}
