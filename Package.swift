// swift-tools-version: 6.0
import PackageDescription

// Only the Kernels target (block formats, group quantizers, rotations) is built -Ounchecked: its entry points take
// buffers whose sizes the callers in Engine checked. Every target that reads files or peers' bytes is built -O, even
// in a debug build, so a missed check traps instead of reading out of bounds.
// `UQCIT_CHECKED=1 swift build --scratch-path .build-checked` builds Kernels with -O too, only to measure what the
// checks would cost there (benchmarks/checked_cost.sh).
let kernelOptimisation = Context.environment["UQCIT_CHECKED"] != nil ? "-O" : "-Ounchecked"

let package = Package(
    name: "uqcit-compress",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "coordinator", targets: ["CoordinatorMain"]),
        .executable(name: "worker", targets: ["WorkerMain"]),
        .executable(name: "uqcit", targets: ["UQCITMain"]),
        .library(name: "Engine", targets: ["Engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // System libraries: OpenBLAS (BLAS + LAPACK through LAPACKE), libzmq, and glibc's malloc tuning.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas"),
        .systemLibrary(name: "CZMQ", path: "Sources/CZMQ"),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        // O_DIRECT's value, which Swift's Glibc module does not declare.
        .target(name: "CDirectIO", path: "Sources/CDirectIO"),

        // AVX2 loops of the GGUF paths (Q4_0 and Q8_0's reference quantizers, bf16 widening, the k-quant searches), chosen
        // at run time and byte-identical to the Swift loops they stand in for. -O2 in every build, as Kernels is optimised
        // in every build.
        .target(
            name: "KernelsAVX2",
            path: "Sources/KernelsAVX2",
            cSettings: [.unsafeFlags(["-O2"])]),
        // The numeric kernels: ggml block formats, group quantizers and their scale searches, rotations. No I/O.
        // -Ounchecked: the ggml kernels rely on C's float-to-int conversion of non-finite blocks, which -O traps on
        // (GGMLBlockFormatTests), and the inner loops run at C's speed. Their inputs are checked by their callers.
        .target(
            name: "Kernels",
            dependencies: ["KernelsAVX2"],
            path: "Sources/Kernels",
            swiftSettings: [.unsafeFlags([kernelOptimisation])]),
        // Checkpoint and package reading and writing, GGUF, the per-tensor and per-tile steps, calibration.
        .target(
            name: "Engine",
            dependencies: [
                "Kernels", "COpenBLAS", "CDirectIO", .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Sources/Engine",
            swiftSettings: [.unsafeFlags(["-O"])]),
        // The wire contract (generated protobuf) and the ZeroMQ transport.
        .target(
            name: "UQCITProtocol",
            dependencies: ["CZMQ", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Sources/Protocol"),
        // What the coordinator and its workers share: the job plan, the protocol messages and their conversions,
        // heartbeat and CURVE settings, stream transfer, log lines (Runtime: a calibrated plan's block shape).
        .target(
            name: "Pipeline",
            dependencies: ["Engine", "UQCITProtocol", "Runtime", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Pipeline"),
        // A worker: the agent on its DEALER socket and the task threads that run the engine's steps (and Runtime's
        // forward pass for a calibrated job's layer passes).
        .target(
            name: "Worker",
            dependencies: ["Engine", "Pipeline", "Runtime", "UQCITProtocol"],
            path: "Sources/Worker"),
        // The coordinator: scheduling, the broker and its leases, result checks, the journal and the package
        // assembler, and the embedded job (with in-process workers, hence the Worker dependency; Runtime: the
        // tokenizers of a calibrated job's text).
        .target(
            name: "Coordinator",
            dependencies: ["Engine", "Pipeline", "Worker", "Runtime", "UQCITProtocol"],
            path: "Sources/Coordinator"),
        // Forward passes (Llama family, BERT) on OpenBLAS from a checkpoint or straight from a package; validation.
        .target(
            name: "Runtime",
            dependencies: ["Engine", "COpenBLAS", .product(name: "HeapModule", package: "swift-collections")],
            path: "Sources/Runtime",
            swiftSettings: [.unsafeFlags(["-O"])]),
        // The design's ablations, noise curve and the quality-against-bits report, on real packages.
        .target(
            name: "Validation",
            dependencies: ["Engine", "Pipeline", "Coordinator", "Runtime"],
            path: "Sources/Validation",
            swiftSettings: [.unsafeFlags(["-O"])]),
        // The command-line surface, shared by the three executables.
        .target(
            name: "Commands",
            dependencies: ["Engine", "Pipeline", "Coordinator", "Worker", "Runtime", "Validation", "UQCITProtocol", "CMalloc",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Yams", package: "Yams")],
            path: "Sources/Commands"),

        .executableTarget(name: "CoordinatorMain", dependencies: ["Commands"], path: "Sources/CoordinatorMain"),
        .executableTarget(name: "WorkerMain", dependencies: ["Commands"], path: "Sources/WorkerMain"),
        .executableTarget(name: "UQCITMain", dependencies: ["Commands"], path: "Sources/UQCITMain"),

        // The fuzz targets' entry points, shared by the libFuzzer binary (Fuzz/) and the corpus replay tests.
        .target(
            name: "FuzzEntryPoints",
            dependencies: ["Engine", "Pipeline", "Coordinator", "UQCITProtocol"],
            path: "Sources/FuzzEntryPoints",
            resources: [.copy("Resources/uqcit_metadata.json")]),

        // Paths to the checkout, the shared models and package comparisons, for every test target.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["TestSupport", "Engine", "Kernels", "KernelsAVX2", "FuzzEntryPoints"], path: "Tests/EngineTests", exclude: ["Fixtures"]),
        .testTarget(name: "ProtocolTests", dependencies: ["UQCITProtocol"], path: "Tests/ProtocolTests"),
        .testTarget(name: "RuntimeTests", dependencies: ["TestSupport", "Runtime", "Engine", "Pipeline", "Coordinator"], path: "Tests/RuntimeTests",
                    exclude: ["Fixtures"]),
        .testTarget(name: "ValidationTests", dependencies: ["TestSupport", "Validation", "Pipeline", "Coordinator", "Engine"], path: "Tests/ValidationTests"),
        .testTarget(name: "PipelineTests", dependencies: ["TestSupport", "Pipeline", "Coordinator", "Worker", "Commands", "Engine", "Runtime", "Validation", "UQCITProtocol", "FuzzEntryPoints"], path: "Tests/PipelineTests",
                    exclude: ["Fixtures"]),
        // Coordinator and worker processes over 127.0.0.1: kills, resume, bad frames, CURVE.
        .testTarget(name: "ClusterTests", dependencies: ["TestSupport", "Pipeline", "Coordinator", "Engine", "UQCITProtocol", "COpenBLAS"], path: "Tests/ClusterTests"),
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
