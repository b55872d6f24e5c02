// swift-tools-version:6.0
import PackageDescription

// evnode: a Maelstrom node on libev + jansson. Layout follows SwiftNIO's split of thin C shim
// modules (CShims/) from the Swift modules that use them (Sources/).

// Release-only tuning, measured in docs/perf.md. The message path (EVCore, EVLoop, Workloads) drops
// Swift's run-time exclusivity checks: every ByteBuffer append paid for one, about 20% of the
// instructions per echo (debug builds, and so the tests, keep them). The evnode binary links the
// Swift runtime statically: about 3 MiB less resident memory and a third fewer start-up instructions.
let messagePathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
// (ArgumentParser brings in FoundationEssentials, whose static archive needs these libraries after it.)
let staticRuntime: [LinkerSetting] = [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release))]
    + ["_FoundationCollections", "_FoundationCShims", "swiftSynchronization"].map {
        .linkedLibrary($0, .when(platforms: [.linux], configuration: .release))
    }

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
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
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
        ], swiftSettings: messagePathSettings),
        // The libev transport: stdin reader, buffered stdout writer, timer.
        .target(name: "EVLoop", dependencies: ["EVCore", "CLibEV"], swiftSettings: messagePathSettings),
        // Workload handlers; they only see EVCore's Node.
        .target(name: "Workloads", dependencies: ["EVCore"], swiftSettings: messagePathSettings),
        // The deterministic cluster simulator, its checkers and the challenge runner.
        .target(name: "EVSim", dependencies: [
            "EVCore", "Workloads", .product(name: "HeapModule", package: "swift-collections"),
        ]),

        .executableTarget(name: "evnode", dependencies: [
            "EVCore", "EVLoop", "Workloads",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], linkerSettings: staticRuntime),
        .executableTarget(name: "evsim", dependencies: [
            "EVSim", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Hardening (docs/hardening.md): the fuzz harness over the real decode-and-dispatch path,
        // its libFuzzer/replay executable, and the in-suite structured fuzzer.
        .target(name: "EVFuzz", dependencies: [
            "EVCore", "Workloads", .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "evfuzz", dependencies: ["EVFuzz"]),
        .testTarget(name: "FuzzTests", dependencies: ["EVFuzz", "EVCore", "Workloads"]),

        .testTarget(name: "EVCoreTests", dependencies: ["EVCore"]),
        .testTarget(name: "WorkloadTests", dependencies: ["Workloads", "EVSim", "EVCore"]),
        .testTarget(name: "EVSimTests", dependencies: ["EVSim", "Workloads", "EVCore"]),
        .testTarget(name: "ProcessTests", dependencies: ["EVCore", "evnode"]),
    ],
    swiftLanguageModes: [.v5]
)
