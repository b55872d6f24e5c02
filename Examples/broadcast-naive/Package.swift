// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "broadcast-naive",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "evnode", path: "../..")],
    targets: [
        .target(name: "NaiveBroadcastNode", dependencies: [.product(name: "Maelstrom", package: "evnode")]),
        .executableTarget(name: "broadcast-naive", dependencies: ["NaiveBroadcastNode", .product(name: "Maelstrom", package: "evnode")]),
        .testTarget(name: "NaiveBroadcastTests", dependencies: [
            "NaiveBroadcastNode", .product(name: "Maelstrom", package: "evnode"), .product(name: "MaelstromTesting", package: "evnode"),
        ]),
    ]
)
