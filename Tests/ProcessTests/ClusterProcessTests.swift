import EVCore
import Foundation
import XCTest

/// Several real evnode processes connected by `EvnodeCluster`'s router: the workloads' replication
/// end to end through pipes, checked only through client requests and replies.
final class ClusterProcessTests: XCTestCase {
    // MARK: broadcast

    /// Five nodes, values broadcast to different nodes: every node eventually reads all of them,
    /// and every reply has the shape Maelstrom's broadcast schema requires.
    func testBroadcastReachesEveryNode() throws {
        let cluster = try EvnodeCluster(count: 5)
        cluster.initAll()
        // A line, as Maelstrom's tree topologies often are; the hub design may ignore it.
        var topology: [(String, JSONValue)] = []
        for (i, id) in cluster.ids.enumerated() {
            let neighbours = [i - 1, i + 1].filter(cluster.ids.indices.contains).map { JSONValue.string(cluster.ids[$0]) }
            topology.append((id, .array(neighbours)))
        }
        for id in cluster.ids {
            let reply = cluster.call(id, ["type": "topology", "topology": .object(topology)])
            XCTAssertEqual(reply?["type"], "topology_ok")
            XCTAssertEqual(reply?.members?.count, 2, "topology_ok carries only type and in_reply_to: \(reply?.text ?? "nil")")
        }

        var sent = Set<Int>()
        for (i, value) in [3, 14, 15, 92, 65, 35, 89, 79].enumerated() {
            let id = cluster.ids[(i * 2) % cluster.ids.count] // every node, the hub n0 included
            let reply = cluster.call(id, ["type": "broadcast", "message": .int(value)])
            XCTAssertEqual(reply?["type"], "broadcast_ok")
            XCTAssertEqual(reply?.members?.count, 2, "broadcast_ok carries only type and in_reply_to: \(reply?.text ?? "nil")")
            sent.insert(value)
        }

        var lastReads: [String: [Int]] = [:]
        let converged = cluster.eventually(timeout: 5) {
            for id in cluster.ids {
                guard let reply = cluster.call(id, ["type": "read"]) else { return false }
                XCTAssertEqual(reply["type"], "read_ok")
                let values = reply["messages"]?.array?.compactMap(\.int) ?? []
                XCTAssertEqual(values.count, reply["messages"]?.array?.count, "messages holds integers: \(reply.text)")
                XCTAssertEqual(values.count, Set(values).count, "no value is read twice: \(reply.text)")
                XCTAssertTrue(Set(values).isSubset(of: sent), "only broadcast values are read: \(reply.text)")
                lastReads[id] = values
            }
            return cluster.ids.allSatisfy { Set(lastReads[$0] ?? []) == sent }
        }
        XCTAssertTrue(converged, "every node reads every value within 5 s; last reads: \(lastReads)")
        XCTAssertEqual(cluster.unroutableLines, [])
        XCTAssertEqual(Set(cluster.finish().values), [0], "every node exits cleanly on EOF")
    }

    // MARK: lin-kv

    /// Three real processes elect a leader among themselves and serve a linearizable register:
    /// a write through one node is read through every other, cas checks its precondition.
    func testLinKVOnThreeProcesses() throws {
        let cluster = try EvnodeCluster(count: 3)
        cluster.initAll()
        let elected = cluster.eventually(timeout: 10) {
            cluster.call(cluster.ids[1], ["type": "write", "key": 1, "value": 4])?["type"] == "write_ok"
        }
        XCTAssertTrue(elected, "a leader within 10 s")
        for id in cluster.ids {
            XCTAssertEqual(cluster.call(id, ["type": "read", "key": 1])?["value"], 4, id)
        }
        XCTAssertEqual(cluster.call(cluster.ids[2], ["type": "cas", "key": 1, "from": 3, "to": 0])?["code"], 22)
        XCTAssertEqual(cluster.call(cluster.ids[0], ["type": "cas", "key": 1, "from": 4, "to": 0])?["type"], "cas_ok")
        XCTAssertEqual(cluster.call(cluster.ids[2], ["type": "read", "key": 1])?["value"], 0)
        XCTAssertEqual(cluster.call(cluster.ids[0], ["type": "read", "key": 2])?["code"], 20)
        XCTAssertEqual(cluster.unroutableLines, [])
        XCTAssertEqual(Set(cluster.finish().values), [0], "every node exits cleanly on EOF")
    }

    /// Two real processes run strict-serializable list-append transactions on their own Raft.
    func testTxnListAppendOnTwoProcesses() throws {
        let cluster = try EvnodeCluster(count: 2)
        cluster.initAll()
        let elected = cluster.eventually(timeout: 10) {
            cluster.call(cluster.ids[0], ["type": "txn", "txn": [["append", 1, 1]]])?["type"] == "txn_ok"
        }
        XCTAssertTrue(elected, "a leader within 10 s")
        XCTAssertEqual(cluster.call(cluster.ids[1], ["type": "txn", "txn": [["append", 1, 2], ["r", 1, nil]]])?["txn"],
                       [["append", 1, 2], ["r", 1, [1, 2]]])
        XCTAssertEqual(cluster.call(cluster.ids[0], ["type": "txn", "txn": [["r", 1, nil], ["r", 2, nil]]])?["txn"],
                       [["r", 1, [1, 2]], ["r", 2, nil]])
        XCTAssertEqual(cluster.unroutableLines, [])
        XCTAssertEqual(Set(cluster.finish().values), [0], "every node exits cleanly on EOF")
    }

    // MARK: txn-rw-register

    /// Two nodes: writes on n0 become visible to reads on n1, and every reply is a well-formed
    /// txn_ok: the same operations in the same order, writes unchanged, reads filled in.
    func testTxnWritesOnOneNodeBecomeVisibleOnTheOther() throws {
        let cluster = try EvnodeCluster(count: 2)
        cluster.initAll()

        let first: JSONValue = [["w", 1, 10], ["r", 2, nil]]
        let reply = cluster.call("n0", ["type": "txn", "txn": first])
        assertWellFormed(reply, for: first)
        XCTAssertEqual(reply?["txn"], [["w", 1, 10], ["r", 2, nil]], "key 2 was never written")

        let second: JSONValue = [["r", 1, nil], ["w", 2, 20], ["w", 3, 30], ["r", 2, nil]]
        let own = cluster.call("n0", ["type": "txn", "txn": second])
        assertWellFormed(own, for: second)
        XCTAssertEqual(own?["txn"], [["r", 1, 10], ["w", 2, 20], ["w", 3, 30], ["r", 2, 20]],
                       "a node reads its own earlier writes and the transaction's own writes")

        let read: JSONValue = [["r", 1, nil], ["r", 2, nil], ["r", 3, nil]]
        var last: JSONValue?
        let visible = cluster.eventually(timeout: 5) {
            last = cluster.call("n1", ["type": "txn", "txn": read])
            assertWellFormed(last, for: read)
            return last?["txn"] == [["r", 1, 10], ["r", 2, 20], ["r", 3, 30]]
        }
        XCTAssertTrue(visible, "n0's writes reach n1 within 5 s; last read: \(last?.text ?? "nil")")

        // And back: a write on n1 reaches n0.
        assertWellFormed(cluster.call("n1", ["type": "txn", "txn": [["w", 1, 11]]]), for: [["w", 1, 11]])
        XCTAssertTrue(cluster.eventually(timeout: 5) {
            cluster.call("n0", ["type": "txn", "txn": [["r", 1, nil]]])?["txn"] == [["r", 1, 11]]
        }, "n1's write reaches n0 and replaces the older value")
        XCTAssertEqual(cluster.unroutableLines, [])
        XCTAssertEqual(Set(cluster.finish().values), [0])
    }

    /// A txn_ok for request `txn`: same length, each micro-op's function and key unchanged, writes
    /// keep their value, reads carry an integer or null.
    private func assertWellFormed(_ reply: JSONValue?, for txn: JSONValue,
                                  file: StaticString = #filePath, line: UInt = #line) {
        guard let reply else { return XCTFail("no reply to \(txn.text)", file: file, line: line) }
        XCTAssertEqual(reply["type"], "txn_ok", reply.text, file: file, line: line)
        XCTAssertNotNil(reply["in_reply_to"]?.int, reply.text, file: file, line: line)
        guard let ops = reply["txn"]?.array, let asked = txn.array, ops.count == asked.count else {
            return XCTFail("txn_ok should list the \(txn.array?.count ?? 0) operations: \(reply.text)", file: file, line: line)
        }
        for (op, request) in zip(ops, asked) {
            XCTAssertEqual(op.array?.count, 3, op.text, file: file, line: line)
            XCTAssertEqual(op[0], request[0], op.text, file: file, line: line)
            XCTAssertEqual(op[1], request[1], op.text, file: file, line: line)
            if request[0] == "w" {
                XCTAssertEqual(op[2], request[2], "a write keeps its value: \(op.text)", file: file, line: line)
            } else {
                XCTAssertTrue(op[2]?.int != nil || op[2]?.isNull == true, "a read gives an integer or null: \(op.text)",
                              file: file, line: line)
            }
        }
    }

    // MARK: g-counter

    /// Three nodes and the router's seq-kv: adds on different nodes; every node converges on the sum.
    func testGCounterConvergesOnEveryNode() throws {
        let cluster = try EvnodeCluster(count: 3)
        cluster.initAll()
        let deltas = [("n0", 5), ("n1", 7), ("n2", 11), ("n0", 1), ("n2", 0)]
        for (id, delta) in deltas {
            XCTAssertEqual(cluster.call(id, ["type": "add", "delta": .int(delta)])?["type"], "add_ok")
        }
        let total = deltas.map(\.1).reduce(0, +)
        var reads: [String: JSONValue] = [:]
        let converged = cluster.eventually(timeout: 5) {
            for id in cluster.ids { reads[id] = cluster.call(id, ["type": "read"]) }
            return cluster.ids.allSatisfy { reads[$0]?["value"]?.int == total }
        }
        XCTAssertTrue(converged, "every node reads \(total) within 5 s; last reads: \(reads)")
        for (id, r) in reads {
            XCTAssertEqual(r["type"], "read_ok", id)
            XCTAssertLessThanOrEqual(r["value"]?.int ?? .max, total, "never more than was added")
        }
        XCTAssertEqual(cluster.unroutableLines, [])
        XCTAssertEqual(Set(cluster.finish().values), [0])
    }
}
