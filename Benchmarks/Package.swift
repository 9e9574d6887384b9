// swift-tools-version: 6.1
// The kernel benchmark suite (package-benchmark). A separate package so that `swift test` at
// the repository root never builds it. Run it from this directory:
//   swift package benchmark
import PackageDescription

let package = Package(
    name: "LinearRNNBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "LinearRNN", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "KernelBenchmarks",
            dependencies: [
                .product(name: "LinearRNN", package: "LinearRNN"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/KernelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
