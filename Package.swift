// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "LinearRNN",
    products: [
        .library(name: "LinearRNN", targets: ["LinearRNN"]),
        .executable(name: "lrnn", targets: ["lrnn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C shims: system libraries only, no API of their own.
        .systemLibrary(
            name: "CLRNNBLAS",
            path: "Modules/CLRNNBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CLRNNLAPACKE",
            path: "Modules/CLRNNLAPACKE",
            pkgConfig: "lapacke",
            providers: [.apt(["liblapacke-dev"])]
        ),
        // Process-start fix-up of OpenBLAS's kernel choice on CPUs it does not recognise, and the
        // non-temporal copy loops behind StreamingCopy.
        .target(name: "CLRNNStartup", dependencies: ["CLRNNBLAS"], path: "Modules/CLRNNStartup"),
        // Layers: linear algebra -> kernels -> models -> tool.
        .target(
            name: "LRNNLinearAlgebra",
            dependencies: [
                "CLRNNBLAS", "CLRNNLAPACKE", "CLRNNStartup",
                .product(name: "Numerics", package: "swift-numerics"),
            ]
        ),
        .target(name: "LRNNKernels", dependencies: ["LRNNLinearAlgebra"]),
        .target(name: "LRNNModels", dependencies: ["LRNNKernels", "LRNNLinearAlgebra"]),
        // Training above the models: loss, AdamW, clipping, schedules, the Trainer, checkpoints.
        .target(name: "LRNNTraining", dependencies: ["LRNNModels", "LRNNKernels", "LRNNLinearAlgebra"]),
        // Tokenizers are not models: text to ids and back, on Foundation only.
        .target(name: "LRNNTokenizers"),
        .target(
            name: "LinearRNN",
            dependencies: ["LRNNLinearAlgebra", "LRNNKernels", "LRNNModels", "LRNNTraining", "LRNNTokenizers"]
        ),
        .target(
            name: "LRNNTool",
            dependencies: ["LRNNLinearAlgebra", "LRNNKernels", "LRNNModels", "LRNNTraining", "LRNNTokenizers"]
        ),
        .executableTarget(
            name: "lrnn",
            dependencies: [
                "LRNNTool",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Tests: one target per module, shared helpers in a support target.
        .target(
            name: "LRNNTestSupport",
            dependencies: [
                "LRNNLinearAlgebra", "LRNNModels", "LRNNTraining",
                .product(name: "Numerics", package: "swift-numerics"),
            ],
            path: "Tests/LRNNTestSupport"
        ),
        .testTarget(
            name: "LRNNLinearAlgebraTests",
            dependencies: ["LRNNLinearAlgebra", "LRNNTestSupport"]
        ),
        .testTarget(
            name: "LRNNKernelsTests",
            dependencies: ["LRNNKernels", "LRNNLinearAlgebra", "LRNNTestSupport"]
        ),
        .testTarget(
            name: "LRNNModelsTests",
            dependencies: ["LRNNModels", "LRNNKernels", "LRNNLinearAlgebra", "LRNNTestSupport"]
        ),
        .testTarget(
            name: "LRNNTrainingTests",
            dependencies: ["LRNNTraining", "LRNNModels", "LRNNLinearAlgebra", "LRNNTestSupport"]
        ),
        .testTarget(
            name: "LRNNTokenizersTests",
            dependencies: ["LRNNTokenizers", "LRNNTestSupport"]
        ),
        .testTarget(
            name: "LRNNToolTests",
            dependencies: [
                "LRNNTool", "LRNNModels", "LRNNKernels", "LRNNLinearAlgebra", "LRNNTokenizers", "LRNNTraining",
                "LRNNTestSupport",
            ]
        ),
    ]
)

// Documentation: `make docs` sets LRNN_DOCC so the DocC plugin is resolved only when asked
// for; ordinary builds and `make test` never fetch it.
if Context.environment["LRNN_DOCC"] != nil {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"))
}
