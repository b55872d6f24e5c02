import EVCheckers
import EVCore
import XCTest

/// The invariant checks on hand-built histories (no event indices: ordered by time).
final class InvariantsTests: XCTestCase {
    private func op(_ node: String, _ f: String, _ value: JSONValue = .null, at t: Micros, done: Micros,
                    _ outcome: Outcome, final: Bool = false) -> EVCheckers.Operation {
        var o = EVCheckers.Operation(process: 0, worker: 0, node: node, client: "c0", f: f, value: value,
                                     invokedAt: t, isFinal: final)
        o.completedAt = done
        o.outcome = outcome
        return o
    }

    func testBroadcastNeedsEveryAckInEveryNodesFinalRead() {
        let history = [
            op("n0", "broadcast", 1, at: 0, done: 1, .ok(1)),
            op("n1", "broadcast", 2, at: 0, done: 1, .ok(2)),
            op("n2", "broadcast", 3, at: 0, done: 1, .info("net-timeout")),
            op("n0", "read", at: 10, done: 11, .ok([1, 2]), final: true),
            op("n1", "read", at: 10, done: 11, .ok([2]), final: true),
        ]
        let r = Invariants.everyNodeHoldsEveryAck(history, nodes: ["n0", "n1", "n2"])
        XCTAssertFalse(r.holds)
        XCTAssertTrue(r.detail.contains("n1: final read lacks 1 acknowledged value(s) [1]"), r.detail)
        XCTAssertTrue(r.detail.contains("n2: no successful final read"), r.detail)
        XCTAssertTrue(Invariants.everyNodeHoldsEveryAck(Array(history.prefix(4)), nodes: ["n0"]).holds)
    }

    func testGCounterReadsMayNotGoDownOnANodeButOverlappingReadsAreFree() {
        let ok = [
            op("n0", "read", at: 0, done: 10, .ok(5)),
            op("n0", "read", at: 5, done: 6, .ok(3)),   // concurrent with the first: no order
            op("n1", "read", at: 20, done: 21, .ok(2)), // another node may lag
            op("n0", "read", at: 30, done: 31, .ok(5)),
        ]
        XCTAssertTrue(Invariants.gCounterReadsMonotonicPerNode(ok).holds)
        let down = ok + [op("n0", "read", at: 40, done: 41, .ok(4))]
        let r = Invariants.gCounterReadsMonotonicPerNode(down)
        XCTAssertFalse(r.holds)
        XCTAssertTrue(r.detail.hasPrefix("n0: read 4"), r.detail)
    }

    func testKafkaCommittedOffsetsMayNotGoBackwardsOnANode() {
        func list(_ node: String, at t: Micros, _ offsets: JSONValue, keys: [String] = ["a", "b"]) -> EVCheckers.Operation {
            op(node, "assign", ["keys": .array(keys.map { .string($0) })], at: t, done: t + 1,
               .ok(["keys": .array(keys.map { .string($0) }), "offsets": offsets]))
        }
        let ok = [list("n0", at: 0, ["a": 3]), list("n0", at: 10, ["a": 3, "b": 1]), list("n1", at: 20, ["a": 1], keys: ["a"])]
        XCTAssertTrue(Invariants.kafkaCommittedOffsetsMonotonicPerNode(ok).holds)
        XCTAssertFalse(Invariants.kafkaCommittedOffsetsMonotonicPerNode(ok + [list("n0", at: 30, ["a": 2, "b": 1])]).holds)
        XCTAssertFalse(Invariants.kafkaCommittedOffsetsMonotonicPerNode(ok + [list("n0", at: 30, ["b": 1])]).holds,
                       "a key asked for and no longer reported went backwards")
        XCTAssertTrue(Invariants.kafkaCommittedOffsetsMonotonicPerNode(ok + [list("n0", at: 30, ["b": 1], keys: ["b"])]).holds,
                      "a key not asked for is not compared")
    }

    func testTxnNodesMustHoldTheSameRegisters() {
        let same = Invariants.txnNodesConverged([("n0", [1: 2, 3: 4]), ("n1", [3: 4, 1: 2])])
        XCTAssertTrue(same.holds, same.detail)
        let apart = Invariants.txnNodesConverged([("n0", [1: 2, 3: 4]), ("n1", [1: 2]), ("n2", nil)])
        XCTAssertFalse(apart.holds)
        XCTAssertTrue(apart.detail.contains("key 3: n0=4 n1=missing"), apart.detail)
        XCTAssertTrue(apart.detail.contains("n2: no txn state"), apart.detail)
    }
}
