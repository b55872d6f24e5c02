// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "broadcast",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "evnode", path: "../..")],
    targets: [
        .target(name: "BroadcastNode", dependencies: [.product(name: "Maelstrom", package: "evnode")]),
        .executableTarget(name: "broadcast", dependencies: ["BroadcastNode", .product(name: "Maelstrom", package: "evnode")]),
        .testTarget(name: "BroadcastTests", dependencies: [
            "BroadcastNode", .product(name: "Maelstrom", package: "evnode"), .product(name: "MaelstromTesting", package: "evnode"),
        ]),
    ]
)
