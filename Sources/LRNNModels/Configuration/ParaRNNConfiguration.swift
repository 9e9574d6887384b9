import LRNNKernels
import LRNNLinearAlgebra

/// A ParaRNN token mixer for stacks assembled in code (fla has no ParaRNN model type): ParaRNN's
/// diagonal multi-head GRU or CIFG LSTM over the hidden states, then an output projection.
///
/// Source: ParaRNN (Danieli et al., 2025), its `GRUDiagMH` / `LSTMCIFGDiagMH` cells.
public struct ParaRNNConfiguration: Codable, Sendable, Equatable {
    /// The cell: ``ParaRNNCell/gru`` (ParaGRU) or ``ParaRNNCell/lstm`` (ParaLSTM).
    public var cell: ParaRNNCell
    /// The heads Hh of the block-diagonal input matrix B (dividing the width and the state size).
    public var numHeads: Int
    /// The state size D; nil means the model width.
    public var stateSize: Int?
    /// Whether the states go through `o_proj` `[hidden, D]` back to the model width (required when
    /// D ≠ hidden).
    public var useOutputProjection: Bool
    /// The Newton solver's iteration cap before the sequential fallback.
    public var newtonMaxIterations: Int
    /// Tokens per chunk of the Newton scans.
    public var chunkSize: Int

    enum CodingKeys: String, CodingKey {
        case cell
        case numHeads = "num_heads"
        case stateSize = "state_size"
        case useOutputProjection = "use_output_projection"
        case newtonMaxIterations = "newton_max_iterations"
        case chunkSize = "chunk_size"
    }

    /// Creates a configuration; decoding starts from these defaults.
    ///
    /// - Parameters:
    ///   - cell: the cell (default GRU).
    ///   - numHeads: the heads of the input matrix (default 4).
    ///   - stateSize: the state size D, or nil (the default) for the model width.
    ///   - useOutputProjection: whether `o_proj` maps the states back to the width (default true).
    ///   - newtonMaxIterations: the Newton iteration cap (default 40).
    ///   - chunkSize: tokens per chunk of the Newton scans (default 128).
    public init(
        cell: ParaRNNCell = .gru, numHeads: Int = 4, stateSize: Int? = nil, useOutputProjection: Bool = true,
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
    /// - Throws: `DecodingError` for a field of the wrong type; ``ConfigurationIssue`` for an unknown `cell`.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.updateChoice(&cell, .cell)
        try c.update(&numHeads, .numHeads)
        stateSize = try c.decodeIfPresent(Int.self, forKey: .stateSize)
        try c.update(&useOutputProjection, .useOutputProjection)
        try c.update(&newtonMaxIterations, .newtonMaxIterations)
        try c.update(&chunkSize, .chunkSize)
    }

    /// Whether the cell is the LSTM.
    var isLSTM: Bool { cell == .lstm }

    /// The state size D for a model of width `hiddenSize`.
    ///
    /// - Parameter hiddenSize: the model width.
    public func resolvedStateSize(hiddenSize: Int) -> Int { stateSize ?? hiddenSize }

    /// Refuses impossible values.
    ///
    /// - Parameter hiddenSize: the model width.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
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

/// ParaRNN's cell (`cell`): the diagonal multi-head GRU or the CIFG LSTM with peepholes.
public enum ParaRNNCell: String, ConfigurationChoice {
    /// ParaGRU (``/LRNNKernels/ParaGRU``).
    case gru
    /// ParaLSTM (``/LRNNKernels/ParaLSTM``).
    case lstm
}

extension ParaRNNConfiguration: MixerRegistration {
    static let modelType = "pararnn"
    static let isFLAModelType = false
    func makeMixer<T: LRNNScalar>(_ x: MixerContext) -> any TokenMixer<T> {
        ParaRNNMixer<T>(self, hiddenSize: x.hiddenSize)
    }
}
