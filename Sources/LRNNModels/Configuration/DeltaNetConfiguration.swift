/// The token-mixer fields of an fla `delta_net` configuration (fla 0.6.0 defaults).
///
/// key_dim = hidden·`expand_k`, value_dim = hidden·`expand_v`, split over `num_heads` heads.
public struct DeltaNetConfiguration: Codable, Sendable, Equatable {
    /// `attn_mode` (`chunk` or `fused_recurrent`; both compute the same function).
    public var attnMode: AttentionMode
    /// `expand_k`.
    public var expandK: Double
    /// `expand_v`.
    public var expandV: Double
    /// `num_heads`.
    public var numHeads: Int
    /// `use_gate`: gated output norm with `g_proj`.
    public var useGate: Bool
    /// `use_short_conv`.
    public var useShortConv: Bool
    /// `conv_size`.
    public var convSize: Int
    /// `use_beta`: β = σ(b_proj x), else β = 1.
    public var useBeta: Bool
    /// `allow_neg_eigval`: β is doubled, so the transition I − β k kᵀ has an eigenvalue in (−1, 1]
    /// (Grazzi et al., ICLR 2025).
    public var allowNegEigval: Bool
    /// `qk_norm`.
    public var qkNorm: QKNorm
    /// `qk_activation`.
    public var qkActivation: QKActivation

    enum CodingKeys: String, CodingKey {
        case attnMode = "attn_mode"
        case expandK = "expand_k"
        case expandV = "expand_v"
        case numHeads = "num_heads"
        case useGate = "use_gate"
        case useShortConv = "use_short_conv"
        case convSize = "conv_size"
        case useBeta = "use_beta"
        case allowNegEigval = "allow_neg_eigval"
        case qkNorm = "qk_norm"
        case qkActivation = "qk_activation"
    }

    /// Creates a configuration; every argument defaults to fla 0.6.0's default, and these are the
    /// only place the defaults are written (decoding starts from them).
    public init(
        numHeads: Int = 16, expandK: Double = 1, expandV: Double = 1, useGate: Bool = false,
        useShortConv: Bool = true, convSize: Int = 4, useBeta: Bool = true, allowNegEigval: Bool = false,
        qkNorm: QKNorm = .l2, qkActivation: QKActivation = .silu, attnMode: AttentionMode = .chunk
    ) {
        self.attnMode = attnMode
        self.numHeads = numHeads
        self.expandK = expandK
        self.expandV = expandV
        self.useGate = useGate
        self.useShortConv = useShortConv
        self.convSize = convSize
        self.useBeta = useBeta
        self.allowNegEigval = allowNegEigval
        self.qkNorm = qkNorm
        self.qkActivation = qkActivation
    }

    /// Decodes with fla's defaults for absent or null fields.
    ///
    /// - Throws: `DecodingError` for a field of the wrong type; ``ConfigurationIssue`` for an
    ///   unknown `attn_mode`, `qk_norm` or `qk_activation`.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.updateChoice(&attnMode, .attnMode)
        try c.update(&expandK, .expandK)
        try c.update(&expandV, .expandV)
        try c.update(&numHeads, .numHeads)
        try c.update(&useGate, .useGate)
        try c.update(&useShortConv, .useShortConv)
        try c.update(&convSize, .convSize)
        try c.update(&useBeta, .useBeta)
        try c.update(&allowNegEigval, .allowNegEigval)
        try c.updateChoice(&qkNorm, .qkNorm)
        try c.updateChoice(&qkActivation, .qkActivation)
    }

    /// The key dimension over all heads, `hidden·expand_k`.
    public func keyDim(hiddenSize: Int) -> Int { integral(Double(hiddenSize) * expandK) ?? 0 }
    /// The value dimension over all heads, `hidden·expand_v`.
    public func valueDim(hiddenSize: Int) -> Int { integral(Double(hiddenSize) * expandV) ?? 0 }

    /// Refuses unsupported or impossible values.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        try requireAttentionMode(attnMode, allowed: [.chunk, .fusedRecurrent])
        try requirePositive("num_heads", numHeads)
        guard let kd = integral(Double(hiddenSize) * expandK), kd > 0 else {
            throw .invalid("expand_k", expandK, "hidden_size·expand_k must be a positive integer")
        }
        guard let vd = integral(Double(hiddenSize) * expandV), vd > 0 else {
            throw .invalid("expand_v", expandV, "hidden_size·expand_v must be a positive integer")
        }
        try requireDivisible("key dim (hidden_size·expand_k)", kd, by: numHeads, "num_heads")
        try requireDivisible("value dim (hidden_size·expand_v)", vd, by: numHeads, "num_heads")
        if useShortConv { try requirePositive("conv_size", convSize) }
    }
}
