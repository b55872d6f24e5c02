import EVCheckers
import EVCore
import EVSim
import EVSimCore
import Workloads
import XCTest

/// evnode's own consensus against Maelstrom's checkers in the simulator: lin-kv judged by the
/// linearizability checker and txn-list-append by the Elle-style checker, with partitions, and in
/// durable mode with kills and pauses. Any safety rule of `Raft` or `ConsensusService` that is
/// weakened shows here as an invalid history (docs/linkv.md, docs/listappend.md).
final class ConsensusChallengeTests: XCTestCase {
    private func assertValid(_ challenge: Challenge, seeds: ClosedRange<UInt64>, durable: Bool = false,
                             file: StaticString = #filePath, line: UInt = #line) {
        for seed in seeds {
            let r = challenge.run(seed: seed) { spec in
                spec.timeLimit = 20
                spec.nemesisInterval = 3
                if durable {
                    spec.nemesis = [.partition, .kill, .pause]
                    spec.workloads.durability.enabled = true
                }
            }
            let what = "\(challenge.name) seed \(seed)\(durable ? " durable" : "")"
            XCTAssertEqual(r.results["workload"]?["valid?"], .bool(true), "\(what): \(r.results["workload"] ?? .null)", file: file, line: line)
            XCTAssertEqual(r.undeliverable.count, 0, "\(what): a reply to a client that gave up", file: file, line: line)
        }
    }

    func testLinKVIsLinearizableUnderPartitions() { assertValid(.linKV3, seeds: 1...4) }

    func testLinKVIsLinearizableInDurableModeUnderKillsAndPauses() { assertValid(.linKV3, seeds: 1...4, durable: true) }

    func testTxnListAppendIsStrictSerializableUnderPartitions() { assertValid(.txnListAppendPartition, seeds: 1...4) }

    func testTxnListAppendIsStrictSerializableInDurableModeUnderKillsAndPauses() {
        assertValid(.txnListAppend5, seeds: 1...3, durable: true)
    }

    /// Issue 21, hole 1: default mode under partitions and kills. Before the fix, seed 208 was not
    /// linearizable: restarted processes that forgot a newer term acknowledged a stale leader.
    func testLinKVDefaultModeUnderPartitionsAndKillsSeed208() {
        let r = Challenge.linKV3.run(seed: 208) { spec in
            spec.nemesisInterval = 3
            spec.nemesis = [.partition, .kill]
        }
        XCTAssertEqual(r.results["workload"]?["valid?"], .bool(true), "\(r.results["workload"] ?? .null)")
    }
}
