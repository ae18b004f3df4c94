// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "uqcit-compress",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "coordinator", targets: ["coordinator"]),
        .executable(name: "worker", targets: ["worker"]),
        .executable(name: "uqcit", targets: ["uqcit"]),
        .library(name: "Engine", targets: ["Engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // System libraries: OpenBLAS (BLAS + LAPACK through LAPACKE) and libzmq.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas"),
        .systemLibrary(name: "CZMQ", path: "Sources/CZMQ"),

        // Numerics, checkpoint reading, the per-tensor and per-tile steps, and package I/O.
        .target(
            name: "Engine",
            dependencies: [
                "COpenBLAS", .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Engine",
            // -Ounchecked: the ggml kernels rely on C's float-to-int conversion of non-finite blocks, which -O traps
            // on (GGMLBlockFormatTests). So every reader of files and peers' bytes here validates at entry instead:
            // safetensors headers and reads, tile arrays (TileCodec.checkArrays), packages, rotation descriptors.
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        // The wire contract (generated protobuf) and the ZeroMQ transport.
        .target(
            name: "UQCITProtocol",
            dependencies: ["CZMQ", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Sources/Protocol"),
        // Planning, scheduling, executors and the package assembler: the job itself (Runtime: the forward pass of a
        // calibrated job's layer passes, and the tokenizers of its calibration text).
        .target(
            name: "Pipeline",
            dependencies: ["Engine", "UQCITProtocol", "Runtime", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Pipeline"),
        // Forward passes (Llama family, BERT) on OpenBLAS from a checkpoint or straight from a package; validation.
        .target(
            name: "Runtime",
            dependencies: ["Engine", "COpenBLAS"],
            path: "Sources/Runtime",
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        // The design's ablations, noise curve and the quality-against-bits report, on real packages.
        .target(
            name: "Validation",
            dependencies: ["Engine", "Pipeline", "Runtime"],
            path: "Sources/Validation",
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        // The command-line surface, shared by the three executables.
        .target(
            name: "Commands",
            dependencies: ["Engine", "Pipeline", "Runtime", "Validation", "UQCITProtocol",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Yams", package: "Yams")],
            path: "Sources/Commands"),

        .executableTarget(name: "coordinator", dependencies: ["Commands"], path: "Sources/Coordinator"),
        .executableTarget(name: "worker", dependencies: ["Commands"], path: "Sources/Worker"),
        .executableTarget(name: "uqcit", dependencies: ["Commands"], path: "Sources/UQCIT"),

        // The fuzz targets' entry points, shared by the libFuzzer binary (Fuzz/) and the corpus replay tests.
        .target(
            name: "FuzzEntryPoints",
            dependencies: ["Engine", "Pipeline", "UQCITProtocol"],
            path: "Sources/FuzzEntryPoints",
            resources: [.copy("Resources/uqcit_metadata.json")]),

        // Paths to the checkout, the shared models and package comparisons, for every test target.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["TestSupport", "Engine", "FuzzEntryPoints"], path: "Tests/EngineTests", exclude: ["Fixtures"]),
        .testTarget(name: "ProtocolTests", dependencies: ["UQCITProtocol"], path: "Tests/ProtocolTests"),
        .testTarget(name: "RuntimeTests", dependencies: ["TestSupport", "Runtime", "Engine", "Pipeline"], path: "Tests/RuntimeTests",
                    exclude: ["Fixtures"]),
        .testTarget(name: "ValidationTests", dependencies: ["TestSupport", "Validation", "Pipeline", "Engine"], path: "Tests/ValidationTests"),
        .testTarget(name: "PipelineTests", dependencies: ["TestSupport", "Pipeline", "Commands", "Engine", "Runtime", "Validation", "UQCITProtocol", "FuzzEntryPoints"], path: "Tests/PipelineTests",
                    exclude: ["Fixtures"]),
        // Coordinator and worker processes over 127.0.0.1: kills, resume, bad frames, CURVE.
        .testTarget(name: "ClusterTests", dependencies: ["TestSupport", "Pipeline", "Engine", "UQCITProtocol", "COpenBLAS"], path: "Tests/ClusterTests"),
    ]
)

// The libFuzzer binary exists only for benchmarks/fuzz.sh, which sets UQCIT_FUZZ and builds it with
// -sanitize=fuzzer,address in its own scratch path: the normal build never sees it (it links libFuzzer).
if Context.environment["UQCIT_FUZZ"] != nil {
    package.targets += [
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(
            name: "Fuzz",
            dependencies: ["CLibFuzzer", "FuzzEntryPoints"],
            path: "Fuzz/Fuzz",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
}
