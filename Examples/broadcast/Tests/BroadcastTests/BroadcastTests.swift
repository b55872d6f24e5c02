import BroadcastNode
import Maelstrom
import MaelstromTesting
import XCTest

final class BroadcastTests: XCTestCase {
    func testPassesChallenge3b() {
        let result = Simulation(challenge: "3b") { MaelstromNode(broadcast) }.run()
        XCTAssertTrue(result.valid, result.summary)
    }

    /// 3b's test under partitions (challenge 3c: 5 nodes, --nemesis partition), on a few seeds.
    func testPassesUnderPartitions() {
        for seed: UInt64 in 1...3 {
            let result = Simulation(challenge: "3c", seed: seed) { MaelstromNode(broadcast) }.run()
            XCTAssertTrue(result.valid, "seed \(seed):\n\(result.summary)")
        }
    }
}
