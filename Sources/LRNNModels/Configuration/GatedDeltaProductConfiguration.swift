/// The token-mixer fields of an fla `gated_deltaproduct` configuration (fla 0.6.0 defaults).
///
/// As Gated DeltaNet with `num_householder` delta-rule steps per token; fla's model class
/// does not pass `num_v_heads`, so value heads equal `num_heads`.
public struct GatedDeltaProductConfiguration: Codable, Sendable, Equatable {
    /// `attn_mode` (`chunk` or `fused_recurrent`; both compute the same function).
    public var attnMode: String = "chunk"
    /// `expand_v` (default 2).
    public var expandV: Double = 2
    /// `head_dim` (default 256).
    public var headDim: Int = 256
    /// `num_heads` (default 6).
    public var numHeads: Int = 6
    /// `use_output_gate`: gated output norm with `g_proj`, else plain RMSNorm (default true).
    public var useOutputGate: Bool = true
    /// `use_short_conv` (default true).
    public var useShortConv: Bool = true
    /// `conv_size` (default 4).
    public var convSize: Int = 4
    /// `use_forget_gate`: per-token decay g from `a_proj`, `A_log`, `dt_bias` (default false).
    public var useForgetGate: Bool = false
    /// `allow_neg_eigval`: β is doubled (default false).
    public var allowNegEigval: Bool = false
    /// `num_householder`: delta-rule steps per token (default 1).
    public var numHouseholder: Int = 1

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

    /// Creates a configuration; every argument defaults to fla's configuration default.
    public init(
        numHeads: Int = 6, headDim: Int = 256, expandV: Double = 2, numHouseholder: Int = 1,
        useForgetGate: Bool = false, useOutputGate: Bool = true, useShortConv: Bool = true, convSize: Int = 4,
        allowNegEigval: Bool = false
    ) {
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

    /// Decodes with fla's defaults for absent fields.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        attnMode = try c.decodeIfPresent(String.self, forKey: .attnMode) ?? "chunk"
        expandV = try c.decodeIfPresent(Double.self, forKey: .expandV) ?? 2
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? 256
        numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? 6
        useOutputGate = try c.decodeIfPresent(Bool.self, forKey: .useOutputGate) ?? true
        useShortConv = try c.decodeIfPresent(Bool.self, forKey: .useShortConv) ?? true
        convSize = try c.decodeIfPresent(Int.self, forKey: .convSize) ?? 4
        useForgetGate = try c.decodeIfPresent(Bool.self, forKey: .useForgetGate) ?? false
        allowNegEigval = try c.decodeIfPresent(Bool.self, forKey: .allowNegEigval) ?? false
        numHouseholder = try c.decodeIfPresent(Int.self, forKey: .numHouseholder) ?? 1
    }

    /// The value dimension of one head, `head_dim·expand_v`.
    public var headVDim: Int { integral(Double(headDim) * expandV) ?? 0 }

    /// Refuses unsupported or impossible values.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        try requireAttentionMode(attnMode, allowed: ["chunk", "fused_recurrent"])
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
