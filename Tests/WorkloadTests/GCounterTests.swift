import EVCore
import EVCheckers
import EVSim
import EVSimCore
import Workloads
import XCTest

/// The g-counter handler (challenge 4) on the simulated cluster: requests, bad input, gossip,
/// partitions and the seq-kv side channel.
final class GCounterTests: XCTestCase {
    // MARK: helpers

    private func cluster(nodes: Int, latency: Micros = 0, seed: UInt64 = 1,
                         configure: (inout Counter.Config) -> Void = { _ in }) -> Cluster {
        initializedCluster(nodes: nodes, latency: latency, seed: seed, workload: .gCounter) { configure(&$0.gCounter) }
    }

    @discardableResult
    private func call(_ c: Cluster, _ node: String, _ body: JSONValue) -> JSONValue? { c.call(node, body) }

    private func read(_ c: Cluster, _ node: String) -> Int? { call(c, node, ["type": "read"])?["value"]?.int }

    private func keys(_ reply: JSONValue?) -> Set<String> { Set(reply?.members?.map(\.0) ?? []) }

    // MARK: requests

    func testAddAndReadOnOneNodeWithExactReplyShapes() {
        let c = cluster(nodes: 1)
        let add = call(c, "n0", ["type": "add", "delta": 3])
        XCTAssertEqual(add?["type"], "add_ok")
        XCTAssertEqual(keys(add), ["type", "in_reply_to"])
        call(c, "n0", ["type": "add", "delta": 4])
        call(c, "n0", ["type": "add", "delta": 0])
        let r = call(c, "n0", ["type": "read"])
        XCTAssertEqual(r?["type"], "read_ok")
        XCTAssertEqual(r?["value"], 7)
        XCTAssertEqual(keys(r), ["type", "in_reply_to", "value"])
        XCTAssertEqual(c.network.stats.nodeToNodeSends, 0, "a lone node talks to nobody")
    }

    func testBadDeltasAreMalformedAndChangeNothing() {
        let c = cluster(nodes: 1)
        call(c, "n0", ["type": "add", "delta": 5])
        for bad: JSONValue in [["type": "add"], ["type": "add", "delta": "3"], ["type": "add", "delta": 2.5],
                               ["type": "add", "delta": nil], ["type": "add", "delta": [1]]] {
            let reply = call(c, "n0", bad)
            XCTAssertEqual(reply?["type"], "error", bad.text)
            XCTAssertEqual(reply?["code"], 12, bad.text)
            XCTAssertNotNil(reply?["text"]?.string)
        }
        // A delta that would overflow the counter is refused, not wrapped.
        XCTAssertEqual(call(c, "n0", ["type": "add", "delta": .int(Int.max - 5)])?["type"], "add_ok")
        XCTAssertEqual(call(c, "n0", ["type": "add", "delta": 1])?["code"], 12)
        XCTAssertEqual(read(c, "n0"), Int.max)
    }

    func testNegativeDeltasCountDownLikeAPNCounter() {
        let c = cluster(nodes: 2)
        call(c, "n0", ["type": "add", "delta": 10])
        call(c, "n1", ["type": "add", "delta": -4])
        call(c, "n1", ["type": "add", "delta": -1])
        c.run(for: .seconds(2)) // a hub flush (1.5 s)
        XCTAssertEqual(read(c, "n0"), 5)
        XCTAssertEqual(read(c, "n1"), 5)
    }

    // MARK: gossip

    /// Adds spread over three nodes reach every node; each link carries at most one message per
    /// flush interval (leaves 250 ms, the hub 1.5 s) plus the acknowledgements, and a quiet
    /// cluster falls silent.
    func testGossipBatchesConvergesAndFallsSilent() {
        let c = cluster(nodes: 3, latency: .ms(10))
        let client = c.newClient()
        var total = 0
        for i in 0..<600 { // 600 adds over 6 s
            let delta = i % 5
            total += delta
            c.events.schedule(at: c.now + .ms(Int64(i) * 10)) {
                client.call("n\(i % 3)", ["type": "add", "delta": .int(delta)]) { _ in }
            }
        }
        c.run(for: .seconds(6))
        let duringLoad = c.network.stats.nodeToNodeSends
        // Two leaves, one message per 250 ms each (~48 in 6 s); the hub, one per 1.5 s to each (~8).
        // One message per add would be 1200.
        XCTAssertLessThanOrEqual(duringLoad, 2 * 25 + 2 * 5 + 10)
        c.run(for: .seconds(4))
        for n in c.nodeIDs { XCTAssertEqual(read(c, n), total, n) }
        let settled = c.network.stats.serverSends
        c.run(for: .seconds(10))
        XCTAssertEqual(c.network.stats.serverSends, settled, "nothing left to say, nothing said")
        XCTAssertEqual(c.seqKV.requests, 0, "no peer was ever silent, so seq-kv was not needed")
    }

    /// A partition delays replication but loses nothing: everybody converges exactly after the heal,
    /// and then falls silent.
    func testPartitionDelaysButLosesNothing() {
        let c = cluster(nodes: 3, latency: .ms(5))
        for n in c.nodeIDs { call(c, n, ["type": "add", "delta": 1]) }
        c.run(for: .seconds(1))
        XCTAssertEqual(read(c, "n0"), 3)
        c.network.partition([["n0"], ["n1", "n2"]])
        let client = c.newClient()
        for i in 0..<300 { // 10 s of adds on every node
            c.events.schedule(at: c.now + .ms(Int64(i) * 33)) {
                client.call("n\(i % 3)", ["type": "add", "delta": 2]) { _ in }
            }
        }
        c.run(for: .seconds(10))
        XCTAssertEqual(read(c, "n0"), 3 + 200, "n0 sees nothing of the others while cut off")
        c.network.heal()
        c.run(for: .seconds(3))
        for n in c.nodeIDs { XCTAssertEqual(read(c, n), 603, n) }
        let messages = c.network.stats.serverSends
        c.run(for: .seconds(10))
        XCTAssertEqual(c.network.stats.serverSends, messages, "settled: nothing left to say")
        XCTAssertEqual(c.seqKV.requests, 0)
    }

    /// While a peer is unreachable the node resends one window per retransmit timeout (1 s), not
    /// once per gossip interval.
    func testUnreachablePeerIsResentToSlowly() {
        let c = cluster(nodes: 2)
        c.network.partition([["n0"], ["n1"]])
        let client = c.newClient()
        for i in 0..<100 {
            c.events.schedule(at: c.now + .ms(Int64(i) * 100)) {
                client.call("n0", ["type": "add", "delta": 1]) { _ in }
            }
        }
        c.run(for: .seconds(10))
        let sent = c.network.stats.nodeToNodeSends
        XCTAssertGreaterThanOrEqual(sent, 4)
        XCTAssertLessThanOrEqual(sent, 14, "a few flushes, then one resend per second")
        c.network.heal()
        c.run(for: .seconds(3))
        XCTAssertEqual(read(c, "n1"), 100)
    }

    /// Peer messages of the wrong shape are ignored without harm.
    func testMalformedGossipIsIgnored() {
        let c = cluster(nodes: 2)
        call(c, "n0", ["type": "add", "delta": 2])
        for body: JSONValue in [["type": "gc_data"], ["type": "gc_data", "i": 1, "from": 0, "v": [["n1", "x", 0]]],
                                ["type": "gc_data", "i": 1, "from": 0, "v": [["n1/x", -5, 0]]],
                                ["type": "gc_data", "i": 1, "from": "0", "v": []],
                                ["type": "gc_data", "i": 1, "from": 0, "v": [["", 5, 0]]]] {
            c.network.send(from: "n1", to: "n0", text: JSONValue.object([("src", "n1"), ("dest", "n0"), ("body", body)]).text)
        }
        c.run(for: .seconds(4)) // the fake incarnation costs n0 a round trip and a hub flush
        XCTAssertEqual(read(c, "n0"), 2)
        XCTAssertEqual(read(c, "n1"), 2)
    }
}
