import Foundation
import Maelstrom
import MaelstromTesting
import XCTest

/// evsim for a node written with the library, through MaelstromTesting's API only.
final class SimulationTests: XCTestCase {
    private func echo(_ node: MaelstromNode) {
        node.on("echo") { req in req.reply("echo_ok") { $0.field("echo", req["echo"]) } }
    }

    func testAnEchoNodePassesChallengeOneAndWritesItsPictures() throws {
        let result = Simulation(challenge: "1", seed: 3) { MaelstromNode(self.echo) }.run()
        XCTAssertTrue(result.valid, result.summary)
        XCTAssertEqual(result.seed, 3)
        XCTAssertTrue(result.maelstromCommand.hasPrefix("maelstrom test -w echo --bin BIN --node-count 1"), result.maelstromCommand)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("maelstrom-sim-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let written = try result.write(to: dir)
        XCTAssertTrue(written.contains("timeline.html") && written.contains("messages.svg"), "\(written)")
        XCTAssertTrue(try String(contentsOf: dir.appendingPathComponent("summary.txt"), encoding: .utf8).contains("Everything looks good!"))
    }

    func testAWrongNodeIsFoundInvalidAndTheSeedReplaysTheRun() {
        func run(seed: UInt64) -> SimulationResult {
            Simulation(workload: .echo, nodeCount: 2, seed: seed) {
                MaelstromNode { node in
                    node.on("echo") { req in req.reply("echo_ok") { $0.field("echo", "not what you sent") } }
                }
            }.run()
        }
        let result = run(seed: 5)
        XCTAssertFalse(result.valid)
        XCTAssertTrue(result.summary.contains("Analysis invalid!"), result.summary)
        XCTAssertEqual(run(seed: 5).replay, result.replay, "same seed, same trace")
    }
}
