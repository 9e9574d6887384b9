// swift-tools-version: 6.1
// An application that uses LinearRNN as a dependency, exactly as another package would: it
// depends on the repository root and imports only the umbrella `LinearRNN` product.
// `make test` builds and runs it, so a symbol it needs that is not `public` fails the build.
import PackageDescription

let package = Package(
    name: "consumer",
    dependencies: [
        .package(name: "LinearRNN", path: "../../..")
    ],
    targets: [
        .executableTarget(
            name: "consumer",
            dependencies: [.product(name: "LinearRNN", package: "LinearRNN")]
        )
    ]
)
