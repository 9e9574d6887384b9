import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@testable import LRNNModels

/// Computed gates at extreme parameters: Gated DeltaNet's and DeltaProduct's g =
/// −exp(A_log)·softplus(·) with A_log past Float32's exp overflow (88.7), GLA's log-sigmoid gate
/// with huge pre-activations, and the pointwise helpers at ±large inputs. Float32 gives Float64's
/// answer (a decay that underflows is a reset of the state), never a bad-input error or NaN.
@Suite struct GateOverflowTests {
    // MARK: The regression input

    static let regressionName = "model_gated_deltanet_alog_overflow"
    static let regressions = Golden.directory.deletingLastPathComponent().appendingPathComponent("regressions")
    static var regressionPath: String { regressions.appendingPathComponent(regressionName).path }
    static var regressionAvailable: Bool {
        FileManager.default.fileExists(atPath: regressionPath + "/golden.safetensors")
    }

    func goldenRows(_ g: SafeTensorsFile) throws -> [[Int]] {
        let ids = try g.integerTensor("input_ids")
        let t = ids.shape[1]
        return (0..<ids.shape[0]).map { Array(ids.scalars[($0 * t)..<(($0 + 1) * t)]) }
    }

    func regressionLogitsError<T: LRNNScalar>(_: T.Type) throws -> Double {
        let g = try SafeTensorsFile(path: Self.regressionPath + "/golden.safetensors")
        let model = try CausalLM<T>.load(directory: Self.regressionPath)
        let logits = try model.logits(try goldenRows(g))
        let ref = try g.tensor("logits", as: Double.self)
        #expect(logits.shape == ref.shape)
        let finite = logits.scalars.allSatisfy(\.isFinite)
        #expect(finite)
        return logits.converted(to: Double.self).relativeError(to: ref)
    }

    @Test(
        .enabled(
            if: GateOverflowTests.regressionAvailable,
            "regression inputs not found at \(GateOverflowTests.regressionPath)"))
    func regressionLogitsInBothPrecisions() throws {
        let e64 = try regressionLogitsError(Double.self)
        let e32 = try regressionLogitsError(Float.self)
        #expect(e64 <= 1e-5, "Float64 logits error \(e64)")
        #expect(e32 <= 1e-4, "Float32 logits error \(e32)")
    }

    @Test(
        .enabled(
            if: GateOverflowTests.regressionAvailable,
            "regression inputs not found at \(GateOverflowTests.regressionPath)"))
    func regressionGradientsInBothPrecisions() throws {
        // Training through the overflowing gate: the reset's gradient is 0 (not 0·∞ = NaN), so
        // Float32's loss and every gradient are finite and equal Float64's.
        let g = try SafeTensorsFile(path: Self.regressionPath + "/golden.safetensors")
        let rows = try goldenRows(g)
        let labels = rows.map { Array($0.dropFirst()) + [-100] }
        let m64 = try CausalLM<Double>.load(directory: Self.regressionPath)
        let m32 = try CausalLM<Float>.load(directory: Self.regressionPath)
        let (l64, g64) = try m64.lossAndGradients(inputIDs: rows, labels: labels)
        let (l32, g32) = try m32.lossAndGradients(inputIDs: rows, labels: labels)
        #expect(l64.isFinite && l32.isFinite)
        #expect(abs(Double(l32) - l64) <= 1e-4 * max(1, abs(l64)), "loss \(l32) vs \(l64)")
        #expect(Set(g32.keys) == Set(g64.keys))
        for (key, reference) in g64 {
            let value = try #require(g32[key])
            let finite32 = value.scalars.allSatisfy { $0.isFinite }
            let finite64 = reference.scalars.allSatisfy { $0.isFinite }
            #expect(finite32, "\(key) not finite")
            #expect(finite64, "\(key) (Float64) not finite")
            let e = value.converted(to: Double.self).relativeError(to: reference)
            #expect(e <= 1e-3, "\(key): \(e)")
        }
    }

    @Test(
        .enabled(
            if: GateOverflowTests.regressionAvailable,
            "regression inputs not found at \(GateOverflowTests.regressionPath)"))
    func regressionGenerationIsExact() throws {
        let g = try SafeTensorsFile(path: Self.regressionPath + "/golden.safetensors")
        let prompt = try g.integerTensor("prompt_ids").scalars
        let expected = try g.integerTensor("generated_ids").scalars
        let options = GenerationOptions(maxNewTokens: expected.count - prompt.count)
        let t32 = try CausalLM<Float>.load(directory: Self.regressionPath).generate(prompts: [prompt], options: options)
        let t64 = try CausalLM<Double>.load(directory: Self.regressionPath).generate(
            prompts: [prompt], options: options)
        #expect(prompt + t32.tokens[0] == expected, "Float32 generated \(t32.tokens[0])")
        #expect(prompt + t64.tokens[0] == expected, "Float64 generated \(t64.tokens[0])")
    }

    // MARK: Generated neighbours

    let ids = [[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8, 3, 2, 7]]

    /// Writes a two-layer model of `mixer` with its parameters edited by `edit`, loads it in both
    /// precisions and checks that the Float32 logits are finite and within 1e-4 of Float64's, and
    /// that greedy generation gives the same tokens.
    func checkNeighbour(
        _ mixer: MixerConfiguration, seed: UInt64, _ what: String,
        edit: (String, inout Tensor<Float>) -> Void
    ) throws {
        let m: CausalLM<Float> = try TinyModels.model([mixer, mixer], seed: seed)
        let dir = try TinyModels.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try m.write(to: dir)
        var w = SafeTensorsWriter()
        for (key, value) in m.namedParameterList() {
            var v = value
            edit(key, &v)
            w.add(key, v)
        }
        try w.write(to: dir + "/model.safetensors")
        let f32 = try CausalLM<Float>.load(directory: dir)
        let f64 = try CausalLM<Double>.load(directory: dir)
        let l32 = try f32.logits(ids)
        let l64 = try f64.logits(ids)
        let finite32 = l32.scalars.allSatisfy(\.isFinite)
        let finite64 = l64.scalars.allSatisfy(\.isFinite)
        #expect(finite32, "\(what): Float32 logits not finite")
        #expect(finite64, "\(what): Float64 logits not finite")
        let err = l32.converted(to: Double.self).relativeError(to: l64)
        #expect(err <= 1e-4, "\(what): Float32 vs Float64 logits \(err)")
        let options = GenerationOptions(maxNewTokens: 8)
        let g32 = try f32.generate(prompts: [Array(ids[0].prefix(12))], options: options).tokens[0]
        let g64 = try f64.generate(prompts: [Array(ids[0].prefix(12))], options: options).tokens[0]
        #expect(g32 == g64, "\(what): generated \(g32) (Float32) vs \(g64) (Float64)")
    }

    /// (A_log, dt_bias) per head: rates past the Float32 overflow with moderate softplus (resets),
    /// with tiny softplus (a huge rate times an underflowing softplus: a moderate or negligible
    /// decay, 0·∞ in the direct product even in Float64 at A_log = 1e4), and ordinary heads.
    static let gateCases: [(String, [Float], [Float])] = [
        ("overflow", [90, 200, 1e4, 1], [0.5, -1, 2, 0.5]),
        ("tiny-softplus", [90, 100, 200, 1e4], [-92, -200, -203, -10030]),
        ("mixed", [1e4, 0.5, 95, -200], [-3, 0.2, -96, 5]),
    ]

    @Test(arguments: gateCases.map(\.0), ["gated_deltanet", "gated_deltaproduct"])
    func forgetGateOverflowMatchesFloat64(_ name: String, _ mixer: String) throws {
        let (_, aLog, dtBias) = Self.gateCases.first { $0.0 == name }!
        try checkNeighbour(TinyModels.mixer(mixer), seed: 11, "\(mixer) \(name)") { key, v in
            if key.hasSuffix(".A_log") || key.hasSuffix(".dt_bias") {
                let src = key.hasSuffix(".A_log") ? aLog : dtBias
                for i in 0..<v.count { v.scalars[i] = src[(i + (key.contains("layers.1.") ? 1 : 0)) % src.count] }
            }
        }
    }

    /// GLA's gate `logsigmoid(x)/τ` with pre-activations of ±1e30, −3e38, ±1e4 and ±50 (through
    /// `gk_proj.1`'s bias), with and without `clamp_min`.
    @Test(arguments: ["gla", "gla_plain", "gla_no_gate"])
    func glaGateExtremesMatchFloat64(_ mixer: String) throws {
        let extremes: [Float] = [-1e30, 1e30, -3e38, -1e4, 1e4, -50, 50, 0]
        try checkNeighbour(TinyModels.mixer(mixer), seed: 12, "\(mixer) extreme gates") { key, v in
            if key.hasSuffix("gk_proj.1.bias") {
                for i in 0..<v.count { v.scalars[i] = extremes[i % extremes.count] }
            }
        }
    }

    // MARK: The helpers

    /// The decay exp(g) from `gatedLogDecay` in Float32 equals Float64's (to 1e-6 absolute) over
    /// rates and pre-activations far past both overflow points, and g is never NaN.
    @Test func gatedLogDecayFloat32MatchesFloat64() {
        let rates: [Double] = [-200, -20, 0, 5, 88, 88.8, 90, 100, 200, 700, 710, 1e4, 1e30]
        let xs: [Double] = [-1e30, -1e4, -800, -200, -120, -104, -90, -30, -20, -19.9, -1, 0, 1, 20, 90, 1e4, 1e30]
        for a in rates {
            for x in xs {
                let g32 = gatedLogDecay(aLog: Float(a), Float(x))
                let g64 = gatedLogDecay(aLog: a, x)
                #expect(!g32.isNaN && !g64.isNaN, "A_log \(a), x \(x): \(g32), \(g64)")
                #expect(g32 <= 0 && g64 <= 0)
                let d32 = Double(Float.exp(g32))
                let d64 = Double.exp(g64)
                #expect(Swift.abs(d32 - d64) <= 1e-6, "A_log \(a), x \(x): exp(g) \(d32) vs \(d64)")
                // The direct product where it is finite and not 0·∞ (Float64).
                let direct = -Double.exp(a) * softplus(x)
                if direct.isFinite && direct < 0 {
                    #expect(Swift.abs(g64 - direct) <= 1e-13 * Swift.abs(direct), "A_log \(a), x \(x)")
                }
            }
        }
    }

    /// log(softplus(x)) is finite and accurate for every finite x, in both precisions.
    @Test func logSoftplusIsFiniteAndAccurate() {
        for x in [-1e30, -1e4, -745.0, -200, -104, -30, -20.001, -20, -19.999, -5, 0, 5, 30, 1e4, 1e30] {
            let l64 = logSoftplus(x)
            #expect(l64.isFinite, "x \(x)")
            if x > -700 { #expect(Swift.abs(l64 - Double.log(softplus(x))) <= 1e-14 * Swift.max(1, Swift.abs(l64))) }
            if Swift.abs(x) < 3e38 {
                let l32 = logSoftplus(Float(x))
                #expect(l32.isFinite, "x \(x)")
                #expect(Swift.abs(Double(l32) - l64) <= 1e-6 * Swift.max(1, Swift.abs(l64)), "x \(x): \(l32) vs \(l64)")
            }
        }
    }

    /// softplus, logsigmoid and every activation at ±large finite inputs: never NaN, never an
    /// overflow that Float64 does not have, and Float32 equal to Float64's value rounded.
    @Test func pointwiseHelpersAtLargeInputs() {
        let xs: [Float] = [
            -3.4e38, -1e30, -1e4, -200, -104, -89, -88, -20, -1, 0, 1, 20, 88, 89, 200, 1e4, 1e30, 3.4e38,
        ]
        for x in xs {
            let d = Double(x)
            func close(_ a: Float, _ b: Double, _ what: String) {
                #expect(!a.isNaN, "\(what)(\(x)) is NaN")
                let bf = Float(b)
                let ok =
                    a == bf || Swift.abs(Double(a) - b) <= 1e-6 * Swift.max(1e-30, Swift.abs(b)) || Swift.abs(b) < 1e-37
                #expect(ok, "\(what)(\(x)): Float32 \(a), Float64 \(b)")
            }
            close(softplus(x), softplus(d), "softplus")
            close(logSigmoid(x), logSigmoid(d), "logsigmoid")
            for act in Activation.allCases {
                close(act(x), act(d), act.rawValue)
                var t = Tensor<Float>(shape: [1], scalars: [x])
                act.apply(&t)
                close(t.scalars[0], act(d), act.rawValue + " (apply)")
            }
            var beta = Tensor<Float>(shape: [1], scalars: [x])
            sigmoidScaled(&beta, factor: 2)
            close(beta.scalars[0], 2 / (1 + Double.exp(-d)), "2σ")
        }
    }
}
