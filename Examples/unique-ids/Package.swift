// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "unique-ids",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "evnode", path: "../..")],
    targets: [
        .target(name: "UniqueIDsNode", dependencies: [.product(name: "Maelstrom", package: "evnode")]),
        .executableTarget(name: "unique-ids", dependencies: ["UniqueIDsNode", .product(name: "Maelstrom", package: "evnode")]),
        .testTarget(name: "UniqueIDsTests", dependencies: [
            "UniqueIDsNode", .product(name: "Maelstrom", package: "evnode"), .product(name: "MaelstromTesting", package: "evnode"),
        ]),
    ]
)
