import EVCore
import Foundation
import XCTest

/// g-counter and kafka through the built binary's pipes: every message type, the exact reply
/// shapes Maelstrom's schemas require, the peer messages the node emits (answered here by hand,
/// playing the other node), and bad fields.
final class GCounterKafkaProcessTests: XCTestCase {
    // MARK: helpers

    private func line(_ src: String, to dest: String = "n0", _ body: JSONValue) -> String {
        JSONValue.object([("src", .string(src)), ("dest", .string(dest)), ("body", body)]).text
    }

    /// Which of `count` nodes owns a kafka key: FNV-1a of its bytes, as evnode computes it.
    private func owner(of key: String, nodeCount: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return Int(hash % UInt64(nodeCount))
    }

    // MARK: g-counter

    func testGCounterAddReadAndBadDeltas() throws {
        let node = try EvnodeProcess()
        node.send(EvnodeProcess.initLine())
        node.send(line("c1", ["type": "add", "msg_id": 2, "delta": 3]))
        node.send(line("c1", ["type": "add", "msg_id": 3, "delta": 4]))
        node.send(line("c1", ["type": "read", "msg_id": 4]))
        node.send(line("c1", ["type": "add", "msg_id": 5]))
        node.send(line("c1", ["type": "add", "msg_id": 6, "delta": "7"]))
        node.send(line("c1", ["type": "add", "msg_id": 7, "delta": 1.5]))
        node.send(line("c1", ["type": "read", "msg_id": 8]))
        _ = node.waitForLines(8) // the adds wait for the node's start record in lin-kv
        XCTAssertEqual(node.finish(), 0, "clean exit on EOF, after writing every reply")
        let bodies = node.messages.dropFirst().map { $0["body"]! }.sorted { ($0["in_reply_to"]?.int ?? 0) < ($1["in_reply_to"]?.int ?? 0) }
        XCTAssertEqual(bodies.count, 7)
        XCTAssertEqual(bodies[0], ["type": "add_ok", "in_reply_to": 2])
        XCTAssertEqual(bodies[1], ["type": "add_ok", "in_reply_to": 3])
        XCTAssertEqual(bodies[2], ["type": "read_ok", "in_reply_to": 4, "value": 7])
        for b in bodies[3...5] {
            XCTAssertEqual(b["type"], "error")
            XCTAssertEqual(b["code"], 12)
            XCTAssertTrue(b["text"]?.string?.contains("delta") ?? false, b.text)
        }
        XCTAssertEqual(bodies[6], ["type": "read_ok", "in_reply_to": 8, "value": 7], "bad adds changed nothing")
    }

    /// In a cluster an add is replicated to the peers; a peer's entries are merged into reads.
    func testGCounterReplicatesToPeersAndMergesTheirs() throws {
        let node = try EvnodeProcess()
        node.send(EvnodeProcess.initLine("n0", ids: ["n0", "n1"]))
        node.send(line("c1", ["type": "add", "msg_id": 2, "delta": 5]))
        let data = node.waitForMessage { $0["dest"] == "n1" && $0["body"]?["type"] == "gc_data" }
        XCTAssertEqual(data?["src"], "n0")
        XCTAssertEqual(data?["body"]?["from"], 0)
        let entry = data?["body"]?["v"]?[0]
        XCTAssertTrue(entry?[0]?.string?.hasPrefix("n0/") ?? false, "n0's replica: \(entry?.text ?? "none")")
        XCTAssertEqual(entry?[1], 5)
        XCTAssertEqual(entry?[2], 0)
        let n0Incarnation = data?["body"]?["i"] ?? 0
        // Play n1: one entry of its own replica, acknowledging n0's.
        node.send(line("n1", ["type": "gc_data", "from": 0, "v": [["n1/abc", 9, 0]], "ack": 1,
                              "i": 42, "ri": n0Incarnation]))
        node.send(line("c1", ["type": "read", "msg_id": 3]))
        XCTAssertEqual(node.waitForReply(to: 3), ["type": "read_ok", "in_reply_to": 3, "value": 14])
        XCTAssertEqual(node.finish(), 0)
    }

    // MARK: kafka

    func testKafkaEveryRequestOnOneNodeWithExactReplyShapes() throws {
        let node = try EvnodeProcess()
        node.send(EvnodeProcess.initLine())
        node.send(line("c1", ["type": "send", "msg_id": 2, "key": "9", "msg": 10]))
        node.send(line("c1", ["type": "send", "msg_id": 3, "key": "9", "msg": 11]))
        node.send(line("c1", ["type": "send", "msg_id": 4, "key": "12", "msg": 20]))
        // Sends are answered once the node knows it is not a restarted process (the registry
        // read): wait for them, as Maelstrom's closed-loop clients would, before polling.
        XCTAssertNotNil(node.waitForReply(to: 4))
        node.send(line("c2", ["type": "poll", "msg_id": 5, "offsets": ["9": 1, "12": 0, "77": 0]]))
        node.send(line("c2", ["type": "commit_offsets", "msg_id": 6, "offsets": ["9": 1]]))
        node.send(line("c3", ["type": "list_committed_offsets", "msg_id": 7, "keys": ["9", "12"]]))
        node.send(line("c3", ["type": "poll", "msg_id": 8, "offsets": [:]]))
        // Sends wait until the node knows it is not a restarted process (the registry read).
        XCTAssertNotNil(node.waitForReply(to: 8))
        XCTAssertEqual(node.finish(), 0, "clean exit on EOF, after writing every reply")
        let bodies = node.messages.dropFirst().map { $0["body"]! }
        XCTAssertEqual(bodies, [
            ["type": "send_ok", "in_reply_to": 2, "offset": 0],
            ["type": "send_ok", "in_reply_to": 3, "offset": 1],
            ["type": "send_ok", "in_reply_to": 4, "offset": 0],
            ["type": "poll_ok", "in_reply_to": 5, "msgs": ["9": [[1, 11]], "12": [[0, 20]]]],
            ["type": "commit_offsets_ok", "in_reply_to": 6],
            ["type": "list_committed_offsets_ok", "in_reply_to": 7, "offsets": ["9": 1]],
            ["type": "poll_ok", "in_reply_to": 8, "msgs": [:]],
        ])
    }

    func testKafkaBadFieldsAreMalformed() throws {
        let node = try EvnodeProcess()
        node.send(EvnodeProcess.initLine())
        let bad: [JSONValue] = [
            ["type": "send", "msg": 1],
            ["type": "send", "key": 5, "msg": 1],
            ["type": "send", "key": "k", "msg": "x"],
            ["type": "poll", "offsets": ["k": -1]],
            ["type": "poll", "offsets": ["k": 1.5]],
            ["type": "poll", "offsets": [1, 2]],
            ["type": "commit_offsets", "offsets": ["k": "1"]],
            ["type": "commit_offsets", "offsets": ["k": -3]],
            ["type": "list_committed_offsets", "keys": [1]],
            ["type": "list_committed_offsets"],
        ]
        for (i, body) in bad.enumerated() {
            var members = body.members!
            members.append(("msg_id", .int(100 + i)))
            node.send(line("c1", .object(members)))
        }
        node.send(line("c1", ["type": "send", "msg_id": 200, "key": "k", "msg": 1]))
        XCTAssertNotNil(node.waitForReply(to: 200))
        XCTAssertEqual(node.finish(), 0, "clean exit on EOF, after writing every reply")
        let bodies = node.messages.dropFirst().map { $0["body"]! }
        XCTAssertEqual(bodies.count, bad.count + 1)
        for (i, b) in bodies.prefix(bad.count).enumerated() {
            XCTAssertEqual(b["in_reply_to"]?.int, 100 + i)
            XCTAssertEqual(b["type"], "error", bad[i].text)
            XCTAssertEqual(b["code"], 12, bad[i].text)
            XCTAssertFalse((b["text"]?.string ?? "").isEmpty)
        }
        XCTAssertEqual(bodies.last, ["type": "send_ok", "in_reply_to": 200, "offset": 0], "the node kept serving")
    }

    /// Two nodes, this process is n0, the test plays n1: a send for n1's key is forwarded and the
    /// owner's offset returned to the client; a send for n0's key is replicated to n1; a list asks
    /// n1 and merges its answer.
    func testKafkaForwardsReplicatesAndAsksThePeerForCommittedOffsets() throws {
        let node = try EvnodeProcess()
        node.send(EvnodeProcess.initLine("n0", ids: ["n0", "n1"]))
        // The harness answers the workload registry read: no earlier process, so no greeting of
        // the peers is needed before offsets are handed out.
        let mine = (0...).lazy.map { "k\($0)" }.first { self.owner(of: $0, nodeCount: 2) == 0 }!
        let theirs = (0...).lazy.map { "k\($0)" }.first { self.owner(of: $0, nodeCount: 2) == 1 }!

        node.send(line("c1", ["type": "send", "msg_id": 2, "key": .string(theirs), "msg": 42]))
        let forward = node.waitForMessage { $0["dest"] == "n1" && $0["body"]?["type"] == "kf_send" }
        XCTAssertEqual(forward?["body"]?["key"], .string(theirs))
        XCTAssertEqual(forward?["body"]?["msg"], 42)
        let forwardID = forward?["body"]?["msg_id"]?.int ?? -1
        node.send(line("n1", ["type": "kf_send_ok", "in_reply_to": .int(forwardID), "offset": 7]))
        XCTAssertEqual(node.waitForReply(to: 2), ["type": "send_ok", "in_reply_to": 2, "offset": 7])

        node.send(line("c1", ["type": "send", "msg_id": 3, "key": .string(mine), "msg": 43]))
        XCTAssertEqual(node.waitForReply(to: 3), ["type": "send_ok", "in_reply_to": 3, "offset": 0])
        let replication = node.waitForMessage { $0["dest"] == "n1" && $0["body"]?["type"] == "kf_data" }
        XCTAssertEqual(replication?["body"]?["v"], [["m", .string(mine), 0, 43]], "message 43 at offset 0 of its key")
        XCTAssertEqual(replication?["body"]?["from"], 0)

        node.send(line("c1", ["type": "commit_offsets", "msg_id": 4, "offsets": [mine: 0]]))
        XCTAssertEqual(node.waitForReply(to: 4)?["type"], "commit_offsets_ok")
        node.send(line("c1", ["type": "list_committed_offsets", "msg_id": 5, "keys": [.string(mine), .string(theirs)]]))
        let ask = node.waitForMessage { $0["dest"] == "n1" && $0["body"]?["type"] == "kf_list" }
        XCTAssertEqual(ask?["body"]?["keys"], [.string(mine), .string(theirs)])
        node.send(line("n1", ["type": "kf_list_ok", "in_reply_to": .int(ask?["body"]?["msg_id"]?.int ?? -1),
                              "offsets": [theirs: 3]]))
        XCTAssertEqual(node.waitForReply(to: 5), ["type": "list_committed_offsets_ok", "in_reply_to": 5,
                                            "offsets": [mine: 0, theirs: 3]])
        XCTAssertEqual(node.finish(), 0)
    }
}
