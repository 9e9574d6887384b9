/// The token-mixer fields of an fla `gated_deltanet` configuration (fla 0.6.0 defaults).
///
/// head_k = `head_dim`, head_v = `head_dim·expand_v`, `num_heads` query/key heads and
/// `num_v_heads` value heads (grouped value attention when larger).
public struct GatedDeltaNetConfiguration: Codable, Sendable, Equatable {
    /// `attn_mode` (`chunk` or `fused_recurrent`; both compute the same function).
    public var attnMode: AttentionMode
    /// `expand_v`.
    public var expandV: Double
    /// `head_dim`.
    public var headDim: Int
    /// `num_heads`.
    public var numHeads: Int
    /// `num_v_heads` (null = `num_heads`).
    public var numVHeads: Int?
    /// `use_gate`: gated output norm with `g_proj`.
    public var useGate: Bool
    /// `use_short_conv`.
    public var useShortConv: Bool
    /// `conv_size`.
    public var convSize: Int
    /// `allow_neg_eigval`: β is doubled, so the transition α(I − β k kᵀ) has an eigenvalue in
    /// (−α, α] (Grazzi et al., ICLR 2025).
    public var allowNegEigval: Bool
    /// `output_gate_activation`.
    public var outputGateActivation: OutputGateActivation

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

    /// Creates a configuration; every argument defaults to fla 0.6.0's default, and these are the
    /// only place the defaults are written (decoding starts from them).
    public init(
        numHeads: Int = 6, headDim: Int = 256, expandV: Double = 2, numVHeads: Int? = nil, useGate: Bool = true,
        useShortConv: Bool = true, convSize: Int = 4, allowNegEigval: Bool = false,
        outputGateActivation: OutputGateActivation = .swish, attnMode: AttentionMode = .chunk
    ) {
        self.attnMode = attnMode
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

    /// Decodes with fla's defaults for absent or null fields.
    ///
    /// - Throws: `DecodingError` for a field of the wrong type; ``ConfigurationIssue`` for an
    ///   unknown `attn_mode` or `output_gate_activation`.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.updateChoice(&attnMode, .attnMode)
        try c.update(&expandV, .expandV)
        try c.update(&headDim, .headDim)
        try c.update(&numHeads, .numHeads)
        numVHeads = try c.decodeIfPresent(Int.self, forKey: .numVHeads)
        try c.update(&useGate, .useGate)
        try c.update(&useShortConv, .useShortConv)
        try c.update(&convSize, .convSize)
        try c.update(&allowNegEigval, .allowNegEigval)
        try c.updateChoice(&outputGateActivation, .outputGateActivation)
    }

    /// The number of value heads (`num_v_heads`, or `num_heads` when null).
    public var valueHeads: Int { numVHeads ?? numHeads }
    /// The value dimension of one head, `head_dim·expand_v`.
    public var headVDim: Int { integral(Double(headDim) * expandV) ?? 0 }

    /// Refuses unsupported or impossible values.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        try requireAttentionMode(attnMode, allowed: [.chunk, .fusedRecurrent])
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
    }
}
