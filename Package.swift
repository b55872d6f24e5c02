// swift-tools-version:6.0
import PackageDescription

// evnode: a Maelstrom node on libev + jansson. Both C libraries are system-library targets: CShims/
// holds their module maps and a header of inline wrappers for macros Swift cannot import (nothing
// is compiled there); the installed libraries are linked, and the Swift modules live in Sources/.

// Release-only tuning, measured in docs/perf.md. The message path (EVCore, EVLoop, Workloads) drops
// Swift's run-time exclusivity checks: every ByteBuffer append paid for one, about 20% of the
// instructions per echo (debug builds, and so the tests, keep them). A static Swift runtime is not
// set here (naming the toolchain's private libraries breaks with the next toolchain): the build
// scripts ask for it with `swift build -c release --static-swift-stdlib` (what it buys: docs/perf.md).
let messagePathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "evnode",
    platforms: [.macOS(.v15)],
    products: [
        // The library for writing your own node (docs/library.md), and for testing it in evsim.
        .library(name: "Maelstrom", targets: ["Maelstrom"]),
        .library(name: "MaelstromTesting", targets: ["MaelstromTesting"]),
        .executable(name: "evnode", targets: ["evnode"]),
        .executable(name: "evsim", targets: ["evsim"]),
        // Nothing else is a product: evnode's modules are its internals, reached through these two.
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
        // The public library a node is written with (docs/library.md): handlers by type, requests,
        // RPCs (callbacks and async), timers, KV clients, and `run` on the libev loop.
        .target(name: "Maelstrom", dependencies: [
            "EVCore", "EVLoop", .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: messagePathSettings),
        // Workload handlers; they only see EVCore's Node and the library's requests and errors.
        .target(name: "Workloads", dependencies: ["EVCore", "Maelstrom"], swiftSettings: messagePathSettings),
        // The simulator, in four layers (docs/evsim.md). The core: virtual clock, Maelstrom's
        // network, kv services, clients and a cluster of any MessageHandler; no workloads.
        .target(name: "EVSimCore", dependencies: [
            "EVCore", .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Histories and the checkers that judge them (Maelstrom's and our invariants).
        .target(name: "EVCheckers", dependencies: ["EVCore", .product(name: "HeapModule", package: "swift-collections")]),
        // The Maelstrom model: client generators per workload, nemesis, runner, challenge table.
        .target(name: "EVSim", dependencies: ["EVSimCore", "EVCheckers", "EVCore", "Workloads"]),
        // Results directories, TSV tables, gnuplot plots, seed rankings, the challenge list.
        .target(name: "EVReports", dependencies: ["EVSim", "EVSimCore", "EVCheckers", "EVCore"]),

        // evsim for a node written with the library: a workload's test, its verdict and pictures.
        .target(name: "MaelstromTesting", dependencies: ["Maelstrom", "EVSim", "EVReports", "EVCore"]),

        .executableTarget(name: "evnode", dependencies: [
            "EVCore", "EVLoop", "Workloads",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "evsim", dependencies: [
            "EVReports", "EVSim", "EVSimCore", "EVCheckers", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Hardening (docs/hardening.md): the fuzz harness over the real decode-and-dispatch path,
        // its libFuzzer/replay executable, and the in-suite structured fuzzer.
        .target(name: "EVFuzz", dependencies: [
            "EVCore", "Workloads", .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "evfuzz", dependencies: ["EVFuzz"]),
        .testTarget(name: "FuzzTests", dependencies: ["EVFuzz", "EVCore", "Workloads"]),

        // Shared test helpers (a hand-driven Transport, an in-memory log handler), for every test target.
        .target(name: "EVTestSupport", dependencies: [
            "EVCore", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/TestSupport"),

        .testTarget(name: "EVCoreTests", dependencies: [
            "EVCore", "EVTestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "EVLoopTests", dependencies: [
            "EVLoop", "EVCore", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "WorkloadTests", dependencies: ["Workloads", "EVSim", "EVSimCore", "EVCheckers", "EVCore", "EVTestSupport"]),
        .testTarget(name: "EVSimCoreTests", dependencies: ["EVSimCore", "EVCore"]),
        .testTarget(name: "EVCheckersTests", dependencies: ["EVCheckers", "EVCore"]),
        .testTarget(name: "EVSimTests", dependencies: ["EVSim", "EVSimCore", "EVCheckers", "EVReports", "Workloads", "EVCore"]),
        .testTarget(name: "EVReportsTests", dependencies: ["EVReports", "EVSim", "EVSimCore", "EVCheckers", "EVCore"]),
        .testTarget(name: "MaelstromTests", dependencies: ["Maelstrom", "MaelstromTesting", "EVSimCore", "EVCore"]),
        .testTarget(name: "ProcessTests", dependencies: ["EVCore", "evnode"]),
    ],
    swiftLanguageModes: [.v5]
)
