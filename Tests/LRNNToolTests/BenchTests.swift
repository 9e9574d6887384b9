import Foundation
import LRNNLinearAlgebra
import Testing

@testable import LRNNTool

/// The benchmark framework: flop counts, report JSON keys, target evaluation, plot, memory parsing.
/// No test here times anything.
struct BenchTests {
    @Test func deltaRuleFlopCountIsTheDenseChunkAlgorithmAtC64() {
        // (6·64·K·V + 6·64²·K + 4·64²·V) per 64 steps, K = V = 128.
        let kv: Double = 6 * 64 * 128 * 128
        let kk: Double = 6 * 64 * 64 * 128
        let vv: Double = 4 * 64 * 64 * 128
        let perChunk = kv + kk + vv
        #expect(KernelCatalog.deltaFlopsPerStep(keyDim: 128, valueDim: 128) == perChunk / 64)
        let catalog = Dictionary(uniqueKeysWithValues: KernelCatalog.all.map { ($0.name, $0) })
        let t = 4096
        #expect(catalog["delta_rule"]!.effectiveFlops(t) == Double(t * 8) * perChunk / 64)
        #expect(catalog["gated_delta_rule"]!.effectiveFlops(t) == catalog["delta_rule"]!.effectiveFlops(t))
        // DeltaProduct: the delta-rule count over the T·n interleaved steps.
        #expect(catalog["delta_product"]!.effectiveFlops(t) == 2 * catalog["delta_rule"]!.effectiveFlops(t))
        // GLA: 4·C·K·V + 2·C²·K + 2·C²·V per chunk: 3.22 GFLOP at the standard shape.
        #expect(abs(catalog["gla"]!.effectiveFlops(t) - 3.221_225_472e9) < 1)
        // s4d_conv: T·H·(2·64 + 4·N); s5: T·(8PH + 8P + 2H).
        let s4dPerToken: Int = 256 * (128 + 256)
        let s5PerToken: Int = 8 * 128 * 256 + 8 * 128 + 2 * 256
        #expect(catalog["s4d_conv"]!.effectiveFlops(t) == Double(t * s4dPerToken))
        #expect(catalog["s5"]!.effectiveFlops(t) == Double(t * s5PerToken))
    }

    @Test func catalogHasTheEightKernelsAtTheirStandardShapes() {
        let names = KernelCatalog.names
        #expect(
            names == [
                "delta_rule", "gated_delta_rule", "delta_product", "gla", "s4d_conv", "s5", "plstm_1d", "plstm_2d",
                "pararnn_gru", "pararnn_lstm",
            ])
        for k in KernelCatalog.all.prefix(4) {
            #expect((k.batch, k.heads, k.keyDim, k.valueDim) == (1, 8, 128, 128))
        }
        let s4d = KernelCatalog.all[4]
        #expect((s4d.heads, s4d.keyDim) == (256, 64))
        let s5 = KernelCatalog.all[5]
        #expect((s5.heads, s5.keyDim) == (256, 128))
        #expect((KernelCatalog.all[6].heads, KernelCatalog.all[6].keyDim) == (8, 128))
        // pLSTM 2-D: a 64 × 64 grid (T = 4,096 cells) with 4 heads of 32.
        #expect((KernelCatalog.all[7].heads, KernelCatalog.all[7].keyDim, KernelCatalog.all[7].valueDim) == (4, 32, 32))
        #expect(KernelCatalog.all[7].effectiveFlops(4096) == Double(4096 * 4 * 12 * 32 * 32))
        // ParaRNN: B = 1, 8 heads of 128 (D = Din = 1,024); the projection's GEMMs 6·T·Din·D/Hh; the
        // sequential solve is swept in T beside the Newton path.
        for k in KernelCatalog.all.suffix(2) {
            #expect((k.batch, k.heads, k.keyDim, k.valueDim) == (1, 8, 128, 128))
            #expect(k.effectiveFlops(4096) == 6 * 4096 * 1024 * 128)
            #expect(k.sweptStepPath == "sequential")
        }
        #expect(KernelCatalog.all.prefix(6).allSatisfy { $0.sweptStepPath == nil })
        // Quick mode: ParaRNN at D = 256 (8 heads of 32), the other kernels unchanged.
        let quick = KernelCatalog.all(quick: true)
        #expect(quick.map(\.name) == names)
        for k in quick.suffix(2) { #expect((k.heads, k.keyDim, k.valueDim) == (8, 32, 32)) }
        for (a, b) in zip(quick.prefix(6), KernelCatalog.all.prefix(6)) {
            #expect((a.heads, a.keyDim, a.valueDim) == (b.heads, b.keyDim, b.valueDim))
        }
    }

    /// A ParaRNN row reports the Newton iterations of its chunk path, the other kernels none.
    @Test func paraRNNRowsReportNewtonIterations() throws {
        for k in KernelCatalog.all where ["pararnn_gru", "s5"].contains(k.name) {
            let row = BenchSuite.measure(k, prepared: k.prepare(32, 8), length: 32, quick: true, peak: 100)
            if k.name == "s5" {
                #expect(row.newton_iterations == nil)
            } else {
                let its = try #require(row.newton_iterations)
                #expect(its >= 1 && its <= 40)
                let text = BenchReport(machine: [:], sgemm_gflops: [:], kernels: [row], scaling: []).text()
                #expect(text.contains("pararnn_gru: chunk = Newton-parallel forward, \(its) Newton iterations"))
            }
        }
    }

    @Test func preparedKernelsRunAllFourPathsOnShortSequences() {
        for k in KernelCatalog.all {
            let p = k.prepare(64, 5)
            p.chunk()
            p.makeStep()()
            p.naive()
            p.makeBackward()()
            #expect(p.ioBytes > 0, "\(k.name)")
        }
    }

    /// Every kernel's row at a tiny T: the backward fields are finite, positive and derived from
    /// the measured times as documented (no bound on any time).
    @Test func measuredRowsHaveFiniteBackwardFieldsAtATinyLength() throws {
        let peak = 100.0
        for k in KernelCatalog.all {
            let t = 64
            let row = BenchSuite.measure(k, prepared: k.prepare(t, 7), length: t, quick: true, peak: peak)
            let seconds = try #require(row.backward_seconds, "\(k.name)")
            let ratio = try #require(row.backward_ratio, "\(k.name)")
            let fraction = try #require(row.backward_peak_fraction, "\(k.name)")
            for (label, x) in [
                ("seconds", row.seconds), ("backward_seconds", seconds), ("backward_ratio", ratio),
                ("backward_peak_fraction", fraction),
            ] {
                #expect(x.isFinite && x > 0, "\(k.name): \(label) = \(x)")
            }
            #expect(ratio == seconds / row.seconds, "\(k.name)")
            let expected = 3 * k.effectiveFlops(t) / seconds / 1e9 / peak
            #expect(abs(fraction - expected) <= 1e-12 * expected, "\(k.name)")
            #expect(row.backward_peak_rss_mb == nil && row.backward_rss_ratio == nil)
        }
    }

    @Test func forwardBackwardMemoryProbeRunsInProcess() throws {
        let forward = try #require(BenchSuite.probeInProcess(KernelCatalog.all, kernel: "gla", length: 64))
        let both = try #require(
            BenchSuite.probeInProcess(KernelCatalog.all, kernel: "gla", length: 64, backward: true))
        #expect(both.peakMB > 0 && both.ioMB == forward.ioMB)
        #expect(BenchSuite.probeInProcess(KernelCatalog.all, kernel: "nope", length: 64, backward: true) == nil)
        #expect(BenchSuite.memoryLength(quick: false) == 65536)
        #expect(BenchSuite.memoryLength(quick: true) == 4096)
    }

    @Test func generatedKeysAreUnitVectors() {
        var rng = BenchRandom(seed: 3)
        let t = rng.unitRows([2, 5, 16])
        for r in 0..<10 {
            let row = t.scalars[(r * 16)..<((r + 1) * 16)]
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
    }

    static func sampleReport() -> BenchReport {
        func row(
            _ name: String, seconds: Double, fraction: Double, step: Double, backward: Double,
            backwardFraction: Double, rss: Double
        ) -> KernelBenchResult {
            KernelBenchResult(
                name: name, B: 1, T: 4096, H: 8, K: 128, V: 128, precision: "Float32", seconds: seconds,
                tokens_per_s: 4096 / seconds, gflops: 1, peak_fraction: fraction, step_speedup: step,
                naive_speedup: 10, peak_rss_mb: 1000, io_mb: 1000, memory_T: 65536, step_seconds: seconds * step,
                naive_seconds: seconds * 10, flop_formula: "f", backward_seconds: seconds * backward,
                backward_ratio: backward, backward_peak_fraction: backwardFraction, backward_peak_rss_mb: 1000 * rss,
                backward_rss_ratio: rss)
        }
        var s4d = row("s4d_conv", seconds: 0.01, fraction: 0.1, step: 9, backward: 5, backwardFraction: 0.1, rss: 3)
        s4d.memory_T = 4096  // a quick run's probe: no 64k memory targets
        let rows = [
            row("delta_rule", seconds: 0.1, fraction: 0.8, step: 3, backward: 3.5, backwardFraction: 0.45, rss: 2.5),
            row("gated_delta_rule", seconds: 0.1, fraction: 0.5, step: 1.5, backward: 4, backwardFraction: 0.3, rss: 2),
            row("gla", seconds: 0.2, fraction: 0.3, step: 2, backward: 3, backwardFraction: 0.3, rss: 2.6),
            row("delta_product", seconds: 0.2, fraction: 0.6, step: 2, backward: 9, backwardFraction: 0.1, rss: 1),
            s4d,
        ]
        let scaling = [
            ScalingPoint(name: "delta_rule", path: "chunk", T: 4096, ns_per_token: 100),
            ScalingPoint(name: "delta_rule", path: "chunk", T: 65536, ns_per_token: 110),
            ScalingPoint(name: "gla", path: "chunk", T: 4096, ns_per_token: 100),
            ScalingPoint(name: "gla", path: "chunk", T: 65536, ns_per_token: 130),
            ScalingPoint(name: "gla", path: "naive", T: 4096, ns_per_token: 1000),
            ScalingPoint(name: "s4d_conv", path: "chunk", T: 16384, ns_per_token: 5000),
        ]
        return BenchReport(
            machine: ["core": "SkylakeX"], sgemm_gflops: ["1": 100, "all": 190], kernels: rows, scaling: scaling)
    }

    @Test func jsonHasTheRequiredKeys() throws {
        let data = Data(Self.sampleReport().json().utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["machine", "sgemm_gflops", "kernels", "scaling"] { #expect(object[key] != nil, "\(key)") }
        let sgemm = try #require(object["sgemm_gflops"] as? [String: Double])
        #expect(Set(sgemm.keys) == ["1", "all"])
        let kernel = try #require((object["kernels"] as? [[String: Any]])?.first)
        for key in [
            "name", "B", "T", "H", "K", "V", "precision", "seconds", "tokens_per_s", "gflops", "peak_fraction",
            "step_speedup", "naive_speedup", "peak_rss_mb", "backward_seconds", "backward_ratio",
            "backward_peak_fraction", "backward_peak_rss_mb", "backward_rss_ratio",
        ] {
            #expect(kernel[key] != nil, "\(key)")
        }
        let point = try #require((object["scaling"] as? [[String: Any]])?.first)
        for key in ["name", "path", "T", "ns_per_token"] { #expect(point[key] != nil, "\(key)") }
        // A saved report decodes back (lrnn bench --from-json).
        let back = try JSONDecoder().decode(BenchReport.self, from: data)
        #expect(back.kernels.count == 5 && back.targets.count == Self.sampleReport().targets.count)
        #expect(back.kernels.first?.backward_ratio == 3.5)
    }

    /// A report saved before the backward was measured (no backward keys) still decodes, with
    /// the backward fields nil and no backward targets.
    @Test func reportsWithoutBackwardFieldsStillDecode() throws {
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(Self.sampleReport().json().utf8)) as? [String: Any])
        let backwardKeys = [
            "backward_seconds", "backward_ratio", "backward_peak_fraction", "backward_peak_rss_mb",
            "backward_rss_ratio",
        ]
        object["kernels"] = try #require(object["kernels"] as? [[String: Any]]).map { k in
            k.filter { !backwardKeys.contains($0.key) }
        }
        object["targets"] = try #require(object["targets"] as? [[String: Any]]).filter { t in
            !((t["target"] as? String)?.contains("backward") ?? false)
        }
        let data = try JSONSerialization.data(withJSONObject: object)
        let old = try JSONDecoder().decode(BenchReport.self, from: data)
        #expect(old.kernels.allSatisfy { $0.backward_seconds == nil && $0.backward_rss_ratio == nil })
        #expect(old.evaluateTargets().allSatisfy { !$0.target.contains("backward") })
        #expect(!old.text().contains("forward + backward"))
    }

    @Test func targetsAreEvaluatedAgainstTheirBounds() throws {
        let targets = Dictionary(uniqueKeysWithValues: Self.sampleReport().targets.map { ($0.target, $0) })
        #expect(targets["delta_rule: ≥ 75% of all-thread sgemm peak"]?.met == true)
        #expect(targets["gated_delta_rule: ≥ 75% of all-thread sgemm peak"]?.met == false)
        #expect(targets["gated_delta_rule: ≥ 2x the step path"]?.met == false)
        let gla = try #require(targets["gla: time ≤ 1.5x gated_delta_rule's"])
        #expect(gla.value == 2 && !gla.met)
        #expect(targets["delta_product: time ≤ 2.2x gated_delta_rule's"]?.met == true)
        #expect(targets["delta_rule: ns/token at 64k within 15% of 4k"]?.met == true)
        #expect(targets["gla: ns/token at 64k within 15% of 4k"]?.met == false)
        let rss = try #require(targets["delta_rule: peak RSS at 64k ≤ 1.3 × I/O + 200 MB (MB)"])
        #expect(rss.bound == 1500 && rss.met)
        let s4d = try #require(targets["s4d_conv: T = 16,384 in ≤ 100 ms (ms)"])
        #expect(abs(s4d.value - 81.92) < 1e-9 && s4d.met)
        let text = Self.sampleReport().text()
        #expect(text.contains("NO") && text.contains("delta_rule"))
    }

    @Test func backwardTargetsAreEvaluatedAgainstTheirBounds() throws {
        let all = Self.sampleReport().targets
        let targets = Dictionary(uniqueKeysWithValues: all.map { ($0.target, $0) })
        func target(_ name: String) throws -> BenchTarget { try #require(targets[name], "\(name)") }
        // backward_ratio ≤ 3.5: delta_rule, gated_delta_rule and gla only (the bound is inclusive).
        let ratio = "forward + backward ≤ 3.5x the forward's time"
        #expect(try target("delta_rule: \(ratio)").met)
        let gated = try target("gated_delta_rule: \(ratio)")
        #expect(gated.value == 4 && gated.bound == 3.5 && !gated.met)
        #expect(try target("gla: \(ratio)").met)
        #expect(targets["delta_product: \(ratio)"] == nil && targets["s4d_conv: \(ratio)"] == nil)
        // backward_peak_fraction ≥ 0.45: the two delta-rule kernels only.
        let fraction = "forward + backward ≥ 45% of all-thread sgemm peak (3x forward flops)"
        #expect(try target("delta_rule: \(fraction)").met)
        let gatedFraction = try target("gated_delta_rule: \(fraction)")
        #expect(gatedFraction.value == 0.3 && gatedFraction.bound == 0.45 && !gatedFraction.met)
        #expect(targets["gla: \(fraction)"] == nil)
        // Peak RSS ≤ 2.5 × the forward's, every kernel probed at 64k (not s4d_conv's 4k probe).
        let rss = "forward + backward peak RSS at 64k ≤ 2.5x the forward's"
        #expect(try target("delta_rule: \(rss)").met)
        let gla = try target("gla: \(rss)")
        #expect(gla.value == 2.6 && gla.bound == 2.5 && !gla.met)
        #expect(try target("delta_product: \(rss)").met)
        #expect(targets["s4d_conv: \(rss)"] == nil)
        // The text report's forward + backward table.
        let text = Self.sampleReport().text()
        #expect(text.contains("forward + backward") && text.contains("3.50x"))
    }

    @Test func plotDrawsChunkAndNaiveLines() {
        let svg = BenchPlot.svg(Self.sampleReport().scaling)
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains("gla (chunk)") && svg.contains("gla (naive)"))
        #expect(svg.contains("stroke-dasharray"))
    }

    @Test func procStatusValuesParseWithTabs() {
        #expect(PeakMemory.kilobytes("\t   90344 kB") == 90344)
        #expect(PeakMemory.kilobytes(" 12 kB") == 12)
        #expect(PeakMemory.kilobytes("") == nil)
        #expect(PeakMemory.peakMB > 0)
    }

    @Test func presetsAreTheFourModelTypesAndAHybrid() throws {
        #expect(
            ModelBench.presetNames == [
                "delta_net", "gated_deltanet", "gated_deltaproduct", "gla", "gated_deltanet_hybrid",
            ])
        for name in ModelBench.presetNames.dropLast() {
            let b = try #require(ModelBench.preset(name))
            #expect(b.configuration.hiddenSize == 1024 && b.configuration.vocabSize == 32000)
            #expect(b.blocks.first?.mixer.modelType == name)
        }
        #expect(ModelBench.preset("transformer") == nil)
        // The hybrid: the gated_deltanet preset with attention (window 2,048) in every 4th layer.
        let pure = try #require(ModelBench.preset("gated_deltanet"))
        let hybrid = try #require(ModelBench.preset("gated_deltanet_hybrid"))
        #expect(hybrid.blocks.count == pure.blocks.count && hybrid.configuration == pure.configuration)
        for (i, (h, p)) in zip(hybrid.blocks, pure.blocks).enumerated() {
            if i % 4 == 3 {
                guard case let .attention(a) = h.mixer else {
                    Issue.record("layer \(i): \(h.mixer.modelType)")
                    continue
                }
                #expect(a.windowSize == 2048 && a.numHeads == 16 && a.layers == [3, 7, 11, 15, 19])
            } else {
                #expect(h == p, "layer \(i)")
            }
        }
    }

    /// `lrnn bench --train` on a tiny configuration: every JSON field the issue names exists and
    /// is finite, and the flop count and budget follow their formulas (no bound on any time).
    @Test func trainBenchJSONFieldsAreFiniteOnATinyConfiguration() throws {
        var configuration = TrainBench.Configuration(quick: true)
        (configuration.hiddenSize, configuration.layers, configuration.vocabSize) = (32, 1, 50)
        (configuration.length, configuration.repeats) = (16, 1)
        let report = try TrainBench.run(["gla", "delta_net"], configuration: configuration, probeExecutable: nil)
        let object = try #require(
            JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let models = try #require(object["models"] as? [[String: Any]])
        #expect(models.count == 2)
        for m in models {
            for field in ["train_tokens_per_s", "train_peak_fraction", "train_peak_rss_mb", "train_rss_budget_mb"] {
                let value = try #require(m[field] as? Double, "\(field)")
                #expect(value.isFinite && value > 0, "\(field)")
            }
        }
        #expect(report.targets.count == 4)
        for r in report.models {
            let model = try #require(TrainBench.builder(r.model_type, configuration: configuration)).build(
                as: Float.self, seed: 1)
            let kernel = model.mixers.reduce(0.0) { $0 + ModelBench.kernelFlopsPerToken($1, hiddenSize: 32) }
            #expect(r.train_flops == 16 * (6 * Double(r.parameters) + 3 * kernel))
            #expect(r.train_rss_budget_mb == 16 * (3 * Double(r.parameters) + r.activation_floats) / 1_048_576)
            #expect(r.train_tokens_per_s == 16 / r.train_step_seconds)
        }
        let error = #expect(throws: TrainBench.Failure.self) {
            try TrainBench.run(["s4d"], configuration: configuration, probeExecutable: nil)
        }
        #expect(
            error?.description == "unknown model type 's4d'; known: \(TrainBench.modelTypes.joined(separator: ", "))")
    }
}
