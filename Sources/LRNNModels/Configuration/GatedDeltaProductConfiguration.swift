/// The token-mixer fields of an fla `gated_deltaproduct` configuration (fla 0.6.0 defaults).
///
/// As Gated DeltaNet with `num_householder` delta-rule steps per token; fla's model class
/// does not pass `num_v_heads`, so value heads equal `num_heads`.
public struct GatedDeltaProductConfiguration: Codable, Sendable, Equatable {
    /// `attn_mode` (`chunk` or `fused_recurrent`; both compute the same function).
    public var attnMode: AttentionMode
    /// `expand_v`.
    public var expandV: Double
    /// `head_dim`.
    public var headDim: Int
    /// `num_heads`.
    public var numHeads: Int
    /// `use_output_gate`: gated output norm with `g_proj`, else plain RMSNorm.
    public var useOutputGate: Bool
    /// `use_short_conv`.
    public var useShortConv: Bool
    /// `conv_size`.
    public var convSize: Int
    /// `use_forget_gate`: per-token decay g from `a_proj`, `A_log`, `dt_bias`.
    public var useForgetGate: Bool
    /// `allow_neg_eigval`: β is doubled, so each Householder factor has an eigenvalue in (−1, 1]
    /// (Grazzi et al., ICLR 2025).
    public var allowNegEigval: Bool
    /// `num_householder`: delta-rule steps (generalised Householder factors) per token, n_h of
    /// Siems et al. (DeltaProduct).
    public var numHouseholder: Int

    enum CodingKeys: String, CodingKey {
        case attnMode = "attn_mode"
        case expandV = "expand_v"
        case headDim = "head_dim"
        case numHeads = "num_heads"
        case useOutputGate = "use_output_gate"
        case useShortConv = "use_short_conv"
        case convSize = "conv_size"
        case useForgetGate = "use_forget_gate"
        case allowNegEigval = "allow_neg_eigval"
        case numHouseholder = "num_householder"
    }

    /// Creates a configuration; every argument defaults to fla 0.6.0's configuration default, and
    /// these are the only place the defaults are written (decoding starts from them).
    public init(
        numHeads: Int = 6, headDim: Int = 256, expandV: Double = 2, numHouseholder: Int = 1,
        useForgetGate: Bool = false, useOutputGate: Bool = true, useShortConv: Bool = true, convSize: Int = 4,
        allowNegEigval: Bool = false, attnMode: AttentionMode = .chunk
    ) {
        self.attnMode = attnMode
        self.numHeads = numHeads
        self.headDim = headDim
        self.expandV = expandV
        self.numHouseholder = numHouseholder
        self.useForgetGate = useForgetGate
        self.useOutputGate = useOutputGate
        self.useShortConv = useShortConv
        self.convSize = convSize
        self.allowNegEigval = allowNegEigval
    }

    /// Decodes with fla's defaults for absent or null fields.
    ///
    /// - Throws: `DecodingError` for a field of the wrong type; ``ConfigurationIssue`` for an
    ///   unknown `attn_mode`.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.updateChoice(&attnMode, .attnMode)
        try c.update(&expandV, .expandV)
        try c.update(&headDim, .headDim)
        try c.update(&numHeads, .numHeads)
        try c.update(&useOutputGate, .useOutputGate)
        try c.update(&useShortConv, .useShortConv)
        try c.update(&convSize, .convSize)
        try c.update(&useForgetGate, .useForgetGate)
        try c.update(&allowNegEigval, .allowNegEigval)
        try c.update(&numHouseholder, .numHouseholder)
    }

    /// The value dimension of one head, `head_dim·expand_v`.
    public var headVDim: Int { integral(Double(headDim) * expandV) ?? 0 }

    /// Refuses unsupported or impossible values.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        try requireAttentionMode(attnMode, allowed: [.chunk, .fusedRecurrent])
        try requirePositive("num_heads", numHeads)
        try requirePositive("head_dim", headDim)
        try requirePositive("num_householder", numHouseholder)
        guard let hv = integral(Double(headDim) * expandV), hv > 0 else {
            throw .invalid("expand_v", expandV, "head_dim·expand_v must be a positive integer")
        }
        _ = hv
        if useShortConv { try requirePositive("conv_size", convSize) }
    }
}
