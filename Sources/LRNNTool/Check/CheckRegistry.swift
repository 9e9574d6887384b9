/// The golden ops `lrnn check` can evaluate, by the `op` name in a case's metadata.
/// Ops absent here are reported as `skipped (unsupported op: X)`.
public enum CheckRegistry {
    /// Op checkers by op name.
    public static let ops: [String: GoldenOpChecker] = [
        "delta_rule": { try DeltaRuleCheck.check($0, name: $1) },
        "gated_delta_rule": { try DeltaRuleCheck.check($0, name: $1) },
        "delta_product": { try DeltaRuleCheck.check($0, name: $1) },
    ]

    /// The checker for model directories, once the model layer supports them.
    public static let model: GoldenModelChecker? = nil
}
