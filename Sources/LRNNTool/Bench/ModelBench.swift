import Foundation
import LRNNLinearAlgebra
import LRNNModels

/// One model's figures in `lrnn bench --preset/--model`.
package struct ModelBenchResult: Codable, Sendable {
    /// The preset name or the model directory.
    package var name: String
    /// fla's `model_type`.
    package var model_type: String
    /// All parameters (embedding and head counted once each; a tied head not again).
    package var parameters: Int
    /// Parameters outside the embedding table and the LM head.
    package var non_embedding_parameters: Int
    /// Effective kernel flops per token summed over the layers (the `lrnn bench` kernel counts).
    package var kernel_flops_per_token: Double
    /// Prefill sequence length.
    package var prefill_T: Int
    /// Tokens of context the batch-1 sequence holds before its timed decoding steps (`--context`;
    /// batch 8 always decodes after 16 tokens, since its prefill would be 8 times as long).
    package var decode_b1_context: Int
    /// Prefill tokens/s (one sequence of `prefill_T` tokens, last-token logits).
    package var prefill_tokens_per_s: Double
    /// The prefill target: half the rate the all-thread sgemm peak implies,
    /// `0.5 · peak / (2·non_embedding_parameters + kernel_flops_per_token)`.
    package var prefill_target_tokens_per_s: Double
    /// Decode tokens/s with one sequence.
    package var decode_b1_tokens_per_s: Double
    /// Decode tokens/s with 8 sequences (tokens of all sequences per second).
    package var decode_b8_tokens_per_s: Double
    /// Bytes of weights one decoding step reads (every weight once, the head included; one
    /// embedding row per sequence is negligible and not counted).
    package var decode_weight_bytes: Double
    /// The decode target: half the rate the measured bandwidth implies,
    /// `0.5 · bandwidth / decode_weight_bytes`.
    package var decode_target_tokens_per_s: Double
    /// Peak resident memory while building and running this model, MB.
    package var peak_rss_mb: Double
    /// Seconds to build (random weights) or load the model.
    package var load_seconds: Double
}

/// The report of `lrnn bench --preset/--model`; `--json` prints exactly this object.
package struct ModelBenchReport: Codable, Sendable {
    /// The machine (OpenBLAS core, threads, CPU).
    package var machine: [String: String]
    /// sgemm GFLOP/s at n = 2048: `{"1": x, "all": y}`.
    package var sgemm_gflops: [String: Double]
    /// Memory bandwidth (STREAM-style triad, all threads), GB/s.
    package var memory_bandwidth_gbs: Double
    /// One entry per model.
    package var models: [ModelBenchResult]

    /// Pretty-printed JSON with sorted keys.
    package func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Aligned text table.
    package func text() -> String {
        var out = "machine: " + machine.keys.sorted().map { "\($0)=\(machine[$0]!)" }.joined(separator: "  ") + "\n"
        out += String(
            format: "sgemm n=2048: %.1f GFLOP/s (1 thread), %.1f GFLOP/s (all threads); memory bandwidth %.1f GB/s\n\n",
            sgemm_gflops["1"] ?? .nan, sgemm_gflops["all"] ?? .nan, memory_bandwidth_gbs)
        var rows = [
            [
                "model", "type", "params M", "non-emb M", "prefill tok/s", "target", "met", "decode b1 tok/s",
                "target", "met", "decode b8 tok/s", "peak RSS MB",
            ]
        ]
        for m in models {
            rows.append([
                m.name, m.model_type, String(format: "%.1f", Double(m.parameters) / 1e6),
                String(format: "%.1f", Double(m.non_embedding_parameters) / 1e6),
                String(format: "%.0f", m.prefill_tokens_per_s), String(format: "%.0f", m.prefill_target_tokens_per_s),
                m.prefill_tokens_per_s >= m.prefill_target_tokens_per_s ? "yes" : "no",
                String(format: "%.2f", m.decode_b1_tokens_per_s), String(format: "%.2f", m.decode_target_tokens_per_s),
                m.decode_b1_tokens_per_s >= m.decode_target_tokens_per_s ? "yes" : "no",
                String(format: "%.2f", m.decode_b8_tokens_per_s), String(format: "%.0f", m.peak_rss_mb),
            ])
        }
        return out + BenchReport.alignedTable(rows)
    }
}

/// `lrnn bench --preset/--model`: prefill and decode throughput of whole models.
package enum ModelBench {
    /// Where a model comes from.
    package enum Source: Sendable {
        /// A built-in random-weight preset.
        case preset(String)
        /// An fla model directory.
        case directory(String)
    }

    /// The presets' names: one per model type, shaped like fla's published 340M models, and a
    /// Gated DeltaNet hybrid with sliding-window softmax attention.
    package static let presetNames = [
        "delta_net", "gated_deltanet", "gated_deltaproduct", "gla", "gated_deltanet_hybrid",
    ]

    /// The layers of the hybrid preset that use attention: every 4th (3, 7, 11, 15, 19 of 21).
    package static func hybridAttentionLayers(_ layers: Int) -> [Int] { (0..<layers).filter { $0 % 4 == 3 } }

    /// The builder of preset `name` (vocabulary 32,000, width 1,024, MLP from hidden_ratio 4):
    /// - `delta_net`: 24 layers, 8 heads, expand_k = expand_v = 1, short convolutions, no output gate;
    /// - `gated_deltanet`: 21 layers, 6 heads of head_dim 256, expand_v 2, output gate;
    /// - `gated_deltaproduct`: as gated_deltanet with num_householder 2 and the forget gate;
    /// - `gla`: 24 layers, 4 heads, expand_k 0.5, expand_v 1, output gate, tied embeddings;
    /// - `gated_deltanet_hybrid`: the `gated_deltanet` preset with every 4th layer (3, 7, 11, 15, 19)
    ///   replaced by softmax attention (fla's `attn`: 16 heads of 64, as many KV heads, sliding
    ///   window 2,048, rope_theta 10,000).
    ///
    /// - Parameter name: one of ``presetNames``.
    package static func preset(_ name: String) -> ModelBuilder? {
        if name == "gated_deltanet_hybrid" {
            guard var b = preset("gated_deltanet") else { return nil }
            let attention = AttentionConfiguration(
                layers: hybridAttentionLayers(b.blocks.count), numHeads: 16, windowSize: 2048)
            for i in attention.layers { b.blocks[i] = BlockSpecification(mixer: .attention(attention)) }
            return b
        }
        let tie = name == "gla"
        var b = ModelBuilder(vocabSize: 32000, hiddenSize: 1024, tieWordEmbeddings: tie, eosTokenIds: [2])
        let (layers, mixer): (Int, MixerConfiguration)
        switch name {
        case "delta_net":
            (layers, mixer) = (
                24, .deltaNet(DeltaNetConfiguration(numHeads: 8, expandK: 1, expandV: 1, useGate: false))
            )
        case "gated_deltanet":
            (layers, mixer) = (21, .gatedDeltaNet(GatedDeltaNetConfiguration(numHeads: 6, headDim: 256, expandV: 2)))
        case "gated_deltaproduct":
            (layers, mixer) = (
                21,
                .gatedDeltaProduct(
                    GatedDeltaProductConfiguration(
                        numHeads: 6, headDim: 256, expandV: 2, numHouseholder: 2, useForgetGate: true))
            )
        case "gla":
            (layers, mixer) = (24, .gla(GLAConfiguration(numHeads: 4, expandK: 0.5, expandV: 1)))
        default: return nil
        }
        for _ in 0..<layers { b.append(mixer) }
        return b
    }

    /// Effective kernel flops per token of one layer's mixer (the `lrnn bench` counts).
    package static func kernelFlopsPerToken(_ mixer: MixerConfiguration, hiddenSize d: Int) -> Double {
        let hidden = Double(d)
        switch mixer {
        case let .deltaNet(c):
            let h = Double(c.numHeads)
            return h * KernelCatalog.deltaFlopsPerStep(keyDim: hidden * c.expandK / h, valueDim: hidden * c.expandV / h)
        case let .gatedDeltaNet(c):
            return Double(c.valueHeads)
                * KernelCatalog.deltaFlopsPerStep(keyDim: Double(c.headDim), valueDim: Double(c.headVDim))
        case let .gatedDeltaProduct(c):
            return Double(c.numHeads * c.numHouseholder)
                * KernelCatalog.deltaFlopsPerStep(keyDim: Double(c.headDim), valueDim: Double(c.headDim) * c.expandV)
        case let .gla(c):
            let h = Double(c.numHeads)
            return h * KernelCatalog.glaFlopsPerToken(keyDim: hidden * c.expandK / h, valueDim: hidden * c.expandV / h)
        case let .s4d(c):
            // The s4d_conv count with H = the model width: 2·64 + 4·N per channel.
            return hidden * (2 * KernelCatalog.flopChunk + 4 * Double(c.stateSize))
        case let .paraRNN(c):
            // The projection's GEMMs, 6·hidden·D/Hh (the kernel row's count).
            return 6 * hidden * Double(c.resolvedStateSize(hiddenSize: d)) / Double(c.numHeads)
        case let .attention(c):
            // q·kᵀ and p·v over the keys a query sees, averaged over the prefill length T = 2,048
            // (1,024 keys for global attention; the window when it is shorter).
            let keys = Double(Swift.min(c.windowSize ?? 1024, 1024))
            return 4 * hidden * keys
        case let .pLSTM1D(c):
            // The state update and read per head, as GLA's count at DK×DV (JT = 1).
            return Double(c.numHeads)
                * KernelCatalog.glaFlopsPerToken(keyDim: Double(c.keyDim), valueDim: Double(c.valueDim))
        }
    }

    /// An error of the model benchmark (unknown preset, a model that fails to load or run).
    package struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        package var description: String
    }

    /// Runs every source: prefill at T = 2,048 (batch 1), decode at batch 1 and 8.
    ///
    /// - Parameters:
    ///   - sources: the presets and model directories.
    ///   - quick: fewer repeats and decoding steps.
    ///   - decodeContext: the tokens the batch-1 sequence is prefilled with before its timed
    ///     decoding steps (≥ 1; the decode rate of an attention layer depends on it); batch 8
    ///     decodes after 16 tokens.
    ///   - log: progress messages.
    /// - Returns: the report.
    /// - Throws: ``Failure`` for an unknown preset or a model that fails to load or run.
    package static func run(
        _ sources: [Source], quick: Bool, decodeContext: Int = 16, log: (String) -> Void = { _ in }
    ) throws -> ModelBenchReport {
        let threads = Threading.workerCount
        log("measuring sgemm peaks and memory bandwidth")
        let s1 = GEMMBenchmark.gflops(Float.self, n: 2048, threads: 1)
        let sAll = GEMMBenchmark.gflops(Float.self, n: 2048, threads: threads)
        let bandwidth = MemoryBandwidth.triadGBs()
        var results: [ModelBenchResult] = []
        for source in sources {
            PeakMemory.resetPeak()
            let t0 = BenchTimer.now()
            let model: CausalLM<Float>
            let name: String
            switch source {
            case let .preset(p):
                name = p
                log("\(p): building random weights")
                guard let builder = preset(p) else { throw Failure(description: "unknown preset '\(p)'") }
                do { model = try builder.build(as: Float.self, seed: 1) } catch {
                    throw Failure(description: "preset \(p): \(error)")
                }
            case let .directory(dir):
                name = dir
                log("\(dir): loading")
                do { model = try CausalLM<Float>.load(directory: dir) } catch {
                    throw Failure(description: "\(dir): \(error)")
                }
            }
            let loadSeconds = BenchTimer.now() - t0
            results.append(
                try measure(
                    model, name: name, quick: quick, decodeContext: decodeContext, sgemmAll: sAll,
                    bandwidth: bandwidth, loadSeconds: loadSeconds, log: log))
        }
        return ModelBenchReport(
            machine: BenchSuite.machine(threads: threads), sgemm_gflops: ["1": s1, "all": sAll],
            memory_bandwidth_gbs: bandwidth, models: results)
    }

    static func measure(
        _ model: CausalLM<Float>, name: String, quick: Bool, decodeContext: Int, sgemmAll: Double, bandwidth: Double,
        loadSeconds: Double, log: (String) -> Void
    ) throws -> ModelBenchResult {
        let vocab = model.vocabSize
        let d = model.hiddenSize
        let tied = model.configuration.tieWordEmbeddings
        let total = model.parameters().values.reduce(0) { $0 + $1.count }
        let headParams = vocab * d
        let nonEmbedding = total - vocab * d - (tied ? 0 : headParams)
        let kernelFlops = model.mixers.reduce(0.0) { $0 + kernelFlopsPerToken($1, hiddenSize: d) }
        var rng = BenchRandom(seed: 11)
        func ids(_ n: Int) -> [Int] { (0..<n).map { _ in Int(rng.next() % UInt64(vocab)) } }
        let prefillT = 2048
        func wrap<R>(_ what: String, _ body: () throws -> R) throws -> R {
            do { return try body() } catch { throw Failure(description: "\(name): \(what): \(error)") }
        }
        // Prefill: a short warm-up, then the timed full-length prompt(s).
        log("\(name): prefill T = \(prefillT)")
        _ = try wrap("prefill") {
            var c = model.makeCache(batchSize: 1)
            return try model.prefill([ids(64)], cache: &c)
        }
        let prompt = ids(prefillT)
        var prefillTimes: [Double] = []
        for _ in 0..<(quick ? 1 : 2) {
            var cache = model.makeCache(batchSize: 1)
            let t = try wrap("prefill") { () throws -> Double in
                let t0 = BenchTimer.now()
                _ = try model.prefill([prompt], cache: &cache)
                return BenchTimer.now() - t0
            }
            prefillTimes.append(t)
        }
        let prefillRate = Double(prefillT) / prefillTimes.min()!
        // Decode: prefill the context, one untimed step, then timed steps.
        func decodeRate(batch: Int, steps: Int, context: Int) throws -> Double {
            log("\(name): decode batch \(batch) after \(context) tokens")
            var cache = model.makeCache(batchSize: batch)
            _ = try wrap("prefill") { try model.prefill((0..<batch).map { _ in ids(context) }, cache: &cache) }
            _ = try wrap("decode") { try model.decode(ids(batch), cache: &cache) }
            let tokens = (0..<steps).map { _ in ids(batch) }
            let t0 = BenchTimer.now()
            for tk in tokens { _ = try wrap("decode") { try model.decode(tk, cache: &cache) } }
            return Double(batch * steps) / (BenchTimer.now() - t0)
        }
        let b1 = try decodeRate(batch: 1, steps: quick ? 8 : 24, context: decodeContext)
        let b8 = try decodeRate(batch: 8, steps: quick ? 4 : 12, context: 16)
        let weightBytes = 4 * Double(nonEmbedding + headParams)
        return ModelBenchResult(
            name: name, model_type: model.mixers.first?.modelType ?? "?", parameters: total,
            non_embedding_parameters: nonEmbedding, kernel_flops_per_token: kernelFlops, prefill_T: prefillT,
            decode_b1_context: decodeContext,
            prefill_tokens_per_s: prefillRate,
            prefill_target_tokens_per_s: 0.5 * sgemmAll * 1e9 / (2 * Double(nonEmbedding) + kernelFlops),
            decode_b1_tokens_per_s: b1, decode_b8_tokens_per_s: b8, decode_weight_bytes: weightBytes,
            decode_target_tokens_per_s: 0.5 * bandwidth * 1e9 / weightBytes, peak_rss_mb: PeakMemory.peakMB,
            load_seconds: loadSeconds)
    }
}
