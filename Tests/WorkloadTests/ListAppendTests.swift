import EVCore
import EVSimCore
import Workloads
import XCTest

/// txn-list-append on the nodes' own Raft (docs/listappend.md), on the simulated network.
final class ListAppendTests: XCTestCase {
    private func cluster(nodes: Int = 2, seed: UInt64 = 1) -> Cluster {
        let c = initializedCluster(nodes: nodes, latency: 5, seed: seed, workload: .txnListAppend)
        let client = c.newClient()
        for n in c.nodeIDs { client.call(n, ["type": "txn", "txn": [["r", 0, nil]]]) { _ in } }
        c.run(for: .seconds(3)) // an election
        return c
    }

    private func txn(_ c: Cluster, _ node: String, _ ops: JSONValue) -> JSONValue? { c.call(node, ["type": "txn", "txn": ops]) }

    func testTransactionsSeeEachOthersAppendsInOneOrder() {
        let c = cluster()
        XCTAssertEqual(txn(c, "n0", [["append", 1, 1], ["r", 1, nil], ["r", 2, nil]])?["txn"], [["append", 1, 1], ["r", 1, [1]], ["r", 2, nil]])
        XCTAssertEqual(txn(c, "n1", [["r", 1, nil], ["append", 1, 2], ["r", 1, nil]])?["txn"], [["r", 1, [1]], ["append", 1, 2], ["r", 1, [1, 2]]])
        XCTAssertEqual(txn(c, "n0", [["r", 1, nil]])?["txn"], [["r", 1, [1, 2]]], "a read-only transaction sees every completed one")
        XCTAssertEqual(txn(c, "n1", [["w", 1, 2]])?["code"], 12, "not a list-append micro-op")
        XCTAssertEqual(txn(c, "n1", [])?["code"], 12)
        let lists = c.nodeIDs.map { (c.node($0).router?.active[.txnListAppend] as? ListAppend)?.state }
        XCTAssertEqual(lists[0], lists[1])
    }

    /// Two nodes need each other: cut apart, neither commits; a transaction that never left its
    /// node is refused, and after the heal everything is served again.
    func testAPartitionMakesItRefuseNeverAnswerWrongly() {
        let c = cluster()
        XCTAssertEqual(txn(c, "n0", [["append", 1, 1]])?["type"], "txn_ok")
        c.network.partition([["n0"], ["n1"]])
        c.run(for: .seconds(2))
        for n in c.nodeIDs {
            let r = txn(c, n, [["r", 1, nil]])
            XCTAssertEqual(r?["code"], 11, "\(n): \(r?.text ?? "no reply")")
        }
        c.network.heal()
        c.run(for: .seconds(3))
        XCTAssertEqual(txn(c, "n1", [["append", 1, 2], ["r", 1, nil]])?["txn"], [["append", 1, 2], ["r", 1, [1, 2]]])
    }
}
