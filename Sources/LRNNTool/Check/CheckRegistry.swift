/// The golden ops `lrnn check` can evaluate, by the `op` name in a case's metadata.
/// Ops absent here are reported as `skipped (unsupported op: X)`.
package enum CheckRegistry {
    /// Op checkers by op name.
    package static let ops: [String: GoldenOpChecker] = [
        "gla": GLACheck.check,
        "gla_backward": GLABackwardCheck.check,
        "s4d_kernel": SSMCheck.s4dKernel,
        "s4d_conv": SSMCheck.s4dConv,
        "s5": SSMCheck.s5,
        "s4d_conv_backward": SSMBackwardCheck.s4dConvBackward,
        "s5_backward": SSMBackwardCheck.s5Backward,
        "hippo": SSMCheck.hippo,
        "ptd": SSMCheck.ptd,
        "delta_rule": { try DeltaRuleCheck.check($0, name: $1) },
        "gated_delta_rule": { try DeltaRuleCheck.check($0, name: $1) },
        "delta_product": { try DeltaRuleCheck.check($0, name: $1) },
        "delta_rule_backward": { try DeltaRuleBackwardCheck.check($0, name: $1) },
        "gated_delta_rule_backward": { try DeltaRuleBackwardCheck.check($0, name: $1) },
        "delta_product_backward": { try DeltaRuleBackwardCheck.check($0, name: $1) },
        "model_train": ModelTrainCheck.check,
        "plstm_1d": PLSTMCheck.check1D,
        "plstm_2d": PLSTMCheck.check2D,
        "pararnn_gru": ParaRNNCheck.gru,
        "pararnn_lstm": ParaRNNCheck.lstm,
    ]

    /// The checker for model directories, once the model layer supports them.
    package static let model: GoldenModelChecker? = ModelCheck.check

    /// The checker for tokenizer directories (`tokenizer.json` with its case files): one line
    /// per case file.
    package static let tokenizer: GoldenModelChecker? = TokenizerCheck.check
}
