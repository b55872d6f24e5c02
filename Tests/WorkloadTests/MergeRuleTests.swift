import EVCore
import EVSimCore
import Workloads
import XCTest

/// Each merge rule of replicated state, against a peer that sends an older state after a newer one
/// (what late resends, restarts and durable recovery do): set union, per-replica max, last writer
/// wins, max-register. The peer is forged as n1 with an incarnation above the real n1's.
final class MergeRuleTests: XCTestCase {
    private let forged = 1 << 60

    private func cluster(_ kind: WorkloadKind) -> Cluster { initializedCluster(nodes: 2, workload: kind) }

    /// Sends n0 a data message of `channel` from the forged n1, as the `seq`-th entry of its stream.
    private func forge(_ c: Cluster, _ channel: String, seq: Int, _ entry: JSONValue) {
        let body: JSONValue = ["type": .string(channel + "_data"), "from": .int(seq), "v": [entry], "ack": 0, "i": .int(forged), "ri": 0]
        c.network.send(from: "n1", to: "n0", text: JSONValue.object([("src", "n1"), ("dest", "n0"), ("body", body)]).text)
        c.run(for: .ms(10))
    }

    func testCounterEntriesMergeByPerReplicaMax() {
        let c = cluster(.gCounter)
        forge(c, "gc", seq: 0, ["n9/x", 5, 1])
        forge(c, "gc", seq: 1, ["n9/x", 3, 0])
        XCTAssertEqual(c.call("n0", ["type": "read"])?["value"], 4, "the older state changes nothing")
        forge(c, "gc", seq: 2, ["n9/x", 3, 2])
        XCTAssertEqual(c.call("n0", ["type": "read"])?["value"], 3, "each sum takes its own max")
    }

    func testSetElementsMergeByUnion() {
        let c = cluster(.gSet)
        XCTAssertEqual(c.call("n0", ["type": "add", "element": 1])?["type"], "add_ok")
        forge(c, "gs", seq: 0, 2)
        forge(c, "gs", seq: 1, 1)
        XCTAssertEqual(c.call("n0", ["type": "read"])?["value"], [1, 2], "each element once, none lost")
    }

    func testRegistersMergeByLastWriterWins() {
        let c = cluster(.txn)
        forge(c, "tx", seq: 0, [100, 1, [[1, 7]]])
        forge(c, "tx", seq: 1, [50, 1, [[1, 8], [2, 9]]])
        XCTAssertEqual(c.call("n0", ["type": "txn", "txn": [["r", 1, nil], ["r", 2, nil]]])?["txn"], [["r", 1, 7], ["r", 2, 9]],
                       "key 1 keeps the later stamp's write; key 2 takes the only one")
    }

    func testCommittedOffsetsMergeAsAMaxRegister() {
        let c = cluster(.kafka)
        forge(c, "kf", seq: 0, ["c", "k", 5])
        forge(c, "kf", seq: 1, ["c", "k", 3])
        c.network.partition([["n0"], ["n1"]]) // n0 answers from its own value: n1 cannot be asked
        let reply = c.call("n0", ["type": "list_committed_offsets", "keys": ["k"]])
        XCTAssertEqual(reply?["code"], 11, "a list needs every node")
        c.network.heal()
        XCTAssertEqual(c.call("n1", ["type": "list_committed_offsets", "keys": ["k"]])?["offsets"], ["k": 5],
                       "n1 asks n0, whose register kept the larger offset")
    }
}
