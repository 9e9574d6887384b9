/// What a parameter is, read from its checkpoint name: the classes that optimiser recipes treat
/// apart (no weight decay on norms, biases and embeddings; their own learning rate for the
/// state-space dynamics).
///
/// The rules follow fla's and the papers' key names, in this order:
/// - ``ssm``: the last name component is one of fla's `A_log`, `dt_bias`, `D` (Gated DeltaNet,
///   DeltaProduct and Mamba-style gates, marked `_no_weight_decay` in fla) or of the S4D block's
///   `log_dt`, `A_re`, `A_im`, `B_re`, `B_im` (the discretised dynamics, trained with their own
///   learning rate and without decay in S4/S4D);
/// - ``embedding``: a component is `embeddings`, `embed_tokens` or `wte`;
/// - ``norm``: a component contains `norm` (`attn_norm`, `mlp_norm`, `o_norm`,
///   `g_norm_swish_gate`, the final `norm`);
/// - ``bias``: the last component is `bias`;
/// - ``weight``: everything else (projections, convolutions, the LM head).
public enum ParameterKind: String, Sendable, CaseIterable, Equatable {
    /// A state-space or gate dynamics parameter (`A_log`, `dt_bias`, `D`, `log_dt`, `A_re`, …).
    case ssm
    /// A token embedding matrix.
    case embedding
    /// A normalisation layer's weight or bias.
    case norm
    /// A bias vector outside the normalisation layers.
    case bias
    /// Any other weight.
    case weight

    /// Dynamics parameter names (the last component of a key).
    static let ssmNames: Set<String> = ["A_log", "dt_bias", "D", "log_dt", "A_re", "A_im", "B_re", "B_im"]

    /// Classifies a checkpoint key.
    ///
    /// - Parameter key: a checkpoint name such as `model.layers.0.attn.A_log`.
    public init(key: String) {
        let parts = key.split(separator: ".").map(String.init)
        let last = parts.last ?? key
        if ParameterKind.ssmNames.contains(last) {
            self = .ssm
        } else if parts.contains(where: { $0 == "embeddings" || $0 == "embed_tokens" || $0 == "wte" }) {
            self = .embedding
        } else if parts.contains(where: { $0.contains("norm") }) {
            self = .norm
        } else if last == "bias" {
            self = .bias
        } else {
            self = .weight
        }
    }
}
