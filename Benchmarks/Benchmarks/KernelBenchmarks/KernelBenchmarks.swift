import Benchmark
import Foundation
import LinearRNN

// One benchmark per kernel at the standard shape of `lrnn bench` (Float32, B = 1):
// delta-rule family and GLA at H = 8, K = V = 128, T = 4,096; s4d_conv at H = 256, N = 64 and
// s5 at H = 256, P = 128, T = 4,096. Each iteration is one chunked forward over the whole
// sequence, so throughput is forwards per second (tokens/s = throughput × 4,096).
// Inputs are made once, before any iteration; only the kernel call is measured.

let tokens = 4096
let heads = 8
let headDim = 128

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 25
    )

    for (name, gated, n) in [
        ("delta_rule", false, 1), ("gated_delta_rule", true, 1), ("delta_product_n2_gated", true, 2),
    ] {
        var rng = Inputs(seed: 1)
        let q = rng.unitRows([1, tokens, heads, headDim])
        let k = rng.unitRows([1, tokens * n, heads, headDim])
        let v = rng.tensor([1, tokens * n, heads, headDim]) { $0.normal() }
        let beta = rng.tensor([1, tokens * n, heads]) { 1 / (1 + exp(-$0.normal())) }
        let g: Tensor<Float>? =
            gated ? rng.tensor([1, tokens, heads]) { -exp(-6.907_755 + 4.605_170 * $0.unit()) } : nil
        Benchmark("\(name) B=1 H=8 K=V=128 T=4096") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try DeltaRule.chunked(q: q, k: k, v: v, beta: beta, g: g, numHouseholder: n))
            }
        }
    }

    do {
        var rng = Inputs(seed: 2)
        let q = rng.tensor([1, tokens, heads, headDim]) { $0.normal() }
        let k = rng.tensor([1, tokens, heads, headDim]) { $0.normal() }
        let v = rng.tensor([1, tokens, heads, headDim]) { $0.normal() }
        let gk = rng.tensor([1, tokens, heads, headDim]) { -log1p(exp(-$0.normal())) / 16 }
        Benchmark("gla B=1 H=8 K=V=128 T=4096") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try GLA.chunked(q: q, k: k, v: v, gk: gk))
            }
        }
    }

    do {
        var rng = Inputs(seed: 3)
        let u = rng.tensor([1, tokens, 256]) { $0.normal() }
        Benchmark("s4d_conv B=1 H=256 N=64 T=4096") { benchmark in
            let params = try S4DParameters<Double>.initialized(
                channels: 256, stateSize: 64, initialization: .lin, seed: 3
            )
            .converted(to: Float.self)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try S4D.convolve(u, parameters: params, discretization: .zoh))
            }
        }
    }

    do {
        var rng = Inputs(seed: 4)
        let (h, p) = (256, 128)
        let u = rng.tensor([1, tokens, h]) { $0.normal() }
        let lambdaIm = Tensor<Float>(shape: [p], scalars: (0..<p).map { Float.pi * Float($0) })
        let bRe = rng.tensor([p, h]) { $0.normal() / 16 }
        let bIm = rng.tensor([p, h]) { $0.normal() / 16 }
        let cRe = rng.tensor([h, p]) { $0.normal() / Float(p).squareRoot() }
        let cIm = rng.tensor([h, p]) { $0.normal() / Float(p).squareRoot() }
        let logStep = rng.tensor([p]) { -6.907_755 + 4.605_170 * $0.unit() }
        let d = rng.tensor([h]) { $0.normal() }
        Benchmark("s5 B=1 H=256 P=128 T=4096") { benchmark in
            let params = try S5Parameters(
                lambdaRe: Tensor(shape: [p], repeating: -0.5), lambdaIm: lambdaIm, bRe: bRe, bIm: bIm, cRe: cRe,
                cIm: cIm, logStep: logStep, d: d, conjugateSymmetric: true)
            let system = S5System(params, discretization: .zoh)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try S5.run(u, system: system))
            }
        }
    }
}
