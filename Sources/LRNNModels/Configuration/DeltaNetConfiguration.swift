/// The token-mixer fields of an fla `delta_net` configuration (fla 0.6.0 defaults).
///
/// key_dim = hidden·`expand_k`, value_dim = hidden·`expand_v`, split over `num_heads` heads.
public struct DeltaNetConfiguration: Codable, Sendable, Equatable {
    /// `attn_mode` (`chunk` or `fused_recurrent`; both compute the same function).
    public var attnMode: String = "chunk"
    /// `expand_k` (default 1).
    public var expandK: Double = 1
    /// `expand_v` (default 1).
    public var expandV: Double = 1
    /// `num_heads` (default 16).
    public var numHeads: Int = 16
    /// `use_gate`: gated output norm with `g_proj` (default false).
    public var useGate: Bool = false
    /// `use_short_conv` (default true).
    public var useShortConv: Bool = true
    /// `conv_size` (default 4).
    public var convSize: Int = 4
    /// `use_beta`: β = σ(b_proj x), else β = 1 (default true).
    public var useBeta: Bool = true
    /// `allow_neg_eigval`: β is doubled (default false).
    public var allowNegEigval: Bool = false
    /// `qk_norm`: `l2` or `sum` (default `l2`).
    public var qkNorm: String = "l2"
    /// `qk_activation`: `silu`, `relu`, `elu` (elu+1) or `identity` (default `silu`).
    public var qkActivation: String = "silu"

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

    /// Creates a configuration; every argument defaults to fla's default.
    public init(
        numHeads: Int = 16, expandK: Double = 1, expandV: Double = 1, useGate: Bool = false,
        useShortConv: Bool = true, convSize: Int = 4, useBeta: Bool = true, allowNegEigval: Bool = false,
        qkNorm: String = "l2", qkActivation: String = "silu"
    ) {
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

    /// Decodes with fla's defaults for absent fields.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        attnMode = try c.decodeIfPresent(String.self, forKey: .attnMode) ?? "chunk"
        expandK = try c.decodeIfPresent(Double.self, forKey: .expandK) ?? 1
        expandV = try c.decodeIfPresent(Double.self, forKey: .expandV) ?? 1
        numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? 16
        useGate = try c.decodeIfPresent(Bool.self, forKey: .useGate) ?? false
        useShortConv = try c.decodeIfPresent(Bool.self, forKey: .useShortConv) ?? true
        convSize = try c.decodeIfPresent(Int.self, forKey: .convSize) ?? 4
        useBeta = try c.decodeIfPresent(Bool.self, forKey: .useBeta) ?? true
        allowNegEigval = try c.decodeIfPresent(Bool.self, forKey: .allowNegEigval) ?? false
        qkNorm = try c.decodeIfPresent(String.self, forKey: .qkNorm) ?? "l2"
        qkActivation = try c.decodeIfPresent(String.self, forKey: .qkActivation) ?? "silu"
    }

    /// The key dimension over all heads, `hidden·expand_k`.
    public func keyDim(hiddenSize: Int) -> Int { integral(Double(hiddenSize) * expandK) ?? 0 }
    /// The value dimension over all heads, `hidden·expand_v`.
    public func valueDim(hiddenSize: Int) -> Int { integral(Double(hiddenSize) * expandV) ?? 0 }

    /// Refuses unsupported or impossible values.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        try requireAttentionMode(attnMode, allowed: ["chunk", "fused_recurrent"])
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
        if !["l2", "sum"].contains(qkNorm) { throw .unsupported("qk_norm", qkNorm, "expected l2 or sum") }
        if !["silu", "relu", "elu", "identity"].contains(qkActivation) {
            throw .unsupported("qk_activation", qkActivation, "expected silu, relu, elu or identity")
        }
    }
}
