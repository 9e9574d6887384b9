import LRNNKernels

/// An S4D token mixer for stacks assembled in code (fla has no S4D model type):
/// the S4D convolution over the hidden channels, GELU, then a GLU output projection.
public struct S4DConfiguration: Codable, Sendable, Equatable {
    /// The state size N per channel (even; N/2 complex modes).
    public var stateSize: Int
    /// The eigenvalue initialisation.
    public var initialization: S4DInitialization
    /// The discretisation.
    public var discretization: SSMDiscretization

    enum CodingKeys: String, CodingKey {
        case stateSize = "state_size"
        case initialization
        case discretization
    }

    /// Creates a configuration; decoding starts from these defaults.
    public init(stateSize: Int = 64, initialization: S4DInitialization = .lin, discretization: SSMDiscretization = .zoh)
    {
        self.stateSize = stateSize
        self.initialization = initialization
        self.discretization = discretization
    }

    /// Decodes with the defaults above for absent fields.
    ///
    /// - Throws: `DecodingError` for a field of the wrong type; ``ConfigurationIssue`` for an
    ///   unknown `initialization` or `discretization`.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&stateSize, .stateSize)
        try c.updateChoice(&initialization, .initialization)
        try c.updateChoice(&discretization, .discretization)
    }

    /// Refuses impossible values.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        if stateSize < 2 || stateSize % 2 != 0 { throw .invalid("state_size", stateSize, "must be even and ≥ 2") }
    }
}

extension S4DInitialization: ConfigurationChoice {}
extension SSMDiscretization: ConfigurationChoice {}
