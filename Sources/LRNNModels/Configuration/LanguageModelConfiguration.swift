import Foundation

/// The fields of an fla `config.json` shared by every causal language model type: the
/// embedding, the block stack, the MLP, the norms and the head.
///
/// Decoding follows fla 0.6.0's defaults for absent fields. `attn` (softmax-attention layers in
/// place of the model's own mixer) is decoded into ``attention``. Fields that would change the
/// math but are not implemented (`attnres_block_size`, `use_l2warp`, an unknown field inside
/// `attn`) are decoded so that ``validate()`` can refuse them; a `hidden_act` other than `swish`
/// or `silu` is refused while decoding (``HiddenActivation``).
public struct LanguageModelConfiguration: Codable, Sendable, Equatable {
    /// `model_type`: `delta_net`, `gated_deltanet`, `gated_deltaproduct` or `gla`.
    public var modelType: String
    /// `vocab_size` (default 32000).
    public var vocabSize: Int
    /// `hidden_size` (default 2048).
    public var hiddenSize: Int
    /// `num_hidden_layers` (default 24 for delta_net and gla, 21 for the gated delta types).
    public var numHiddenLayers: Int
    /// `hidden_ratio` (default 4; null means 4).
    public var hiddenRatio: Double?
    /// `intermediate_size` (null: derived from `hidden_ratio`, see ``resolvedIntermediateSize``).
    public var intermediateSize: Int?
    /// `hidden_act` of the gated MLP (and GLA's output gate).
    public var hiddenAct: HiddenActivation
    /// `norm_eps` of every RMSNorm (default 1e-6).
    public var normEps: Double
    /// `tie_word_embeddings`: the head reuses the embedding matrix (default false).
    public var tieWordEmbeddings: Bool
    /// `bos_token_id` (default 1).
    public var bosTokenId: Int?
    /// `eos_token_id` (default 2; a list is accepted, every entry ends generation).
    public var eosTokenIds: [Int]
    /// `pad_token_id` (default null; does not affect the forward pass).
    public var padTokenId: Int?
    /// `fuse_norm` (default true): selects GLA's fused gated norm (`g_norm_swish_gate`).
    public var fuseNorm: Bool
    /// `use_l2warp` (default false); true is refused.
    public var useL2warp: Bool
    /// `attn`: the softmax-attention layers of a hybrid model (null: none; one object or a list of
    /// objects in the file; fla's `Attention` layer, ``AttentionConfiguration``).
    public var attention: [AttentionConfiguration]
    /// `attnres_block_size` (default null); non-null is refused.
    public var attnresBlockSize: Int?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case hiddenRatio = "hidden_ratio"
        case intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act"
        case normEps = "norm_eps"
        case tieWordEmbeddings = "tie_word_embeddings"
        case bosTokenId = "bos_token_id"
        case eosTokenIds = "eos_token_id"
        case padTokenId = "pad_token_id"
        case fuseNorm = "fuse_norm"
        case useL2warp = "use_l2warp"
        case attention = "attn"
        case attnresBlockSize = "attnres_block_size"
    }

    /// Creates a configuration in code (for models assembled with ``ModelBuilder``).
    public init(
        modelType: String = "composed", vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int,
        hiddenRatio: Double? = 4, intermediateSize: Int? = nil, normEps: Double = 1e-6,
        tieWordEmbeddings: Bool = false, bosTokenId: Int? = 1, eosTokenIds: [Int] = [2]
    ) {
        self.modelType = modelType
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.hiddenRatio = hiddenRatio
        self.intermediateSize = intermediateSize
        self.hiddenAct = .swish
        self.normEps = normEps
        self.tieWordEmbeddings = tieWordEmbeddings
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
        self.padTokenId = nil
        self.fuseNorm = true
        self.useL2warp = false
        self.attention = []
        self.attnresBlockSize = nil
    }

    /// Decodes the shared fields with fla's defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? ""
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 32000
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 2048
        let defaultLayers = (modelType == "gated_deltanet" || modelType == "gated_deltaproduct") ? 21 : 24
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? defaultLayers
        if c.contains(.hiddenRatio) {
            hiddenRatio = try c.decodeIfPresent(Double.self, forKey: .hiddenRatio)
        } else {
            hiddenRatio = 4
        }
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize)
        hiddenAct = .swish
        try c.updateChoice(&hiddenAct, .hiddenAct)
        normEps = try c.decodeIfPresent(Double.self, forKey: .normEps) ?? 1e-6
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        bosTokenId = c.contains(.bosTokenId) ? try c.decodeIfPresent(Int.self, forKey: .bosTokenId) : 1
        if !c.contains(.eosTokenIds) {
            eosTokenIds = [2]
        } else if try c.decodeNil(forKey: .eosTokenIds) {
            eosTokenIds = []
        } else if let one = try? c.decode(Int.self, forKey: .eosTokenIds) {
            eosTokenIds = [one]
        } else {
            eosTokenIds = try c.decode([Int].self, forKey: .eosTokenIds)
        }
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId)
        fuseNorm = try c.decodeIfPresent(Bool.self, forKey: .fuseNorm) ?? true
        useL2warp = try c.decodeIfPresent(Bool.self, forKey: .useL2warp) ?? false
        if c.contains(.attention), !(try c.decodeNil(forKey: .attention)) {
            // One object, or a list of objects (several attention shapes in one model).
            let sub = try c.superDecoder(forKey: .attention)
            if (try? sub.unkeyedContainer()) != nil {
                attention = try [AttentionConfiguration](from: sub)
            } else {
                attention = [try AttentionConfiguration(from: sub)]
            }
        } else {
            attention = []
        }
        attnresBlockSize = try c.decodeIfPresent(Int.self, forKey: .attnresBlockSize)
    }

    /// Encodes the fields under their fla names.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(hiddenRatio, forKey: .hiddenRatio)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(normEps, forKey: .normEps)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(bosTokenId, forKey: .bosTokenId)
        if eosTokenIds.count == 1 {
            try c.encode(eosTokenIds[0], forKey: .eosTokenIds)
        } else {
            try c.encode(eosTokenIds, forKey: .eosTokenIds)
        }
        try c.encode(padTokenId, forKey: .padTokenId)
        try c.encode(fuseNorm, forKey: .fuseNorm)
        try c.encode(useL2warp, forKey: .useL2warp)
        switch attention.count {
        case 0: try c.encodeNil(forKey: .attention)
        case 1: try c.encode(attention[0], forKey: .attention)
        default: try c.encode(attention, forKey: .attention)
        }
        try c.encode(attnresBlockSize, forKey: .attnresBlockSize)
    }

    /// The MLP width: `intermediate_size`, or `256·⌈int(hidden·ratio·2/3) / 256⌉` when it is
    /// null (ratio 4 when `hidden_ratio` is null), as fla's `GatedMLP` computes it.
    public var resolvedIntermediateSize: Int {
        if let i = intermediateSize { return i }
        let ratio = hiddenRatio ?? 4
        let raw = Int(Double(hiddenSize) * ratio * 2 / 3)
        return 256 * ((raw + 255) / 256)
    }

    /// Refuses unsupported or impossible values of the shared fields.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate() throws(ConfigurationIssue) {
        if let b = attnresBlockSize {
            throw .unsupported("attnres_block_size", b, "attention residuals are not implemented")
        }
        if useL2warp { throw .unsupported("use_l2warp", true, "L2-warp is not implemented") }
        try requirePositive("vocab_size", vocabSize)
        try requirePositive("hidden_size", hiddenSize)
        if numHiddenLayers < 0 { throw .invalid("num_hidden_layers", numHiddenLayers, "must be ≥ 0") }
        if let r = hiddenRatio, !(r > 0) { throw .invalid("hidden_ratio", r, "must be positive") }
        try requirePositive("intermediate_size", resolvedIntermediateSize)
        if !(normEps >= 0) || !normEps.isFinite { throw .invalid("norm_eps", normEps, "must be finite and ≥ 0") }
        for e in eosTokenIds where e < 0 || e >= vocabSize {
            throw .invalid("eos_token_id", e, "outside the vocabulary 0..<\(vocabSize)")
        }
        var seen = Set<Int>()
        for a in attention {
            try a.validate(hiddenSize: hiddenSize, layerCount: numHiddenLayers)
            for i in a.layers where !seen.insert(i).inserted {
                throw .invalid("attn.layers", i, "names layer \(i) twice")
            }
        }
    }

    /// Whether `attn` names any layer (a hybrid model with softmax-attention layers).
    public var hasHybridAttention: Bool { !attention.isEmpty }

    /// The attention configuration of layer `index`, or nil when that layer uses the model's own mixer.
    ///
    /// - Parameter index: the layer index.
    public func attentionLayer(_ index: Int) -> AttentionConfiguration? {
        attention.first { $0.layers.contains(index) }
    }
}
