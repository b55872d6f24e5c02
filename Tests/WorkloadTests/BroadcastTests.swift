import EVCore
import EVCheckers
import EVSim
import EVSimCore
import Workloads
import XCTest

/// The broadcast workload (challenges 3a–3e): requests on one node, the hub relay in a cluster,
/// and the challenges themselves in the Maelstrom-faithful runner (figures are virtual-time and
/// deterministic per seed, so they may be asserted).
final class BroadcastTests: XCTestCase {
    // MARK: helpers

    struct Run {
        let result: TestResult
        /// Each node's broadcast handler, with its id.
        let ids: [String]
        let nodes: [Broadcast]
        /// Keeps the cluster (and the nodes the handlers point to) alive.
        let runner: Runner
        var workload: JSONValue { result.results["workload"]! }
        func int(_ key: String) -> Int? { workload[key]?.int }
        var serversMsgsPerOp: Double? {
            switch result.results["net"]?["servers"]?["msgs-per-op"] {
            case .double(let d)?: return d
            case .int(let i)?: return Double(i)
            default: return nil
            }
        }
        var medianMS: Int? { workload["stable-latencies"]?["0.5"]?.int }
        var maxMS: Int? { workload["stable-latencies"]?["1"]?.int }
    }

    /// Runs a challenge of the table with `seed` and production defaults, keeping the nodes'
    /// broadcast handlers for inspection.
    func run(_ name: String, seed: UInt64) -> Run {
        var spec = Challenges.named(name)!.spec
        spec.seed = seed
        let runner = Runner(spec: spec)
        let result = runner.run()
        let pairs = runner.cluster.nodes.compactMap { n in (n.router?.active[.broadcast] as? Broadcast).map { (n.id, $0) } }
        return Run(result: result, ids: pairs.map(\.0), nodes: pairs.map(\.1), runner: runner)
    }

    func broadcastOf(_ cluster: Cluster, _ id: String) -> Broadcast? {
        cluster.node(id).router?.active[.broadcast] as? Broadcast
    }

    /// Sends `body` from a fresh client and runs until the reply (zero-latency client traffic).
    @discardableResult
    func call(_ cluster: Cluster, _ node: String, _ body: JSONValue, client: SimClient? = nil) -> JSONValue? {
        var reply: JSONValue?
        var done = false
        (client ?? cluster.newClient()).call(node, body) { reply = $0; done = true }
        cluster.run(until: { done }, limit: .seconds(6))
        return reply
    }

    // MARK: requests

    func testSingleNodeAnswersTopologyBroadcastAndReadWithNoPeers() {
        let cluster = Cluster(ClusterConfig(nodeCount: 1))
        XCTAssertEqual(cluster.initialize(), [])
        let c = cluster.newClient()
        XCTAssertEqual(call(cluster, "n0", ["type": "topology", "topology": ["n0": []]], client: c)?["type"], "topology_ok")
        for v in [5, 3, 5, 9, 3] {
            XCTAssertEqual(call(cluster, "n0", ["type": "broadcast", "message": .int(v)], client: c)?["type"], "broadcast_ok")
        }
        let read = call(cluster, "n0", ["type": "read"], client: c)
        XCTAssertEqual(read?["type"], "read_ok")
        XCTAssertEqual(read?["messages"], [5, 3, 9], "each value once")
        cluster.run(for: .seconds(5))
        XCTAssertEqual(cluster.network.stats.nodeToNodeSends, 0)
    }

    func testMalformedBroadcastIsRejectedAndTheNodeKeepsServing() {
        let cluster = Cluster(ClusterConfig(nodeCount: 1))
        cluster.initialize()
        for bad: JSONValue in [["type": "broadcast"], ["type": "broadcast", "message": "7"], ["type": "broadcast", "message": 1.5]] {
            let reply = call(cluster, "n0", bad)
            XCTAssertEqual(reply?["type"], "error")
            XCTAssertEqual(reply?["code"], 12)
        }
        // A client cannot inject peer traffic.
        let injected = call(cluster, "n0", ["type": "bc_data", "from": 0, "v": [666], "ack": 0, "i": 1])
        XCTAssertEqual(injected?["type"], "error")
        XCTAssertEqual(injected?["code"], 10)
        XCTAssertEqual(injected?["text"], "bc_data is internal to the cluster")
        XCTAssertEqual(call(cluster, "n0", ["type": "broadcast", "message": 1])?["type"], "broadcast_ok")
        XCTAssertEqual(call(cluster, "n0", ["type": "read"])?["messages"], [1])
    }

    /// Every node knows the hub is n0; a leaf's value reaches the others through it and never
    /// comes back to its origin.
    func testValuesTravelLeafToHubToLeavesAndNotBack() {
        let cluster = Cluster(ClusterConfig(nodeCount: 5, latency: .ms(100)))
        cluster.initialize()
        let c = cluster.newClient()
        call(cluster, "n3", ["type": "broadcast", "message": 42], client: c)
        call(cluster, "n0", ["type": "broadcast", "message": 7], client: c)
        cluster.run(for: .seconds(2))
        for id in cluster.nodeIDs {
            let messages = call(cluster, id, ["type": "read"], client: c)?["messages"]?.array?.compactMap(\.int) ?? []
            XCTAssertEqual(Set(messages), [42, 7], "\(id)")
            XCTAssertEqual(broadcastOf(cluster, id)?.links.peers.contains("n0") ?? false, id != "n0")
        }
        // Leaves talk only to the hub.
        XCTAssertEqual(broadcastOf(cluster, "n3")?.links.peers, ["n0"])
        XCTAssertEqual(broadcastOf(cluster, "n0")?.links.peers, ["n1", "n2", "n3", "n4"])
        // n3's value went to the hub once and was not sent back to n3.
        XCTAssertEqual(broadcastOf(cluster, "n3")?.links.stats.duplicateEntriesReceived, 0)
        XCTAssertEqual(broadcastOf(cluster, "n0")?.links.state(of: "n3")?.sent, 1, "only 7 goes to n3")
    }

    /// The hub cut off from every leaf: leaves keep answering (their own values stay readable),
    /// and once the network heals everything reaches everyone with nothing lost or duplicated.
    func testHubPartitionedAwayLosesNothingAndRecoversAfterHeal() {
        let cluster = Cluster(ClusterConfig(nodeCount: 5, latency: .ms(100), seed: 4))
        cluster.initialize()
        let c = cluster.newClient()
        call(cluster, "n1", ["type": "broadcast", "message": 1], client: c)
        cluster.run(for: .seconds(1))
        cluster.network.partition([["n0"], ["n1", "n2", "n3", "n4"]])
        var expected: Set<Int> = [1]
        for (i, id) in cluster.nodeIDs.enumerated() {
            for k in 0..<20 {
                let v = 100 * (i + 1) + k
                XCTAssertEqual(call(cluster, id, ["type": "broadcast", "message": .int(v)], client: c)?["type"], "broadcast_ok")
                expected.insert(v)
                cluster.run(for: .ms(150))
            }
        }
        // Still cut off: a leaf holds its own values (and what it had before), not the others'.
        let n2 = Set(call(cluster, "n2", ["type": "read"], client: c)?["messages"]?.array?.compactMap(\.int) ?? [])
        XCTAssertTrue(n2.isSuperset(of: [1] + (300..<320)))
        XCTAssertFalse(n2.contains(400))
        cluster.network.heal()
        cluster.run(for: .seconds(8))
        for id in cluster.nodeIDs {
            let messages = call(cluster, id, ["type": "read"], client: c)?["messages"]?.array?.compactMap(\.int) ?? []
            XCTAssertEqual(messages.count, Set(messages).count, "\(id): no duplicates")
            XCTAssertEqual(Set(messages), expected, "\(id)")
        }
        for id in cluster.nodeIDs {
            guard let b = broadcastOf(cluster, id) else { return XCTFail("no broadcast on \(id)") }
            for peer in b.links.peers {
                let s = b.links.state(of: peer)!
                XCTAssertEqual(s.inFlight, 0, "\(id)→\(peer) fully acknowledged")
                XCTAssertFalse(s.resending)
            }
        }
    }

    // MARK: challenges in the runner

    func testSingleNodeChallenge3a() {
        let r = run("3a", seed: 1)
        XCTAssertEqual(r.result.validity, .valid)
        XCTAssertTrue(r.result.passed)
        XCTAssertLessThanOrEqual(r.result.net.serverSends, 4, "only the workload registry (docs/faults.md)")
        XCTAssertGreaterThan(r.int("stable-count") ?? 0, 50)
    }

    func testMultiNodeChallenge3bPasses() {
        let r = run("3b", seed: 1)
        XCTAssertTrue(r.result.passed)
        XCTAssertEqual(r.int("lost-count"), 0)
        XCTAssertEqual(r.int("never-read-count"), 0)
    }

    /// 3c: 5 nodes, 10 ops/s, partitions; 20 seeds.
    func testChallenge3cLosesNothingOverTwentySeeds() {
        checkNothingLostUnderPartitions("3c")
    }

    /// 3d with `--nemesis partition`: 25 nodes, 100 ms, 100 ops/s; 20 seeds.
    func testChallenge3dWithPartitionsLosesNothingOverTwentySeeds() {
        checkNothingLostUnderPartitions("3d-partition")
    }

    /// Over 20 seeds: nothing acknowledged is lost, every value is read after it became known
    /// (no never-read), all nodes end with the same set, and the links' pending state stays
    /// bounded (messages in flight, not values).
    func checkNothingLostUnderPartitions(_ name: String, file: StaticString = #filePath, line: UInt = #line) {
        var partitioned = 0
        for seed in UInt64(1)...20 {
            let r = run(name, seed: seed)
            if r.result.nemesisEvents.contains(where: { $0.action == .startPartition }) { partitioned += 1 }
            let context = "\(name) seed \(seed)"
            XCTAssertEqual(r.result.validity, .valid, context, file: file, line: line)
            XCTAssertEqual(r.int("lost-count"), 0, context, file: file, line: line)
            XCTAssertEqual(r.int("never-read-count"), 0, context, file: file, line: line)
            XCTAssertEqual(r.int("duplicated-count"), 0, context, file: file, line: line)
            let sets = Set(r.nodes.map { Set($0.set.elements) })
            XCTAssertEqual(sets.count, 1, "\(context): nodes converged", file: file, line: line)
            for b in r.nodes {
                for peer in b.links.peers {
                    let s = b.links.state(of: peer)!
                    XCTAssertLessThanOrEqual(s.inFlight, 30, "\(context): link state bounded", file: file, line: line)
                    XCTAssertEqual(s.buffered, 0, context, file: file, line: line)
                }
            }
        }
        XCTAssertGreaterThanOrEqual(partitioned, 15, "most runs must really see partitions", file: file, line: line)
    }

    /// The 3d/3e budgets, one build, one default configuration: servers msgs-per-op ≤ 2.0,
    /// stable-latency median ≤ 300 ms and max ≤ 450 ms. And without faults nothing is resent.
    func testEfficientBroadcastBudgets3dAnd3e() {
        // 3e runs the same command as 3d (only its goals are looser).
        for (name, seeds) in [("3d", UInt64(1)...3), ("3e", UInt64(4)...4)] {
            for seed in seeds {
                let r = run(name, seed: seed)
                let context = "\(name) seed \(seed)"
                XCTAssertTrue(r.result.passed, context)
                XCTAssertGreaterThan(r.result.history.count, 1800, "\(context): the load really ran")
                XCTAssertLessThanOrEqual(r.serversMsgsPerOp ?? 99, 2.0, context)
                XCTAssertLessThanOrEqual(r.medianMS ?? 9999, 300, context)
                XCTAssertLessThanOrEqual(r.maxMS ?? 9999, 450, context)
                XCTAssertEqual(r.int("lost-count"), 0, context)
                XCTAssertEqual(r.nodes.count, 25)
                for b in r.nodes {
                    XCTAssertEqual(b.links.stats.resends, 0, context)
                    XCTAssertEqual(b.links.stats.duplicateEntriesReceived, 0, "\(context): nothing received twice")
                }
                // Each value crosses exactly 24 links: a leaf's goes to the hub and from there to
                // the 23 other leaves; the hub's own to the 24 leaves. Nothing is echoed back.
                let values = Set(r.nodes.flatMap(\.set.elements))
                var sent = 0
                for (id, b) in zip(r.ids, r.nodes) {
                    for peer in b.links.peers { sent += b.links.state(of: peer)!.sent }
                    if id != "n0" {
                        let own = Set(r.result.history.filter { $0.f == "broadcast" && $0.node == id }.compactMap(\.value.int))
                        XCTAssertEqual(b.links.state(of: "n0")?.sent, own.count, "\(context): \(id) sends the hub only its clients' values")
                    }
                }
                XCTAssertEqual(sent, 24 * values.count, context)
            }
        }
    }
}
