import LRNNKernels

/// An S4D token mixer for stacks assembled in code (fla has no S4D model type):
/// the S4D convolution over the hidden channels, GELU, then a GLU output projection.
public struct S4DConfiguration: Codable, Sendable, Equatable {
    /// The state size N per channel (even; N/2 complex modes).
    public var stateSize: Int = 64
    /// The eigenvalue initialisation: `lin`, `inv` or `legs`.
    public var initialization: String = "lin"
    /// The discretisation: `zoh` or `bilinear`.
    public var discretization: String = "zoh"

    enum CodingKeys: String, CodingKey {
        case stateSize = "state_size"
        case initialization
        case discretization
    }

    /// Creates a configuration.
    public init(stateSize: Int = 64, initialization: String = "lin", discretization: String = "zoh") {
        self.stateSize = stateSize
        self.initialization = initialization
        self.discretization = discretization
    }

    /// Refuses impossible values.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        if stateSize < 2 || stateSize % 2 != 0 { throw .invalid("state_size", stateSize, "must be even and ≥ 2") }
        if S4DInitialization(rawValue: initialization) == nil {
            throw .unsupported("initialization", initialization, "expected lin, inv or legs")
        }
        if SSMDiscretization(rawValue: discretization) == nil {
            throw .unsupported("discretization", discretization, "expected zoh or bilinear")
        }
    }
}
