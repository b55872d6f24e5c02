import EVCore
import EVCheckers
import EVSim
import EVSimCore
@testable import Workloads
import XCTest

/// The kafka handler (challenges 5a–5c) on the simulated cluster: requests and their exact reply
/// shapes, bad input, owner forwarding, replication (also across a partition) and committed
/// offsets; plus the log storage on its own.
final class KafkaTests: XCTestCase {
    // MARK: helpers

    private func cluster(nodes: Int, latency: Micros = 0, seed: UInt64 = 1,
                         configure: (inout Kafka.Config) -> Void = { _ in }) -> Cluster {
        initializedCluster(nodes: nodes, latency: latency, seed: seed, workload: .kafka) { configure(&$0.kafka) }
    }

    @discardableResult
    private func call(_ c: Cluster, _ node: String, _ body: JSONValue) -> JSONValue? { c.call(node, body) }

    private func send(_ c: Cluster, _ node: String, _ key: String, _ msg: Int) -> Int? {
        call(c, node, ["type": "send", "key": .string(key), "msg": .int(msg)])?["offset"]?.int
    }

    private func poll(_ c: Cluster, _ node: String, _ offsets: [(String, Int)]) -> JSONValue? {
        call(c, node, ["type": "poll", "offsets": .object(offsets.map { ($0.0, .int($0.1)) })])?["msgs"]
    }

    private func keys(_ reply: JSONValue?) -> Set<String> { Set(reply?.members?.map(\.0) ?? []) }

    /// A key whose owner is `node` among `nodeCount` nodes.
    private func key(ownedBy index: Int, of nodeCount: Int, _ n: Int = 0) -> String {
        var found = 0
        for i in 0... {
            let k = "k\(i)"
            if KafkaOwnership.ownerIndex(of: k, nodeCount: nodeCount) == index {
                if found == n { return k }
                found += 1
            }
        }
        fatalError("unreachable")
    }

    private func kafka(_ c: Cluster, _ id: String) -> Kafka? { c.node(id).router?.active[.kafka] as? Kafka }

    // MARK: one node

    func testSendPollCommitListOnOneNodeWithExactReplyShapes() {
        let c = cluster(nodes: 1)
        let first = call(c, "n0", ["type": "send", "key": "9", "msg": 100])
        XCTAssertEqual(first?["type"], "send_ok")
        XCTAssertEqual(keys(first), ["type", "in_reply_to", "offset"])
        XCTAssertEqual(first?["offset"], 0)
        XCTAssertEqual(send(c, "n0", "9", 101), 1)
        XCTAssertEqual(send(c, "n0", "12", 7), 0, "offsets are per key, dense from 0")
        XCTAssertEqual(send(c, "n0", "9", 102), 2)

        let polled = call(c, "n0", ["type": "poll", "offsets": ["9": 1, "12": 0, "40": 0]])
        XCTAssertEqual(keys(polled), ["type", "in_reply_to", "msgs"])
        XCTAssertEqual(polled?["msgs"], ["9": [[1, 101], [2, 102]], "12": [[0, 7]]], "unknown key 40 omitted")
        XCTAssertEqual(poll(c, "n0", [("9", 3)]), [:], "nothing at or after offset 3")
        XCTAssertEqual(poll(c, "n0", []), [:], "an unassigned client polls with {}")

        let commit = call(c, "n0", ["type": "commit_offsets", "offsets": ["9": 1, "12": 0]])
        XCTAssertEqual(commit?["type"], "commit_offsets_ok")
        XCTAssertEqual(keys(commit), ["type", "in_reply_to"])
        let list = call(c, "n0", ["type": "list_committed_offsets", "keys": ["9", "12", "40"]])
        XCTAssertEqual(list?["type"], "list_committed_offsets_ok")
        XCTAssertEqual(keys(list), ["type", "in_reply_to", "offsets"])
        XCTAssertEqual(list?["offsets"], ["9": 1, "12": 0], "never-committed key 40 omitted")
        XCTAssertEqual(c.network.stats.nodeToNodeSends, 0, "5a needs no coordination at all")
        XCTAssertLessThanOrEqual(c.network.stats.serverSends, 4, "only the workload registry (docs/faults.md)")
    }

    func testCommittedOffsetsNeverGoBackwards() {
        let c = cluster(nodes: 1)
        call(c, "n0", ["type": "commit_offsets", "offsets": ["a": 5]])
        XCTAssertEqual(call(c, "n0", ["type": "commit_offsets", "offsets": ["a": 3, "b": 1]])?["type"], "commit_offsets_ok")
        XCTAssertEqual(call(c, "n0", ["type": "list_committed_offsets", "keys": ["a", "b"]])?["offsets"], ["a": 5, "b": 1])
    }

    func testBadFieldsAreMalformedAndChangeNothing() {
        let c = cluster(nodes: 1)
        XCTAssertEqual(send(c, "n0", "k", 1), 0)
        call(c, "n0", ["type": "commit_offsets", "offsets": ["k": 0]])
        let bad: [JSONValue] = [
            ["type": "send", "msg": 1],                              // missing key
            ["type": "send", "key": 9, "msg": 1],                    // key not a string
            ["type": "send", "key": "k"],                            // missing msg
            ["type": "send", "key": "k", "msg": "one"],              // msg not an integer
            ["type": "send", "key": "k", "msg": 1.5],
            ["type": "poll"],                                        // missing offsets
            ["type": "poll", "offsets": ["k", 0]],                   // offsets not an object
            ["type": "poll", "offsets": ["k": -1]],                  // negative offset
            ["type": "poll", "offsets": ["k": 0.5]],                 // non-integer offset
            ["type": "poll", "offsets": ["k": "0"]],
            ["type": "commit_offsets", "offsets": ["k": 3, "j": -2]], // one bad offset: nothing applied
            ["type": "commit_offsets", "offsets": 3],
            ["type": "commit_offsets"],
            ["type": "list_committed_offsets"],                      // missing keys
            ["type": "list_committed_offsets", "keys": "k"],         // not an array
            ["type": "list_committed_offsets", "keys": ["k", 4]],    // not all strings
        ]
        for body in bad {
            let reply = call(c, "n0", body)
            XCTAssertEqual(reply?["type"], "error", body.text)
            XCTAssertEqual(reply?["code"], 12, body.text)
            XCTAssertFalse(reply?["text"]?.string?.isEmpty ?? true, body.text)
        }
        XCTAssertEqual(send(c, "n0", "k", 2), 1, "the bad sends stored nothing")
        XCTAssertEqual(call(c, "n0", ["type": "list_committed_offsets", "keys": ["k", "j"]])?["offsets"], ["k": 0],
                       "the half-bad commit applied nothing")
    }

    /// Many messages in one key: polls from anywhere are cheap and a poll reply is capped (the
    /// client simply polls again from where it got to).
    func testLongKeyPollsAreCappedAndResumable() {
        let c = cluster(nodes: 1) { $0.maxMessagesPerPoll = 5_000 }
        let client = c.newClient()
        var offsets: [Int] = []
        for i in 0..<20_000 {
            client.call("n0", ["type": "send", "key": "big", "msg": .int(i * 3)]) { r in
                if let o = r?["offset"]?.int { offsets.append(o) }
            }
        }
        c.run(for: .ms(10))
        XCTAssertEqual(offsets, Array(0..<20_000))
        XCTAssertEqual(poll(c, "n0", [("big", 19_998)]), ["big": [[19_998, 59_994], [19_999, 59_997]]])
        let first = poll(c, "n0", [("big", 0), ("other", 0)])?["big"]?.array
        XCTAssertEqual(first?.count, 5_000, "capped")
        XCTAssertEqual(first?.last, [4_999, 14_997])
        XCTAssertEqual(poll(c, "n0", [("big", 5_000)])?["big"]?.array?.first, [5_000, 15_000])
    }

    /// 100k messages in one key cost one machine word each.
    func testHundredThousandMessagesInOneKeyAreStoredCompactly() {
        let log = KafkaKeyLog()
        for i in 0..<100_000 { XCTAssertTrue(log.apply(start: i, [i])) }
        XCTAssertEqual(log.count, 100_000)
        XCTAssertLessThanOrEqual(log.messages.capacity * MemoryLayout<Int>.stride, 2 << 20, "≈ 800 KB, not per-entry objects")
        // A replica fed the same key in batches, out of order, ends with the same dense log.
        let replica = KafkaKeyLog()
        for start in stride(from: 90_000, through: 0, by: -10_000) {
            replica.apply(start: start, Array(start..<(start + 10_000)))
        }
        XCTAssertEqual(replica.messages, log.messages)
    }

    // MARK: two nodes

    /// Whichever node a client uses, a key's offsets come from its owner: dense, never reused;
    /// every node then answers polls locally with the same log.
    func testSendsAreForwardedToTheOwnerAndReplicatedToTheOther() {
        let c = cluster(nodes: 2, latency: .ms(10))
        let k0 = key(ownedBy: 0, of: 2), k1 = key(ownedBy: 1, of: 2)
        var got: [String: [Int]] = [:]
        for i in 0..<20 {
            for k in [k0, k1] {
                got[k, default: []].append(send(c, "n\(i % 2)", k, 1000 + i)!)
            }
        }
        XCTAssertEqual(got[k0], Array(0..<20))
        XCTAssertEqual(got[k1], Array(0..<20))
        XCTAssertEqual(kafka(c, "n0")?.stats.forwardedSends, 10)
        XCTAssertEqual(kafka(c, "n1")?.stats.forwardedSends, 10)
        c.run(for: .ms(300))
        let expected: JSONValue = .array((0..<20).map { [.int($0), .int(1000 + $0)] })
        for node in ["n0", "n1"] {
            let msgs = poll(c, node, [(k0, 0), (k1, 0)])
            XCTAssertEqual(msgs?[k0], expected, node)
            XCTAssertEqual(msgs?[k1], expected, node)
        }
        XCTAssertEqual(c.seqKV.requests + c.lwwKV.requests, 0, "no kv service involved")
        XCTAssertLessThanOrEqual(c.linKV.requests, 4, "but the workload registry (a read per node, a write by each of the first two)")
    }

    /// A commit acknowledged on one node is listed by the other at once (lists ask every node).
    func testCommitOnOneNodeIsListedOnTheOther() {
        let c = cluster(nodes: 2, latency: .ms(10))
        call(c, "n0", ["type": "commit_offsets", "offsets": ["a": 4]])
        call(c, "n1", ["type": "commit_offsets", "offsets": ["b": 2, "a": 1]])
        XCTAssertEqual(call(c, "n1", ["type": "list_committed_offsets", "keys": ["a", "b", "c"]])?["offsets"], ["a": 4, "b": 2])
        XCTAssertEqual(call(c, "n0", ["type": "list_committed_offsets", "keys": ["b"]])?["offsets"], ["b": 2])
    }

    /// During a partition: the owner keeps accepting sends, a forwarded send times out as an
    /// indefinite error, a list fails definitely; after the heal the replica catches up by
    /// retransmission and nothing acknowledged is missing.
    func testPartitionDelaysReplicationButLosesNothing() {
        let c = cluster(nodes: 2, latency: .ms(5))
        let k0 = key(ownedBy: 0, of: 2)
        XCTAssertEqual(send(c, "n0", k0, 1), 0)
        c.run(for: .ms(200))
        XCTAssertEqual(poll(c, "n1", [(k0, 0)]), [k0: [[0, 1]]])

        c.network.partition([["n0"], ["n1"]])
        for m in 2...50 { XCTAssertEqual(send(c, "n0", k0, m), m - 1) }
        let forwarded = call(c, "n1", ["type": "send", "key": .string(k0), "msg": 999])
        XCTAssertEqual(forwarded?["type"], "error")
        XCTAssertEqual(forwarded?["code"], 13, "the owner may have stored it: indefinite")
        let list = call(c, "n1", ["type": "list_committed_offsets", "keys": ["x"]])
        XCTAssertEqual(list?["code"], 11, "a list that cannot see every node fails, definitely")
        c.run(for: .seconds(3))
        XCTAssertEqual(poll(c, "n1", [(k0, 0)])?[k0]?.array?.count, 1, "replica stuck at its prefix")

        c.network.heal()
        c.run(for: .seconds(2))
        let replica = poll(c, "n1", [(k0, 0)])?[k0]?.array ?? []
        XCTAssertEqual(replica.count, 50)
        XCTAssertEqual(replica.map { $0[0]?.int }, (0..<50).map { $0 }, "dense, in order")
        XCTAssertEqual(poll(c, "n0", [(k0, 0)])?[k0]?.array?.count, 50, "the timed-out forward was never applied")
        // Settled: no more resends.
        let sent = c.network.stats.serverSends
        c.run(for: .seconds(5))
        XCTAssertEqual(c.network.stats.serverSends, sent)
    }

    /// Replication batches sends: one message per replication interval (plus acks), not one per send.
    func testReplicationIsBatched() {
        let c = cluster(nodes: 2, latency: .ms(1))
        let k0 = key(ownedBy: 0, of: 2)
        let client = c.newClient()
        for i in 0..<1000 { // 1000 sends over 1 s on the owner
            c.events.schedule(at: c.now + .ms(Int64(i))) {
                client.call("n0", ["type": "send", "key": .string(k0), "msg": .int(i)]) { _ in }
            }
        }
        c.run(for: .seconds(2))
        XCTAssertEqual(poll(c, "n1", [(k0, 0)])?[k0]?.array?.count, 1000)
        XCTAssertLessThanOrEqual(c.network.stats.serverSends, 2 * 12, "≈ 10 batches and their acks")
    }

    // MARK: storage

    func testKeyLogKeepsADensePrefixAndHoldsEntriesPastAGap() {
        let log = KafkaKeyLog()
        XCTAssertTrue(log.apply(start: 2, [30, 40]))
        XCTAssertEqual(log.count, 0, "offsets 0 and 1 are missing")
        XCTAssertTrue(log.apply(start: 0, [10]))
        XCTAssertEqual(log.messages, [10])
        XCTAssertTrue(log.apply(start: 1, [20, 30]))
        XCTAssertEqual(log.messages, [10, 20, 30, 40], "the held entries joined once the gap closed")
        XCTAssertTrue(log.apply(start: 1, [20]), "a repeat is harmless")
        XCTAssertFalse(log.apply(start: 3, [41]), "a contradiction is reported…")
        XCTAssertEqual(log.messages, [10, 20, 30, 40], "…and the stored entry kept")
    }

    func testOwnershipIsStableAndSpreadsKeys() {
        XCTAssertEqual(KafkaOwnership.ownerIndex(of: "anything", nodeCount: 1), 0)
        var counts = [0, 0]
        for i in 0..<1000 { counts[KafkaOwnership.ownerIndex(of: String(i), nodeCount: 2)] += 1 }
        XCTAssertGreaterThan(counts.min()!, 400, "roughly even")
        // FNV-1a is fixed, so every node (and every run) agrees.
        let fnv: UInt64 = ((0xcbf2_9ce4_8422_2325 as UInt64) ^ 0x39) &* 0x0000_0100_0000_01B3 // "9" is 0x39
        XCTAssertEqual(KafkaOwnership.ownerIndex(of: "9", nodeCount: 2), Int(fnv % 2))
    }
}
