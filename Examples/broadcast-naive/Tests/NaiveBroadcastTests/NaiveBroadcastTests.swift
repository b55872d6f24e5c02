import Maelstrom
import MaelstromTesting
import NaiveBroadcastNode
import XCTest

final class NaiveBroadcastTests: XCTestCase {
    func testPassesOnAHealthyNetwork() {
        let result = Simulation(challenge: "3b") { MaelstromNode(naiveBroadcast) }.run()
        XCTAssertTrue(result.valid, result.summary)
    }

    /// The failure, shown honestly: under partitions (3b's test with --nemesis partition, i.e.
    /// challenge 3c) acknowledged values never reach some nodes, and the checker says so.
    func testLosesValuesUnderPartitions() {
        for seed: UInt64 in 1...3 {
            let result = Simulation(challenge: "3c", seed: seed) { MaelstromNode(naiveBroadcast) }.run()
            XCTAssertFalse(result.valid, "seed \(seed) passed:\n\(result.summary)")
            XCTAssertGreaterThan(result.results["workload"]?["lost-count"]?.int ?? 0, 0, result.summary)
        }
    }
}
