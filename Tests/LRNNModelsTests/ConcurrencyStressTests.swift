import ComplexModule
import Foundation
import LRNNKernels
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Synchronization
import Testing

/// The bit patterns of every scalar a call returned, for exact comparison (NaN and −0 included).
typealias Fingerprint = [UInt64]

/// Appends the bit patterns of `t`'s scalars.
func appendBits(_ t: Tensor<Float>, to f: inout Fingerprint) {
    f.append(contentsOf: t.shape.map { UInt64($0) })
    f.append(contentsOf: t.scalars.map { UInt64($0.bitPattern) })
}

/// Appends the bit patterns of a complex tensor's real and imaginary parts.
func appendBits(_ t: Tensor<Complex<Float>>, to f: inout Fingerprint) {
    f.append(contentsOf: t.shape.map { UInt64($0) })
    for z in t.scalars { f.append(UInt64(z.real.bitPattern) << 32 | UInt64(z.imaginary.bitPattern)) }
}

/// One computation of the stress test: a name and a call that returns its result's bits.
struct StressJob: Sendable {
    let name: String
    let run: @Sendable () throws -> Fingerprint
}

/// Several threads (and Swift concurrency tasks) run different kernels and models at once; every
/// result must be bit-identical to the same call run alone. Sizes are small so that a debug build
/// runs the suite in a few seconds on two cores, but every kernel has several work items
/// (batches × heads or channels), so `Threading.parallelFor` regions really overlap.
@Suite("ConcurrencyStress", .serialized)
struct ConcurrencyStressTests {
    /// The kernels (Float32) on seeded inputs.
    static func kernelJobs() throws -> [StressJob] {
        var r = SeededRandom(seed: 2024)
        let (b, t, h, d) = (2, 80, 4, 16)
        // Delta rule: 8 (batch, head) items.
        let q = r.tensor([b, t, h, d], as: Float.self)
        let k = r.tensor([b, t, h, d], -0.5...0.5, as: Float.self)
        let v = r.tensor([b, t, h, d], as: Float.self)
        let beta = r.tensor([b, t, h], 0.1...0.9, as: Float.self)
        let g = r.tensor([b, t, h], -0.2...(-0.01), as: Float.self)
        let deltaRule = StressJob(name: "DeltaRule.chunked") {
            let (o, s) = try DeltaRule.chunked(q: q, k: k, v: v, beta: beta, g: g, chunkSize: 32)
            var f = Fingerprint()
            appendBits(o, to: &f)
            appendBits(s, to: &f)
            return f
        }
        // GLA: 8 items.
        let gk = r.tensor([b, t, h, d], -0.5...(-0.01), as: Float.self)
        let gla = StressJob(name: "GLA.chunked") {
            let (o, s) = try GLA.chunked(q: q, k: k, v: v, gk: gk, chunkSize: 32, subChunkSize: 16)
            var f = Fingerprint()
            appendBits(o, to: &f)
            appendBits(s, to: &f)
            return f
        }
        // S4D: 2 batches × 16 channels.
        let s4dParameters = try S4DParameters<Float>.initialized(
            channels: 16, stateSize: 16, initialization: .lin, seed: 5)
        let u4 = r.tensor([2, 96, 16], as: Float.self)
        let s4d = StressJob(name: "S4D.chunked") {
            let (y, s) = try S4D.chunked(
                S4D.Inputs(u: u4, parameters: s4dParameters), discretization: .zoh, chunkSize: 32)
            var f = Fingerprint()
            appendBits(y, to: &f)
            appendBits(s, to: &f)
            return f
        }
        // S5: 3 batch entries.
        let (p5, h5) = (8, 12)
        let s5Parameters = try S5Parameters<Float>(
            lambdaRe: r.tensor([p5], -1...(-0.1)), lambdaIm: r.tensor([p5], -3...3), bRe: r.tensor([p5, h5]),
            bIm: r.tensor([p5, h5]), cRe: r.tensor([h5, p5]), cIm: r.tensor([h5, p5]),
            logStep: r.tensor([p5], -4...(-1)), d: r.tensor([h5]), conjugateSymmetric: true)
        let system = S5System(s5Parameters, discretization: .zoh)
        let u5 = r.tensor([3, 96, h5], as: Float.self)
        let s5 = StressJob(name: "S5.chunked") {
            let (y, s) = try S5.chunked(u5, system: system, chunkSize: 32)
            var f = Fingerprint()
            appendBits(y, to: &f)
            appendBits(s, to: &f)
            return f
        }
        return [deltaRule, gla, s4d, s5]
    }

    /// Two models (the golden fla checkpoints when present, else tiny random models): logits of a
    /// batch of two prompts, a prefill and one decoding step through a cache, and sampled generation.
    static func modelJobs() throws -> [StressJob] {
        let models: [(String, CausalLM<Float>)]
        if Golden.isAvailable {
            models = try ["model_gla", "model_delta_net"].map {
                ($0, try CausalLM<Float>.load(directory: Golden.path($0)))
            }
        } else {
            models = [
                ("tiny gla", try TinyModels.model([TinyModels.gla, TinyModels.gla], as: Float.self, seed: 3)),
                (
                    "tiny delta_net",
                    try TinyModels.model([TinyModels.deltaNet, TinyModels.s4d], as: Float.self, seed: 4)
                ),
            ]
        }
        return models.map { name, model in
            let vocab = model.vocabSize
            let prompts = [0, 1].map { s in TinyModels.ids(24, seed: UInt64(10 + s)).map { $0 % vocab } }
            return StressJob(name: "CausalLM \(name)") {
                var f = Fingerprint()
                appendBits(try model.logits(prompts), to: &f)
                var cache = model.makeCache(batchSize: 2)
                appendBits(try model.forward(prompts, cache: &cache), to: &f)
                appendBits(try model.forward([[1], [2]], cache: &cache), to: &f)
                let options = GenerationOptions(maxNewTokens: 4, temperature: 0.8, seed: 7, eosTokenIds: [])
                let generated = try model.generate(prompts: prompts, options: options)
                f.append(contentsOf: generated.tokens.joined().map { UInt64($0) })
                return f
            }
        }
    }

    /// Runs every job alone, once, for the expected results.
    static func baselines(_ jobs: [StressJob]) throws -> [Fingerprint] {
        try jobs.map { try $0.run() }
    }

    @Test("4 kernels and 2 models on 6 threads, 50 iterations each, bit-identical to each run alone")
    func threads() throws {
        do {
            let jobs = try Self.kernelJobs() + Self.modelJobs()
            let expected = try Self.baselines(jobs)
            let failures = Mutex<[String]>([])
            let iterations = 50
            let group = DispatchGroup()
            for (j, job) in jobs.enumerated() {
                group.enter()
                let want = expected[j]
                let thread = Thread {
                    defer { group.leave() }
                    for i in 0..<iterations {
                        do {
                            if try job.run() != want {
                                failures.withLock { $0.append("\(job.name): iteration \(i) differs") }
                            }
                        } catch {
                            failures.withLock { $0.append("\(job.name): iteration \(i) threw \(error)") }
                        }
                    }
                }
                thread.start()
            }
            group.wait()
            let found = failures.withLock { $0 }
            #expect(found.isEmpty, "\(found.prefix(10))")
            #expect(Threading.blasThreads == 1)
        }
    }

    @Test("the same jobs as Swift concurrency tasks, bit-identical to each run alone")
    func tasks() async throws {
        let jobs = try Self.kernelJobs() + Self.modelJobs()
        let expected = try Self.baselines(jobs)
        let failures = try await withThrowingTaskGroup(of: [String].self) { group in
            for (j, job) in jobs.enumerated() {
                let want = expected[j]
                for round in 0..<3 {
                    group.addTask {
                        try job.run() == want ? [] : ["\(job.name): task \(round) differs"]
                    }
                }
            }
            var all: [String] = []
            for try await f in group { all += f }
            return all
        }
        #expect(failures.isEmpty, "\(failures)")
    }
}
