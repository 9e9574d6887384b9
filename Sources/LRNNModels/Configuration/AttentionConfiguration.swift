/// One entry of fla's `attn` configuration: the layers that use softmax attention instead of the
/// model's own token mixer, and that attention layer's shape (fla 0.6.0 `fla/layers/attn.py`,
/// `Attention`, with the defaults fla's model configurations fill in).
///
/// A `config.json` holds `attn` as null, one object, or a list of objects (several attention
/// shapes in one model); ``LanguageModelConfiguration/attention`` is that list. Decoding records
/// any field other than the six below, and ``validate(hiddenSize:layerCount:)`` refuses it naming
/// the field (`attn.qk_norm`, …): a field this engine does not know could change the math.
///
///     head_dim = hidden_size / num_heads;  q_proj [hidden, hidden], k_proj, v_proj [num_kv_heads·head_dim, hidden]
///     q, k ← RoPE(q, k) (GPT-NeoX halves, base rope_theta, positions from 0 per sequence)
///     o = softmax(q·kᵀ/√head_dim + causal/window mask)·v per head (KV head j serves query heads j·g ..< (j+1)·g)
///     y = o_proj(o)
public struct AttentionConfiguration: Codable, Sendable, Equatable {
    /// `layers`: the indices of the layers that use attention (required).
    public var layers: [Int]
    /// `num_heads`: query heads (required).
    public var numHeads: Int
    /// `num_kv_heads`: key/value heads (default `num_heads`; must divide it: grouped-query attention).
    public var numKVHeads: Int?
    /// `qkv_bias`: whether `q_proj`, `k_proj` and `v_proj` have biases (default false).
    public var qkvBias: Bool
    /// `window_size`: a query sees itself and the `window_size − 1` keys before it (default null:
    /// every earlier key).
    public var windowSize: Int?
    /// `rope_theta`: the rotary base (default 10000).
    public var ropeTheta: Double?
    /// Fields of the object this engine does not know, refused by ``validate(hiddenSize:layerCount:)``.
    public var unrecognizedFields: [String]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case layers
        case numHeads = "num_heads"
        case numKVHeads = "num_kv_heads"
        case qkvBias = "qkv_bias"
        case windowSize = "window_size"
        case ropeTheta = "rope_theta"
    }

    /// Creates an attention configuration; the defaults are fla's.
    ///
    /// - Parameters:
    ///   - layers: the layer indices that use attention.
    ///   - numHeads: the query heads.
    ///   - numKVHeads: the key/value heads (nil: `numHeads`).
    ///   - qkvBias: whether the q, k and v projections have biases.
    ///   - windowSize: the sliding window (nil: global attention).
    ///   - ropeTheta: the rotary base.
    public init(
        layers: [Int], numHeads: Int, numKVHeads: Int? = nil, qkvBias: Bool = false, windowSize: Int? = nil,
        ropeTheta: Double = 10000
    ) {
        self.layers = layers
        self.numHeads = numHeads
        self.numKVHeads = numKVHeads
        self.qkvBias = qkvBias
        self.windowSize = windowSize
        self.ropeTheta = ropeTheta
        self.unrecognizedFields = []
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes one `attn` object with fla's defaults; `layers` and `num_heads` are required (as fla
    /// requires them), a null `num_kv_heads` or `qkv_bias` takes the default.
    ///
    /// - Parameter decoder: the decoder positioned at the object.
    /// - Throws: `DecodingError` for a missing required field or a field of the wrong type.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layers = try c.decode([Int].self, forKey: .layers)
        numHeads = try c.decode(Int.self, forKey: .numHeads)
        numKVHeads = try c.decodeIfPresent(Int.self, forKey: .numKVHeads)
        qkvBias = try c.decodeIfPresent(Bool.self, forKey: .qkvBias) ?? false
        windowSize = try c.decodeIfPresent(Int.self, forKey: .windowSize)
        // Absent: fla's default; present and null: kept as nil and refused (fla cannot build it).
        ropeTheta = c.contains(.ropeTheta) ? try c.decodeIfPresent(Double.self, forKey: .ropeTheta) : 10000
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        let all = try decoder.container(keyedBy: AnyKey.self)
        unrecognizedFields = all.allKeys.map(\.stringValue).filter { !known.contains($0) }.sorted()
    }

    /// Encodes the six fields under their fla names.
    ///
    /// - Parameter encoder: the encoder to write into.
    /// - Throws: the encoder's errors.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layers, forKey: .layers)
        try c.encode(numHeads, forKey: .numHeads)
        try c.encode(kvHeads, forKey: .numKVHeads)
        try c.encode(qkvBias, forKey: .qkvBias)
        try c.encode(windowSize, forKey: .windowSize)
        try c.encode(ropeTheta, forKey: .ropeTheta)
    }

    /// The key/value heads: `num_kv_heads`, or `num_heads` when absent.
    public var kvHeads: Int { numKVHeads ?? numHeads }

    /// The head dimension for a model width: `hidden_size / num_heads`.
    ///
    /// - Parameter hiddenSize: the model width.
    public func headDim(hiddenSize: Int) -> Int { numHeads > 0 ? hiddenSize / numHeads : 0 }

    /// Refuses unknown fields and impossible values of the layer's shape (every field but `layers`).
    ///
    /// - Parameter hiddenSize: the model width (`num_heads` must divide it into an even head dimension).
    /// - Throws: ``ConfigurationIssue`` naming the field as `attn.<name>`: unsupported for an
    ///   unknown field, invalid for an impossible value.
    public func validateLayer(hiddenSize: Int) throws(ConfigurationIssue) {
        if let f = unrecognizedFields.first {
            throw .unsupported(
                "attn.\(f)", "present",
                "not a field of fla's attention layer (known: layers, num_heads, num_kv_heads, qkv_bias, window_size, rope_theta)"
            )
        }
        if numHeads <= 0 { throw .invalid("attn.num_heads", numHeads, "must be positive") }
        if hiddenSize % numHeads != 0 {
            throw .invalid("attn.num_heads", numHeads, "must divide hidden_size = \(hiddenSize)")
        }
        let d = hiddenSize / numHeads
        if d % 2 != 0 {
            throw .invalid("attn.num_heads", numHeads, "head_dim = \(d) must be even for the rotary embedding")
        }
        if kvHeads <= 0 || numHeads % kvHeads != 0 {
            throw .invalid("attn.num_kv_heads", kvHeads, "must be positive and divide num_heads = \(numHeads)")
        }
        if let w = windowSize, w < 1 { throw .invalid("attn.window_size", w, "must be ≥ 1 or null") }
        if !(ropeTheta.map { $0.isFinite && $0 > 0 } ?? false) {
            throw .invalid("attn.rope_theta", ropeTheta.map { "\($0)" } ?? "null", "must be a positive number")
        }
    }

    /// Validates the layer's shape (``validateLayer(hiddenSize:)``) and its `layers` list.
    ///
    /// - Parameters:
    ///   - hiddenSize: the model width.
    ///   - layerCount: `num_hidden_layers` (every index in `layers` must name a layer).
    /// - Throws: ``ConfigurationIssue`` naming the field as `attn.<name>`.
    public func validate(hiddenSize: Int, layerCount: Int) throws(ConfigurationIssue) {
        try validateLayer(hiddenSize: hiddenSize)
        if layers.isEmpty { throw .invalid("attn.layers", "[]", "must name at least one layer") }
        for i in layers where i < 0 || i >= layerCount {
            throw .invalid("attn.layers", i, "outside the layers 0..<\(layerCount) (num_hidden_layers)")
        }
    }
}
