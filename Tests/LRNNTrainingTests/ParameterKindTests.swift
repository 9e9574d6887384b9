import LRNNTraining
import Testing

@Suite("Parameter kinds and groups")
struct ParameterKindTests {
    @Test func flaKeysAreClassified() {
        let cases: [(String, ParameterKind)] = [
            ("model.embeddings.weight", .embedding),
            ("model.layers.0.attn.A_log", .ssm),
            ("model.layers.1.attn.dt_bias", .ssm),
            ("model.layers.0.s4d.log_dt", .ssm),
            ("model.layers.0.attn_norm.weight", .norm),
            ("model.layers.0.attn.o_norm.weight", .norm),
            ("model.layers.0.attn.g_norm_swish_gate.weight", .norm),
            ("model.norm.weight", .norm),
            ("model.layers.0.attn.gk_proj.1.bias", .bias),
            ("model.layers.0.attn.q_conv1d.weight", .weight),
            ("model.layers.0.mlp.down_proj.weight", .weight),
            ("lm_head.weight", .weight),
        ]
        for (key, kind) in cases { #expect(ParameterKind(key: key) == kind, "\(key)") }
    }

    @Test func noWeightDecayGroupExemptsTheUsualKinds() throws {
        let opt = try AdamW<Double>(weightDecay: 0.1, groups: [.noWeightDecay()])
        #expect(opt.settings(for: "model.layers.0.attn.A_log").weightDecay == 0)
        #expect(opt.settings(for: "model.embeddings.weight").weightDecay == 0)
        #expect(opt.settings(for: "model.layers.0.mlp_norm.weight").weightDecay == 0)
        #expect(opt.settings(for: "model.layers.0.attn.q_proj.weight").weightDecay == 0.1)
        #expect(
            throws: TrainingError.invalidArgument(
                name: "learningRateScale", reason: "group 'x': -1.0, expected a finite value ≥ 0")
        ) {
            try ParameterGroup<Double>(name: "x", kinds: [.norm], learningRateScale: -1)
        }
    }
}
