import LRNNKernels

/// A ParaRNN token mixer for stacks assembled in code (fla has no ParaRNN model type): ParaRNN's
/// diagonal multi-head GRU or CIFG LSTM over the hidden states, then an output projection.
///
/// Source: ParaRNN (Danieli et al., 2025), its `GRUDiagMH` / `LSTMCIFGDiagMH` cells.
public struct ParaRNNConfiguration: Codable, Sendable, Equatable {
    /// The cell: `gru` (ParaGRU) or `lstm` (ParaLSTM). Default `gru`.
    public var cell: String = "gru"
    /// The heads Hh of the block-diagonal input matrix B (dividing the width and the state size). Default 4.
    public var numHeads: Int = 4
    /// The state size D; nil (the default) means the model width.
    public var stateSize: Int? = nil
    /// Whether the states go through `o_proj` `[hidden, D]` back to the model width (required when
    /// D ≠ hidden). Default true.
    public var useOutputProjection: Bool = true
    /// The Newton solver's iteration cap before the sequential fallback. Default 40.
    public var newtonMaxIterations: Int = 40
    /// Tokens per chunk of the Newton scans. Default 128.
    public var chunkSize: Int = 128

    enum CodingKeys: String, CodingKey {
        case cell
        case numHeads = "num_heads"
        case stateSize = "state_size"
        case useOutputProjection = "use_output_projection"
        case newtonMaxIterations = "newton_max_iterations"
        case chunkSize = "chunk_size"
    }

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - cell: `gru` or `lstm`.
    ///   - numHeads: the heads of the input matrix.
    ///   - stateSize: the state size D, or nil for the model width.
    ///   - useOutputProjection: whether `o_proj` maps the states back to the width.
    ///   - newtonMaxIterations: the Newton iteration cap.
    ///   - chunkSize: tokens per chunk of the Newton scans.
    public init(
        cell: String = "gru", numHeads: Int = 4, stateSize: Int? = nil, useOutputProjection: Bool = true,
        newtonMaxIterations: Int = 40, chunkSize: Int = 128
    ) {
        self.cell = cell
        self.numHeads = numHeads
        self.stateSize = stateSize
        self.useOutputProjection = useOutputProjection
        self.newtonMaxIterations = newtonMaxIterations
        self.chunkSize = chunkSize
    }

    /// Decodes with the defaults above for absent fields.
    ///
    /// - Parameter decoder: the decoder.
    /// - Throws: `DecodingError` for a field of the wrong type.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cell = try c.decodeIfPresent(String.self, forKey: .cell) ?? "gru"
        numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? 4
        stateSize = try c.decodeIfPresent(Int.self, forKey: .stateSize)
        useOutputProjection = try c.decodeIfPresent(Bool.self, forKey: .useOutputProjection) ?? true
        newtonMaxIterations = try c.decodeIfPresent(Int.self, forKey: .newtonMaxIterations) ?? 40
        chunkSize = try c.decodeIfPresent(Int.self, forKey: .chunkSize) ?? 128
    }

    /// Whether the cell is the LSTM.
    var isLSTM: Bool { cell == "lstm" }

    /// The state size D for a model of width `hiddenSize`.
    ///
    /// - Parameter hiddenSize: the model width.
    public func resolvedStateSize(hiddenSize: Int) -> Int { stateSize ?? hiddenSize }

    /// Refuses unsupported or impossible values.
    ///
    /// - Parameter hiddenSize: the model width.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        guard cell == "gru" || cell == "lstm" else { throw .unsupported("cell", cell, "expected gru or lstm") }
        try requirePositive("num_heads", numHeads)
        let d = resolvedStateSize(hiddenSize: hiddenSize)
        try requirePositive("state_size", d)
        try requireDivisible("hidden_size", hiddenSize, by: numHeads, "num_heads")
        try requireDivisible("state_size", d, by: numHeads, "num_heads")
        if !useOutputProjection && d != hiddenSize {
            throw .invalid("use_output_projection", false, "a state size \(d) ≠ hidden_size \(hiddenSize) needs o_proj")
        }
        if newtonMaxIterations < 0 { throw .invalid("newton_max_iterations", newtonMaxIterations, "must be ≥ 0") }
        try requirePositive("chunk_size", chunkSize)
    }
}
