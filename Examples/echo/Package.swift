// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "echo",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "evnode", path: "../..")],
    targets: [
        .target(name: "EchoNode", dependencies: [.product(name: "Maelstrom", package: "evnode")]),
        .executableTarget(name: "echo", dependencies: ["EchoNode", .product(name: "Maelstrom", package: "evnode")]),
        .testTarget(name: "EchoTests", dependencies: [
            "EchoNode", .product(name: "Maelstrom", package: "evnode"), .product(name: "MaelstromTesting", package: "evnode"),
        ]),
    ]
)
