/// The token-mixer fields of an fla `gla` configuration (fla 0.6.0 defaults).
///
/// key_dim = hidden·`expand_k`, value_dim = hidden·`expand_v` over `num_heads` heads; k, v and
/// the decay have `num_kv_heads` heads, each shared by `num_heads / num_kv_heads` query heads.
/// The decay projection has fla's fixed low rank 16 and logit normaliser 16.
public struct GLAConfiguration: Codable, Sendable, Equatable {
    /// `attn_mode` (`chunk`, `fused_recurrent` or `fused_chunk`; all compute the same function).
    public var attnMode: AttentionMode
    /// `expand_k`.
    public var expandK: Double
    /// `expand_v`.
    public var expandV: Double
    /// `num_heads`.
    public var numHeads: Int
    /// `num_kv_heads` (null = `num_heads`).
    public var numKvHeads: Int?
    /// `feature_map` applied to q and k (null: none).
    public var featureMap: GLAFeatureMap?
    /// `use_short_conv`.
    public var useShortConv: Bool
    /// `conv_size`.
    public var convSize: Int
    /// `use_output_gate`.
    public var useOutputGate: Bool
    /// `clamp_min`: lower bound of the log decay (null: none).
    public var clampMin: Double?
    /// `elementwise_affine`: the output norm has a weight (null in the file means false).
    public var elementwiseAffine: Bool
    /// The decay projection's inner rank (fla's fixed `gate_low_rank_dim`).
    public var gateLowRankDim: Int = 16
    /// The divisor of the log-sigmoid decay (fla's fixed `gate_logit_normalizer`).
    public var gateLogitNormalizer: Double = 16

    enum CodingKeys: String, CodingKey {
        case attnMode = "attn_mode"
        case expandK = "expand_k"
        case expandV = "expand_v"
        case numHeads = "num_heads"
        case numKvHeads = "num_kv_heads"
        case featureMap = "feature_map"
        case useShortConv = "use_short_conv"
        case convSize = "conv_size"
        case useOutputGate = "use_output_gate"
        case clampMin = "clamp_min"
        case elementwiseAffine = "elementwise_affine"
    }

    /// Creates a configuration; every argument defaults to fla 0.6.0's default, and these are the
    /// only place the defaults are written (decoding starts from them).
    public init(
        numHeads: Int = 4, expandK: Double = 0.5, expandV: Double = 1, numKvHeads: Int? = nil,
        featureMap: GLAFeatureMap? = nil, useShortConv: Bool = false, convSize: Int = 4, useOutputGate: Bool = true,
        clampMin: Double? = nil, elementwiseAffine: Bool = true, attnMode: AttentionMode = .chunk
    ) {
        self.attnMode = attnMode
        self.numHeads = numHeads
        self.expandK = expandK
        self.expandV = expandV
        self.numKvHeads = numKvHeads
        self.featureMap = featureMap
        self.useShortConv = useShortConv
        self.convSize = convSize
        self.useOutputGate = useOutputGate
        self.clampMin = clampMin
        self.elementwiseAffine = elementwiseAffine
    }

    /// Decodes with fla's defaults for absent fields.
    ///
    /// - Throws: `DecodingError` for a field of the wrong type; ``ConfigurationIssue`` for an
    ///   unknown `attn_mode` or `feature_map`.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.updateChoice(&attnMode, .attnMode)
        try c.update(&expandK, .expandK)
        try c.update(&expandV, .expandV)
        try c.update(&numHeads, .numHeads)
        numKvHeads = try c.decodeIfPresent(Int.self, forKey: .numKvHeads)
        try c.updateChoice(&featureMap, .featureMap)
        try c.update(&useShortConv, .useShortConv)
        try c.update(&convSize, .convSize)
        try c.update(&useOutputGate, .useOutputGate)
        clampMin = try c.decodeIfPresent(Double.self, forKey: .clampMin)
        if c.contains(.elementwiseAffine) {
            elementwiseAffine = try c.decodeIfPresent(Bool.self, forKey: .elementwiseAffine) ?? false
        }
    }

    /// The number of key/value heads (`num_kv_heads`, or `num_heads` when null).
    public var kvHeads: Int { numKvHeads ?? numHeads }
    /// The key dimension over all query heads, `hidden·expand_k`.
    public func keyDim(hiddenSize: Int) -> Int { integral(Double(hiddenSize) * expandK) ?? 0 }
    /// The value dimension over all query heads, `hidden·expand_v`.
    public func valueDim(hiddenSize: Int) -> Int { integral(Double(hiddenSize) * expandV) ?? 0 }

    /// Refuses unsupported or impossible values.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        try requireAttentionMode(attnMode, allowed: [.chunk, .fusedRecurrent, .fusedChunk])
        try requirePositive("num_heads", numHeads)
        try requirePositive("num_kv_heads", kvHeads)
        try requireDivisible("num_heads", numHeads, by: kvHeads, "num_kv_heads")
        guard let kd = integral(Double(hiddenSize) * expandK), kd > 0 else {
            throw .invalid("expand_k", expandK, "hidden_size·expand_k must be a positive integer")
        }
        guard let vd = integral(Double(hiddenSize) * expandV), vd > 0 else {
            throw .invalid("expand_v", expandV, "hidden_size·expand_v must be a positive integer")
        }
        try requireDivisible("key dim (hidden_size·expand_k)", kd, by: numHeads, "num_heads")
        try requireDivisible("value dim (hidden_size·expand_v)", vd, by: numHeads, "num_heads")
        if useShortConv { try requirePositive("conv_size", convSize) }
        if let m = clampMin, !m.isFinite { throw .invalid("clamp_min", m, "must be finite") }
    }
}
