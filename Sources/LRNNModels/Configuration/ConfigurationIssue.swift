/// A problem with one configuration field, found while validating a configuration.
///
/// Loaders turn it into ``ModelLoadError/unsupportedConfiguration(file:field:value:reason:)``
/// or ``ModelLoadError/invalidConfiguration(file:field:reason:)`` naming the file; models built
/// in code turn it into ``ModelError/invalidConfiguration(field:reason:)``.
public struct ConfigurationIssue: Error, Sendable, Equatable, CustomStringConvertible {
    /// Whether the value is well formed but not implemented, or impossible.
    public enum Kind: Sendable, Equatable {
        /// The value changes the math in a way this engine does not implement.
        case unsupported
        /// The value is impossible (e.g. a head count that does not divide the dimension).
        case invalid
    }

    /// The JSON field name, e.g. `qk_activation`.
    public var field: String
    /// The offending value as text.
    public var value: String
    /// Why it cannot be used.
    public var reason: String
    /// Unsupported or invalid.
    public var kind: Kind

    /// Creates an issue.
    public init(field: String, value: String, reason: String, kind: Kind) {
        self.field = field
        self.value = value
        self.reason = reason
        self.kind = kind
    }

    /// `field = value: reason`.
    public var description: String { "\(field) = \(value): \(reason)" }

    static func unsupported(_ field: String, _ value: Any, _ reason: String) -> ConfigurationIssue {
        ConfigurationIssue(field: field, value: "\(value)", reason: reason, kind: .unsupported)
    }

    static func invalid(_ field: String, _ value: Any, _ reason: String) -> ConfigurationIssue {
        ConfigurationIssue(field: field, value: "\(value)", reason: reason, kind: .invalid)
    }
}

/// `Double(x)` is an integer within 1e-6 relative tolerance: returns it, else nil.
func integral(_ x: Double) -> Int? {
    let r = x.rounded()
    // |r| < 2^53 also keeps the conversion to Int exact and in range.
    guard x.isFinite, abs(r) < 9_007_199_254_740_992, abs(x - r) <= 1e-6 * Swift.max(1, abs(x)) else { return nil }
    return Int(r)
}

/// Requires `value > 0`.
func requirePositive(_ field: String, _ value: Int) throws(ConfigurationIssue) {
    if value <= 0 { throw .invalid(field, value, "must be positive") }
}

/// Requires `divisor` to divide `value`.
func requireDivisible(_ field: String, _ value: Int, by divisor: Int, _ what: String) throws(ConfigurationIssue) {
    if divisor <= 0 || value % divisor != 0 {
        throw .invalid(field, value, "must be divisible by \(what) = \(divisor)")
    }
}

/// Requires the `attn_mode` to be one of fla's modes that compute the same function.
func requireAttentionMode(_ mode: AttentionMode, allowed: [AttentionMode]) throws(ConfigurationIssue) {
    if !allowed.contains(mode) {
        throw .unsupported(
            "attn_mode", mode.rawValue, "expected one of \(allowed.map(\.rawValue).joined(separator: ", "))")
    }
}
