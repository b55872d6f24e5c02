import EchoNode
import Maelstrom
import MaelstromTesting
import XCTest

final class EchoTests: XCTestCase {
    func testPassesChallenge1() {
        let result = Simulation(challenge: "1") { MaelstromNode(echo) }.run()
        XCTAssertTrue(result.valid, result.summary)
    }
}
