/// The token-mixer fields of an fla `gated_deltanet` configuration (fla 0.6.0 defaults).
///
/// head_k = `head_dim`, head_v = `head_dim·expand_v`, `num_heads` query/key heads and
/// `num_v_heads` value heads (grouped value attention when larger).
public struct GatedDeltaNetConfiguration: Codable, Sendable, Equatable {
    /// `attn_mode` (`chunk` or `fused_recurrent`; both compute the same function).
    public var attnMode: String = "chunk"
    /// `expand_v` (default 2).
    public var expandV: Double = 2
    /// `head_dim` (default 256).
    public var headDim: Int = 256
    /// `num_heads` (default 6).
    public var numHeads: Int = 6
    /// `num_v_heads` (default null = `num_heads`).
    public var numVHeads: Int? = nil
    /// `use_gate`: gated output norm with `g_proj` (default true).
    public var useGate: Bool = true
    /// `use_short_conv` (default true).
    public var useShortConv: Bool = true
    /// `conv_size` (default 4).
    public var convSize: Int = 4
    /// `allow_neg_eigval`: β is doubled (default false).
    public var allowNegEigval: Bool = false
    /// `output_gate_activation`: `swish`, `silu` or `sigmoid` (default `swish`).
    public var outputGateActivation: String = "swish"

    enum CodingKeys: String, CodingKey {
        case attnMode = "attn_mode"
        case expandV = "expand_v"
        case headDim = "head_dim"
        case numHeads = "num_heads"
        case numVHeads = "num_v_heads"
        case useGate = "use_gate"
        case useShortConv = "use_short_conv"
        case convSize = "conv_size"
        case allowNegEigval = "allow_neg_eigval"
        case outputGateActivation = "output_gate_activation"
    }

    /// Creates a configuration; every argument defaults to fla's default.
    public init(
        numHeads: Int = 6, headDim: Int = 256, expandV: Double = 2, numVHeads: Int? = nil, useGate: Bool = true,
        useShortConv: Bool = true, convSize: Int = 4, allowNegEigval: Bool = false,
        outputGateActivation: String = "swish"
    ) {
        self.numHeads = numHeads
        self.headDim = headDim
        self.expandV = expandV
        self.numVHeads = numVHeads
        self.useGate = useGate
        self.useShortConv = useShortConv
        self.convSize = convSize
        self.allowNegEigval = allowNegEigval
        self.outputGateActivation = outputGateActivation
    }

    /// Decodes with fla's defaults for absent fields.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        attnMode = try c.decodeIfPresent(String.self, forKey: .attnMode) ?? "chunk"
        expandV = try c.decodeIfPresent(Double.self, forKey: .expandV) ?? 2
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? 256
        numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? 6
        numVHeads = try c.decodeIfPresent(Int.self, forKey: .numVHeads)
        useGate = try c.decodeIfPresent(Bool.self, forKey: .useGate) ?? true
        useShortConv = try c.decodeIfPresent(Bool.self, forKey: .useShortConv) ?? true
        convSize = try c.decodeIfPresent(Int.self, forKey: .convSize) ?? 4
        allowNegEigval = try c.decodeIfPresent(Bool.self, forKey: .allowNegEigval) ?? false
        outputGateActivation = try c.decodeIfPresent(String.self, forKey: .outputGateActivation) ?? "swish"
    }

    /// The number of value heads (`num_v_heads`, or `num_heads` when null).
    public var valueHeads: Int { numVHeads ?? numHeads }
    /// The value dimension of one head, `head_dim·expand_v`.
    public var headVDim: Int { integral(Double(headDim) * expandV) ?? 0 }

    /// Refuses unsupported or impossible values.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        try requireAttentionMode(attnMode, allowed: ["chunk", "fused_recurrent"])
        try requirePositive("num_heads", numHeads)
        try requirePositive("head_dim", headDim)
        try requirePositive("num_v_heads", valueHeads)
        guard let hv = integral(Double(headDim) * expandV), hv > 0 else {
            throw .invalid("expand_v", expandV, "head_dim·expand_v must be a positive integer")
        }
        _ = hv
        if valueHeads < numHeads || valueHeads % numHeads != 0 {
            throw .invalid("num_v_heads", valueHeads, "must be a multiple of num_heads = \(numHeads)")
        }
        if useShortConv { try requirePositive("conv_size", convSize) }
        if !["swish", "silu", "sigmoid"].contains(outputGateActivation) {
            throw .unsupported("output_gate_activation", outputGateActivation, "expected swish, silu or sigmoid")
        }
    }
}
