import EVCore
import EVCheckers
import EVSim
import EVSimCore
import Workloads
import XCTest

/// Echo and unique-ids driven through the simulated cluster (the real Node and Router on a
/// virtual clock and network).
final class EchoUniqueIDsTests: XCTestCase {
    func testEchoReturnsAnyJSONUnchanged() {
        let cluster = Cluster(ClusterConfig(nodeCount: 1))
        XCTAssertEqual(cluster.initialize(), [])
        let client = cluster.newClient()
        let values: [JSONValue] = ["Please echo 35", 42, 2.5, true, nil, ["a": [1, 2, ["b": "c"]]], [], "ünïcödé \"q\""]
        var replies: [JSONValue?] = []
        for v in values {
            client.call("n0", ["type": "echo", "echo": v]) { replies.append($0) }
        }
        cluster.run(for: .ms(10))
        XCTAssertEqual(replies.count, values.count)
        for (v, reply) in zip(values, replies) {
            XCTAssertEqual(reply?["type"], "echo_ok")
            XCTAssertEqual(reply?["echo"], v)
            XCTAssertNotNil(reply?["in_reply_to"]?.int)
        }
    }

    func testEchoWithoutValueIsMalformed() {
        let cluster = Cluster(ClusterConfig(nodeCount: 1))
        cluster.initialize()
        var reply: JSONValue?
        cluster.newClient().call("n0", ["type": "echo"]) { reply = $0 }
        cluster.run(for: .ms(10))
        XCTAssertEqual(reply?["type"], "error")
        XCTAssertEqual(reply?["code"], 12)
    }

    /// 100k ids from 5 nodes while the network is repeatedly partitioned: every request is
    /// answered at once (no coordination) and no id repeats.
    func testHundredThousandIDsUniqueAcrossFiveNodesUnderPartitions() {
        var config = ClusterConfig(nodeCount: 5, latency: .ms(100), seed: 7)
        config.wallClockOrigin = 1_700_000_000_000_000
        let cluster = Cluster(config)
        XCTAssertEqual(cluster.initialize(), [])
        let clients = cluster.nodeIDs.map { ($0, cluster.newClient()) }
        var ids = Set<String>()
        var answered = 0, errors = 0
        let perNode = 20_000
        for round in 0..<(perNode / 1000) {
            // Alternate partitions: isolate a node, split 2/3, heal.
            switch round % 3 {
            case 0: cluster.network.partition([["n\(round % 5)"], cluster.nodeIDs.filter { $0 != "n\(round % 5)" }])
            case 1: cluster.network.partition([["n0", "n1"], ["n2", "n3", "n4"]])
            default: cluster.network.heal()
            }
            for (node, client) in clients {
                for _ in 0..<1000 {
                    client.call(node, ["type": "generate"]) { reply in
                        answered += 1
                        guard reply?["type"] == "generate_ok", let id = reply?["id"]?.string else { errors += 1; return }
                        ids.insert(id)
                    }
                }
            }
            cluster.run(for: .ms(1))
        }
        XCTAssertEqual(answered, 5 * perNode)
        XCTAssertEqual(errors, 0)
        XCTAssertEqual(ids.count, 5 * perNode, "every id distinct")
        XCTAssertEqual(cluster.network.stats.nodeToNodeSends, 0, "no coordination messages at all")
    }

    /// A whole-cluster restart (new processes, later wall clock) never reissues an earlier id.
    func testIDsStayUniqueAcrossClusterRestart() {
        var seen = Set<String>()
        for (restart, origin) in [Micros(1_700_000_000_000_000), 1_700_000_000_000_001].enumerated() {
            var config = ClusterConfig(nodeCount: 3, seed: UInt64(restart))
            config.wallClockOrigin = origin // restarted one microsecond later
            let cluster = Cluster(config)
            cluster.initialize()
            for node in cluster.nodeIDs {
                let client = cluster.newClient()
                for _ in 0..<500 {
                    client.call(node, ["type": "generate"]) { reply in
                        let id = reply?["id"]?.string ?? "missing"
                        XCTAssertFalse(seen.contains(id), "id \(id) reissued after restart")
                        seen.insert(id)
                    }
                }
            }
            cluster.run(for: .ms(10))
        }
        XCTAssertEqual(seen.count, 2 * 3 * 500)
    }
}
