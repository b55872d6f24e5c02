import EVCore
import EVSimCore
import Workloads
import XCTest

/// lin-kv on the nodes' own Raft (docs/linkv.md), on the simulated network: the register's
/// semantics, elections, partitions, and the rules that keep answers linearizable.
final class LinKVTests: XCTestCase {
    private func cluster(nodes: Int = 3, latency: Micros = 5, seed: UInt64 = 1, durable: Bool = false) -> Cluster {
        let c = initializedCluster(nodes: nodes, latency: latency, seed: seed, workload: .linKV) { $0.durability.enabled = durable }
        let client = c.newClient()
        for n in c.nodeIDs { client.call(n, ["type": "read", "key": 0]) { _ in } } // the workload starts on its first message
        c.run(for: .seconds(3)) // an election
        return c
    }

    private func raft(_ c: Cluster, _ id: String) -> Raft? { (c.node(id).router?.active[.linKV] as? LinearizableKV)?.raft }

    private func leaders(_ c: Cluster) -> [String] {
        c.nodeIDs.filter { c.isAlive($0) && raft(c, $0)?.role == .leader }
    }

    func testOneLeaderIsElectedAndServesEveryNode() {
        let c = cluster()
        XCTAssertEqual(leaders(c).count, 1)
        XCTAssertEqual(c.call("n1", ["type": "read", "key": 1])?["code"], 20, "missing key")
        XCTAssertEqual(c.call("n2", ["type": "write", "key": 1, "value": 3])?["type"], "write_ok")
        for n in c.nodeIDs { XCTAssertEqual(c.call(n, ["type": "read", "key": 1])?["value"], 3, n) }
        XCTAssertEqual(c.call("n0", ["type": "cas", "key": 1, "from": 4, "to": 0])?["code"], 22)
        XCTAssertEqual(c.call("n1", ["type": "cas", "key": 1, "from": 3, "to": 0])?["type"], "cas_ok")
        XCTAssertEqual(c.call("n2", ["type": "cas", "key": 9, "from": 3, "to": 0])?["code"], 20)
        XCTAssertEqual(c.call("n2", ["type": "read", "key": 1])?["value"], 0)
    }

    func testANewLeaderWithinTwoSecondsOfTheOldOneBeingCutOff() {
        for seed in UInt64(1)...5 {
            let c = cluster(seed: seed)
            let old = leaders(c)[0]
            c.network.partition([[old], c.nodeIDs.filter { $0 != old }])
            let cutAt = c.now
            XCTAssertTrue(c.run(until: { self.leaders(c).contains { $0 != old } }, limit: .seconds(2)), "seed \(seed)")
            print("seed \(seed): new leader after \(Double(c.now - cutAt) / 1000) ms")
            let majority = c.nodeIDs.first { $0 != old }!
            XCTAssertEqual(c.call(majority, ["type": "write", "key": 1, "value": 2])?["type"], "write_ok", "seed \(seed)")
            XCTAssertEqual(c.call(old, ["type": "read", "key": 1])?["code"], 11, "the old leader cannot confirm a read")
            c.network.heal()
            c.run(for: .seconds(2))
            XCTAssertEqual(leaders(c).count, 1, "seed \(seed)")
            XCTAssertEqual(c.call(old, ["type": "read", "key": 1])?["value"], 2, "seed \(seed)")
        }
    }

    /// Maelstrom's pause: the leader stops for seconds, the others elect a new one and take a
    /// write, the old leader resumes still believing it leads. It must not answer a read from its
    /// stale state: it learns of the new term before it can confirm anything.
    func testAPausedLeaderDoesNotServeAStaleReadWhenItResumes() {
        for seed in UInt64(1)...3 {
            let c = cluster(seed: seed)
            let old = leaders(c)[0]
            XCTAssertEqual(c.call(old, ["type": "write", "key": 7, "value": 1])?["type"], "write_ok")
            XCTAssertTrue(c.pause(old))
            c.run(for: .seconds(3))
            let other = c.nodeIDs.first { $0 != old }!
            XCTAssertEqual(c.call(other, ["type": "write", "key": 7, "value": 2])?["type"], "write_ok", "seed \(seed)")
            XCTAssertTrue(c.resume(old))
            c.run(for: .ms(300)) // past the stall grace: earlier arrivals count as old (docs/faults.md)
            let reply = c.call(old, ["type": "read", "key": 7])
            XCTAssertTrue(reply?["value"] == 2 || reply?["code"] == 11, "seed \(seed): \(reply?.text ?? "no reply")")
            XCTAssertNotEqual(raft(c, old)?.role, .leader)
        }
    }

    /// A client's write reaches a node that hears no leader: refused with 11 (it never left the
    /// node, so it can never take effect); a read likewise.
    func testRequestsThatCannotBeServedAreRefusedOnlyWhenTheyCannotTakeEffect() {
        let c = cluster()
        let leader = leaders(c)[0]
        let lonely = c.nodeIDs.first { $0 != leader }!
        c.network.partition([[lonely], c.nodeIDs.filter { $0 != lonely }])
        c.run(for: .ms(600)) // past the election timeout: its leader is presumed gone
        XCTAssertEqual(c.call(lonely, ["type": "write", "key": 1, "value": 1])?["code"], 11)
        XCTAssertEqual(c.call(lonely, ["type": "read", "key": 1])?["code"], 11)
        c.network.heal()
        c.run(for: .seconds(2))
        XCTAssertEqual(c.call(lonely, ["type": "read", "key": 1])?["code"], 20, "the refused write never happened")
    }

    /// Default mode keeps the log in memory: a restarted process votes only once a leader has
    /// given its log back, and when a majority restarted together no leader is elected at all
    /// (refusing everything rather than forgetting acknowledged writes).
    func testRestartedNodesWithoutTheirLogsVoteOnlyOnceCaughtUp() {
        let c = cluster()
        let leader = leaders(c)[0]
        let followers = c.nodeIDs.filter { $0 != leader }
        XCTAssertEqual(c.call(leader, ["type": "write", "key": 1, "value": 1])?["type"], "write_ok")
        XCTAssertTrue(c.kill(followers[0]))
        c.run(for: .ms(100))
        XCTAssertTrue(c.start(followers[0]))
        c.run(for: .seconds(2))
        XCTAssertEqual(raft(c, followers[0])?.amnesiac, false, "the leader gave its log back")
        XCTAssertEqual(c.call(followers[0], ["type": "read", "key": 1])?["value"], 1)

        XCTAssertTrue(c.kill(leader) && c.kill(followers[0]))
        c.run(for: .ms(100))
        XCTAssertTrue(c.start(leader) && c.start(followers[0]))
        c.run(for: .seconds(5))
        XCTAssertEqual(leaders(c), [], "the restarted majority withholds its votes")
        XCTAssertEqual(c.call(followers[1], ["type": "read", "key": 1])?["code"], 11)
        XCTAssertEqual(c.call(leader, ["type": "write", "key": 1, "value": 2])?["code"], 11)
    }

    /// Durable mode: every node killed at once and started again, and every acknowledged write is
    /// still there; a vote or an acknowledgement given before the kill holds after it.
    func testDurableModeKeepsEveryAcknowledgedWriteWhenEveryNodeIsKilled() {
        for seed in UInt64(1)...5 {
            let c = cluster(seed: seed, durable: true)
            var acknowledged: [Int: Int] = [:]
            for i in 0..<6 {
                let node = c.nodeIDs[i % 3]
                if c.call(node, ["type": "write", "key": .int(i), "value": .int(10 + i)])?["type"] == "write_ok" { acknowledged[i] = 10 + i }
            }
            // The last through the leader, and the kill at the instant it is acknowledged: a
            // follower that acknowledged before storing would lose it.
            if c.call(leaders(c)[0], ["type": "write", "key": 6, "value": 16])?["type"] == "write_ok" { acknowledged[6] = 16 }
            XCTAssertEqual(acknowledged.count, 7, "seed \(seed)")
            for n in c.nodeIDs { XCTAssertTrue(c.kill(n)) }
            c.run(for: .ms(200))
            for n in c.nodeIDs { XCTAssertTrue(c.start(n)) }
            let client = c.newClient()
            for n in c.nodeIDs { client.call(n, ["type": "read", "key": 0]) { _ in } }
            c.run(for: .seconds(3))
            XCTAssertEqual(leaders(c).count, 1, "seed \(seed): a leader after the restart")
            for (key, value) in acknowledged {
                XCTAssertEqual(c.call(c.nodeIDs[key % 3], ["type": "read", "key": .int(key)])?["value"], .int(value), "seed \(seed) key \(key)")
            }
        }
    }
}
