import EVCore
import EVCheckers
import EVSim
import EVSimCore
import Workloads
import XCTest

/// The txn-rw-register node (challenges 6a–6c) on the simulated network: transaction semantics,
/// input validation, batched replication, availability and convergence under partitions.
final class TxnTests: XCTestCase {
    private func cluster(nodes: Int, latency: Micros = 0, distribution: LatencyDistribution = .constant,
                         seed: UInt64 = 1, visibility: TxnVisibility? = nil) -> Cluster {
        let c = initializedCluster(nodes: nodes, latency: latency, distribution: distribution, seed: seed, workload: .txn)
        visibility?.watch(c)
        return c
    }

    /// Sends one txn and runs until the reply. With zero latency that is the same virtual
    /// instant; with latency a request can queue behind a peer message (reference §5.3).
    @discardableResult
    private func txn(_ c: Cluster, _ client: SimClient, _ node: String, _ ops: JSONValue,
                     limit: Micros = .ms(1)) -> JSONValue? {
        var reply: JSONValue?
        client.call(node, ["type": "txn", "txn": ops]) { reply = $0 }
        c.run(until: { reply != nil }, limit: limit)
        return reply
    }

    private func txnNode(_ c: Cluster, _ id: String) -> RWRegister? { c.node(id).router?.active[.txn] as? RWRegister }

    func testReadsSeeOwnWritesAndOnlyFinalWritesBecomeVisible() {
        let c = cluster(nodes: 1)
        let client = c.newClient()
        let reply = txn(c, client, "n0", [["r", 1, nil], ["w", 1, 6], ["r", 1, nil], ["w", 1, 7], ["w", 2, 9], ["r", 3, nil]])
        XCTAssertEqual(reply?["type"], "txn_ok")
        XCTAssertEqual(reply?["txn"], [["r", 1, nil], ["w", 1, 6], ["r", 1, 6], ["w", 1, 7], ["w", 2, 9], ["r", 3, nil]])
        XCTAssertEqual(reply?.members?.map(\.0).sorted(), ["in_reply_to", "txn", "type"], "exactly these fields")
        XCTAssertEqual(txn(c, client, "n0", [["r", 2, nil], ["r", 1, nil]])?["txn"], [["r", 2, 9], ["r", 1, 7]])
        XCTAssertEqual(txn(c, client, "n0", [])?["txn"], [], "an empty transaction is fine")
        XCTAssertEqual(c.network.stats.nodeToNodeSends, 0, "a single node sends nothing (but its workload registry read)")
    }

    func testKeysAndValuesMayBeAnyJSON() {
        let c = cluster(nodes: 1)
        let client = c.newClient()
        txn(c, client, "n0", [["w", "k", ["a": [1, 2]]], ["w", 2.5, "v"], ["w", 3, nil]])
        XCTAssertEqual(txn(c, client, "n0", [["r", "k", nil], ["r", 2.5, nil], ["r", 3, nil], ["r", "3", nil]])?["txn"],
                       [["r", "k", ["a": [1, 2]]], ["r", 2.5, "v"], ["r", 3, nil], ["r", "3", nil]])
    }

    func testMalformedTransactionsGetError12AndChangeNothing() {
        let c = cluster(nodes: 1)
        let client = c.newClient()
        let bad: [JSONValue] = [
            ["type": "txn"],
            ["type": "txn", "txn": 5],
            ["type": "txn", "txn": [5]],
            ["type": "txn", "txn": [["r", 1]]],
            ["type": "txn", "txn": [["x", 1, nil]]],
            ["type": "txn", "txn": [[1, 1, nil]]],
            ["type": "txn", "txn": [["r", 1, 2]]],
            ["type": "txn", "txn": [["w", 1, 5], ["r", 1, nil, 4]]], // valid prefix: must not apply
        ]
        for body in bad {
            var reply: JSONValue?
            client.call("n0", body) { reply = $0 }
            c.run(for: .ms(1))
            XCTAssertEqual(reply?["type"], "error", "\(body)")
            XCTAssertEqual(reply?["code"], 12, "\(body)")
        }
        XCTAssertEqual(txn(c, client, "n0", [["r", 1, nil]])?["txn"], [["r", 1, nil]], "nothing of a rejected txn applied")
    }

    /// Writes reach the other node within one replication interval, in batches: far fewer
    /// messages than transactions, acks riding on the reverse traffic.
    func testWritesReplicateInBatches() {
        let probe = TxnVisibility()
        let c = cluster(nodes: 2, visibility: probe)
        let a = c.newClient(), b = c.newClient()
        for i in 1...500 {
            txn(c, a, "n0", [["w", .int(i % 7), .int(i)]])
            txn(c, b, "n1", [["w", .int(100 + i % 5), .int(i)]])
            c.run(for: .ms(1))
        }
        c.run(for: .ms(100))
        XCTAssertEqual(txnNode(c, "n0")?.map, txnNode(c, "n1")?.map)
        XCTAssertEqual(txnNode(c, "n1")?.map[6], 496)
        XCTAssertEqual(txnNode(c, "n0")?.map[104], 499)
        let (lags, missing) = probe.visibilityLags(nodeIDs: c.nodeIDs)
        XCTAssertEqual(missing, 0)
        XCTAssertEqual(lags.count, 1000)
        XCTAssertLessThanOrEqual(lags.max()!, .ms(10), "visible on the peer within one replication interval")
        // 1000 write txns over ~0.6 s: one message per node per 10 ms tick while busy, plus
        // a few standalone acks once idle.
        XCTAssertLessThan(c.network.stats.serverSends, 140)
        let stats = txnNode(c, "n0")!.replicationStats
        XCTAssertEqual(stats.duplicateEntriesReceived, 0)
        XCTAssertEqual(stats.resends, 0)
        XCTAssertEqual(txnNode(c, "n0")!.unconfirmedEntries, 0, "everything acknowledged, the log is empty")
    }

    /// Under a partition every transaction is still answered at once; after the heal nothing is
    /// lost and both nodes hold the same map, with the later-stamped write of each key.
    func testPartitionedNodesStayAvailableAndConvergeAfterHeal() {
        let probe = TxnVisibility()
        let c = cluster(nodes: 2, visibility: probe)
        let a = c.newClient(), b = c.newClient()
        c.network.partition([["n0"], ["n1"]])
        let sentBefore = c.network.stats.nodeToNodeSends
        for i in 1...300 {
            let sentAt = c.now
            XCTAssertEqual(txn(c, a, "n0", [["w", 1, .int(i)], ["w", 2, .int(i)]])?["type"], "txn_ok")
            XCTAssertEqual(c.now, sentAt, "answered immediately")
            XCTAssertEqual(txn(c, b, "n1", [["w", 1, .int(1000 + i)]])?["type"], "txn_ok")
            c.run(for: .ms(5))
        }
        XCTAssertEqual(txn(c, b, "n1", [["r", 2, nil]])?["txn"], [["r", 2, nil]], "n1 has not seen n0's writes")
        XCTAssertGreaterThan(txnNode(c, "n0")!.unconfirmedEntries, 250)
        // 1.5 s cut off: each node streams for the first 0.5 s (one message per 10 ms tick),
        // then only resends one window per retransmit timeout (500 ms).
        XCTAssertLessThan(c.network.stats.nodeToNodeSends - sentBefore, 2 * (50 + 4))
        c.network.heal()
        let healedAt = c.now
        c.run(until: { probe.visibilityLags(nodeIDs: c.nodeIDs).missing == 0 }, limit: .ms(1000))
        XCTAssertLessThanOrEqual(c.now - healedAt, .ms(1100), "caught up within two retransmit timeouts (+ a tick)")
        c.run(for: .ms(200))
        let s0 = txnNode(c, "n0")!.map, s1 = txnNode(c, "n1")!.map
        XCTAssertEqual(s0, s1)
        XCTAssertEqual(s0[2], 300)
        // Both nodes made 300 stamped commits to key 1; n1's last one is (300, n1), above (300, n0).
        XCTAssertEqual(s0[1], 1300)
        for (node, client) in [("n0", a), ("n1", b)] {
            XCTAssertEqual(txn(c, client, node, [["r", 1, nil], ["r", 2, nil]])?["txn"], [["r", 1, 1300], ["r", 2, 300]])
        }
        XCTAssertEqual(probe.visibilityLags(nodeIDs: c.nodeIDs).missing, 0)
        XCTAssertEqual(txnNode(c, "n0")!.unconfirmedEntries, 0)
        XCTAssertGreaterThan(txnNode(c, "n0")!.replicationStats.resends, 0, "the partition forced resends")
    }

    /// Reordering latency, three nodes and repeated partitions of every shape: random
    /// transactions on every node, and in the end every node applied every write transaction
    /// exactly once and all maps are equal.
    func testConvergenceUnderReorderingAndRepeatedPartitions() {
        for seed in UInt64(1)...3 {
            let probe = TxnVisibility()
            let c = cluster(nodes: 3, latency: .ms(20), distribution: .uniform, seed: seed, visibility: probe)
            let clients = c.nodeIDs.map { ($0, c.newClient()) }
            var rng = SimRandom(seed: seed)
            var value = 0
            for round in 0..<40 {
                switch round % 4 {
                case 0: c.network.partition([["n0"], ["n1", "n2"]])
                case 1: c.network.partition([["n0", "n1"], ["n2"]])
                case 2: c.network.partition([["n0"], ["n1"], ["n2"]])
                default: c.network.heal()
                }
                for _ in 0..<50 {
                    let (node, client) = clients[rng.int(0...2)]
                    var ops: [JSONValue] = []
                    for _ in 0..<rng.int(1...4) {
                        value += 1
                        ops.append(rng.int(0...1) == 0 ? ["r", .int(rng.int(0...9)), nil] : ["w", .int(rng.int(0...9)), .int(value)])
                    }
                    XCTAssertEqual(txn(c, client, node, .array(ops), limit: .ms(100))?["type"], "txn_ok")
                    c.run(for: .ms(Int64(rng.int(0...10))))
                }
            }
            c.network.heal()
            c.run(for: .ms(2000))
            let maps = c.nodeIDs.map { txnNode(c, $0)!.map }
            XCTAssertEqual(maps[0], maps[1], "seed \(seed)")
            XCTAssertEqual(maps[1], maps[2], "seed \(seed)")
            XCTAssertEqual(maps[0].count, 10)
            let (lags, missing) = probe.visibilityLags(nodeIDs: c.nodeIDs)
            XCTAssertEqual(missing, 0, "seed \(seed)")
            XCTAssertGreaterThan(lags.count, 1000)
            XCTAssertTrue(c.nodeIDs.allSatisfy { txnNode(c, $0)!.unconfirmedEntries == 0 })
        }
    }

    /// A stray or garbled replication message is logged and dropped; the node keeps serving.
    func testGarbledReplicationIsIgnored() {
        let c = cluster(nodes: 2)
        let client = c.newClient()
        txn(c, client, "n0", [["w", 1, 1]])
        let garbage: [String] = [
            #"{"src":"n1","dest":"n0","body":{"type":"tx_data","ack":"x","from":0,"v":[[1,1,[[5]]]],"i":1}}"#,
            #"{"src":"n7","dest":"n0","body":{"type":"tx_data","ack":1,"from":0,"v":[[1,1,[[5,5]]]],"i":1}}"#,
            #"{"src":"n1","dest":"n0","body":{"type":"tx_data","ack":99,"from":0,"v":"no","i":1}}"#,
            #"{"src":"n1","dest":"n0","body":{"type":"tx_data","ack":0,"from":0,"v":[[9223372036854775807,1,[[5,5]]]],"i":1}}"#,
            #"{"src":"n1","dest":"n0","body":{"type":"tx_data","ack":0,"from":0,"v":[[1,99,[[5,5]]]],"i":1}}"#,
        ]
        for line in garbage { c.network.send(from: "n1", to: "n0", text: line) }
        c.run(for: .ms(100))
        XCTAssertEqual(txn(c, client, "n0", [["r", 1, nil], ["r", 5, nil]])?["txn"], [["r", 1, 1], ["r", 5, nil]])
        XCTAssertEqual(txnNode(c, "n1")?.map[1], 1, "replication still works")
    }
}
