import Maelstrom
import MaelstromTesting
import UniqueIDsNode
import XCTest

final class UniqueIDsTests: XCTestCase {
    func testPassesChallenge2UnderPartitions() {
        let result = Simulation(challenge: "2") { MaelstromNode(uniqueIDs) }.run()
        XCTAssertTrue(result.valid, result.summary)
    }
}
