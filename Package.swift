// swift-tools-version:6.0
import PackageDescription

// evnode: a Maelstrom node on libev + jansson. Layout follows SwiftNIO's split of thin C shim
// modules (CShims/) from the Swift modules that use them (Sources/).
let package = Package(
    name: "evnode",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "evnode", targets: ["evnode"]),
        .executable(name: "evsim", targets: ["evsim"]),
        .library(name: "EVCore", targets: ["EVCore"]),
        .library(name: "EVSim", targets: ["EVSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // System libraries, installed by apt (see README / .ci/run).
        .systemLibrary(name: "CLibEV", path: "CShims/CLibEV",
                       providers: [.apt(["libev-dev"]), .brew(["libev"])]),
        .systemLibrary(name: "CJansson", path: "CShims/CJansson", pkgConfig: "jansson",
                       providers: [.apt(["libjansson-dev"]), .brew(["jansson"])]),

        // Protocol engine: JSON views and writer, messages, node context, RPCs, timers.
        .target(name: "EVCore", dependencies: [
            "CJansson", .product(name: "Logging", package: "swift-log"),
            .product(name: "HeapModule", package: "swift-collections"),
        ]),
        // The libev transport: stdin reader, buffered stdout writer, timer.
        .target(name: "EVLoop", dependencies: ["EVCore", "CLibEV"]),
        // Workload handlers; they only see EVCore's Node.
        .target(name: "Workloads", dependencies: ["EVCore"]),
        // The deterministic cluster simulator, its checkers and the challenge runner.
        .target(name: "EVSim", dependencies: [
            "EVCore", "Workloads", .product(name: "HeapModule", package: "swift-collections"),
        ]),

        .executableTarget(name: "evnode", dependencies: [
            "EVCore", "EVLoop", "Workloads",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "evsim", dependencies: [
            "EVSim", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "EVCoreTests", dependencies: ["EVCore"]),
        .testTarget(name: "WorkloadTests", dependencies: ["Workloads", "EVSim", "EVCore"]),
        .testTarget(name: "EVSimTests", dependencies: ["EVSim", "Workloads", "EVCore"]),
        .testTarget(name: "ProcessTests", dependencies: ["EVCore", "evnode"]),
    ],
    swiftLanguageModes: [.v5]
)
