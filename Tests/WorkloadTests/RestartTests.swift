import EVCore
import EVSim
import EVSimCore
@testable import Workloads
import XCTest

/// What each workload does so that a killed and restarted node keeps its promises
/// (docs/faults.md, "What each workload adds"), one focused run each on the simulated cluster:
/// every test here fails if the mechanism it names is taken out.
final class RestartTests: XCTestCase {
    /// A key whose owner is node `index` of `nodeCount`.
    private func key(ownedBy index: Int, of nodeCount: Int) -> String {
        (0...).lazy.map { "k\($0)" }.first { KafkaOwnership.ownerIndex(of: $0, nodeCount: nodeCount) == index }!
    }

    private func send(_ c: Cluster, _ node: String, _ key: String, _ msg: Int, limit: Micros = .seconds(6)) -> JSONValue? {
        c.call(node, ["type": "send", "key": .string(key), "msg": .int(msg)], limit: limit)
    }

    // MARK: kafka

    /// A restarted owner greets its peers and assigns offsets of its keys only once each answered
    /// and delivered the snapshot it owed: its log continues after every offset handed out before.
    func testARestartedKafkaOwnerContinuesItsKeysOffsets() {
        let c = initializedCluster(nodes: 2, latency: .ms(10), workload: .kafka)
        let k = key(ownedBy: 0, of: 2)
        for i in 0..<5 { XCTAssertEqual(send(c, "n0", k, i)?["offset"], .int(i)) }
        c.run(for: .seconds(1)) // n1 holds them
        XCTAssertTrue(c.kill("n0"))
        XCTAssertTrue(c.start("n0"))
        XCTAssertEqual(send(c, "n0", k, 5)?["offset"], 5, "never an offset handed out before the restart")
        c.run(for: .seconds(1))
        XCTAssertEqual((c.node("n1").router?.active[.kafka] as? Kafka)?.stats.inconsistentReplicas, 0)
    }

    /// While a peer is down, a restarted owner cannot know its keys' last offsets: sends to them
    /// are refused with error 11 after `recoveryWait`, not left unanswered.
    func testARestartedKafkaOwnerRefusesSendsWhileAPeerIsDown() {
        let c = initializedCluster(nodes: 2, latency: .ms(10), workload: .kafka)
        let k = key(ownedBy: 0, of: 2)
        XCTAssertEqual(send(c, "n0", k, 1)?["offset"], 0)
        c.run(for: .seconds(1))
        XCTAssertTrue(c.kill("n0") && c.kill("n1"))
        XCTAssertTrue(c.start("n0"))
        let reply = send(c, "n0", k, 2, limit: .seconds(3))
        XCTAssertEqual(reply?["code"], 11, "\(String(describing: reply))")
    }

    /// Durable mode: sends that wait for the same group commit get consecutive offsets (offsets
    /// in flight are reserved), so the log stays dense.
    func testDurableKafkaSendsInOneCommitGetConsecutiveOffsets() {
        let c = initializedCluster(nodes: 1, latency: .ms(5), workload: .kafka) { $0.durability.enabled = true }
        var offsets: [Int] = []
        for i in 0..<3 {
            c.newClient().call("n0", ["type": "send", "key": "k", "msg": .int(i)]) { offsets.append($0?["offset"]?.int ?? -1) }
        }
        c.run(until: { offsets.count == 3 }, limit: .seconds(2))
        XCTAssertEqual(offsets.sorted(), [0, 1, 2])
    }

    /// Durable mode: a restarted node lists committed offsets only once it has recovered its
    /// store; before, it refuses (error 11) rather than answer less than it acknowledged.
    func testARestartedKafkaNodeListsCommittedOffsetsOnlyOnceRecovered() {
        let c = initializedCluster(nodes: 1, latency: .ms(10), workload: .kafka) { $0.durability.enabled = true }
        XCTAssertEqual(c.call("n0", ["type": "commit_offsets", "offsets": ["k": 3]])?["type"], "commit_offsets_ok")
        XCTAssertTrue(c.kill("n0"))
        XCTAssertTrue(c.start("n0"))
        let early = c.call("n0", ["type": "list_committed_offsets", "keys": ["k"]])
        if early?["type"] == "error" {
            XCTAssertEqual(early?["code"], 11)
        } else {
            XCTAssertEqual(early?["offsets"], ["k": 3], "a list never shows less than a commit acknowledged before it")
        }
        c.run(for: .seconds(1))
        XCTAssertEqual(c.call("n0", ["type": "list_committed_offsets", "keys": ["k"]])?["offsets"], ["k": 3])
    }

    /// Durable mode, a node with no peer to greet: a restarted owner assigns its keys' offsets only
    /// once it has recovered its store, so the first send after the restart continues the log
    /// instead of handing out offset 0 again.
    func testARestartedDurableKafkaOwnerAssignsOffsetsOnlyOnceRecovered() {
        let c = initializedCluster(nodes: 1, latency: .ms(10), workload: .kafka) { $0.durability.enabled = true }
        for i in 0..<3 { XCTAssertEqual(send(c, "n0", "k", i)?["offset"], .int(i)) }
        XCTAssertTrue(c.kill("n0"))
        XCTAssertTrue(c.start("n0"))
        XCTAssertEqual(send(c, "n0", "k", 3)?["offset"], 3, "never an offset handed out before the restart")
        XCTAssertEqual(c.call("n0", ["type": "poll", "offsets": ["k": 0]])?["msgs"], ["k": [[0, 0], [1, 1], [2, 2], [3, 3]]])
    }

    // MARK: g-counter

    /// Each process is its own replica (`<node>/<incarnation>`): a restarted node's adds count in a
    /// fresh entry instead of being hidden under its old entry's larger sums.
    func testARestartedCounterNodeCountsInAFreshReplica() {
        let c = initializedCluster(nodes: 2, workload: .gCounter)
        XCTAssertEqual(c.call("n0", ["type": "add", "delta": 5])?["type"], "add_ok")
        c.run(for: .seconds(5))
        XCTAssertEqual(c.call("n1", ["type": "read"])?["value"], 5)
        XCTAssertTrue(c.kill("n0"))
        XCTAssertTrue(c.start("n0"))
        XCTAssertEqual(c.call("n0", ["type": "add", "delta": 3])?["type"], "add_ok")
        c.run(for: .seconds(10))
        XCTAssertEqual(c.call("n0", ["type": "read"])?["value"], 8)
        XCTAssertEqual(c.call("n1", ["type": "read"])?["value"], 8)
    }

    // MARK: txn

    /// Durable mode: a restarted process answers a transaction only once it recovered what was
    /// stored, so a read sees a write acknowledged before the kill.
    func testARestartedDurableTxnNodeReadsOnlyOnceRecovered() {
        let c = initializedCluster(nodes: 1, latency: .ms(10), workload: .txn) { $0.durability.enabled = true }
        XCTAssertEqual(c.call("n0", ["type": "txn", "txn": [["w", 1, 1]]])?["type"], "txn_ok")
        XCTAssertTrue(c.kill("n0"))
        XCTAssertTrue(c.start("n0"))
        c.run(for: .ms(1))
        XCTAssertEqual(c.call("n0", ["type": "txn", "txn": [["r", 1, nil]]], limit: .seconds(2))?["txn"], [["r", 1, 1]])
    }

    /// Stamps are hybrid clocks (at least the wall clock in µs): a restarted node, which lost its
    /// counter, stamps its first write above what it wrote before, so that write wins everywhere.
    func testARestartedTxnNodeStampsAboveWhatItWroteBefore() {
        let c = initializedCluster(nodes: 2, latency: .ms(10))
        XCTAssertEqual(c.call("n0", ["type": "txn", "txn": [["w", 1, 1]]])?["type"], "txn_ok")
        c.run(for: .seconds(1))
        XCTAssertTrue(c.kill("n0"))
        XCTAssertTrue(c.start("n0"))
        XCTAssertEqual(c.call("n0", ["type": "txn", "txn": [["w", 1, 2]]])?["type"], "txn_ok")
        c.run(for: .seconds(2))
        for node in ["n0", "n1"] {
            XCTAssertEqual(c.call(node, ["type": "txn", "txn": [["r", 1, nil]]])?["txn"], [["r", 1, 2]], node)
        }
    }
}
