import EVCore
import Foundation
import XCTest

/// Issue 11 against the real binary: Maelstrom's pause (SIGSTOP/SIGCONT) and kill + start.
final class FaultProcessTests: XCTestCase {
    private func line(_ src: String, _ body: JSONValue, dest: String = "n0") -> String {
        JSONValue.object([("src", .string(src)), ("dest", .string(dest)), ("body", body)]).text
    }

    /// Requests that wait in stdin while the node is stopped for longer than a client's 5 s
    /// timeout get no reply (Maelstrom would stop reading the node for good); requests sent after
    /// the node resumed are answered.
    func testAPausedNodeDoesNotAnswerRequestsWhoseClientsGaveUp() throws {
        let node = try EvnodeProcess()
        node.send(EvnodeProcess.initLine())
        node.send(line("c1", ["type": "echo", "msg_id": 2, "echo": "before"]))
        XCTAssertEqual(node.waitForReply(to: 2)?["echo"], "before")

        kill(node.process.processIdentifier, SIGSTOP)
        node.send(line("c2", ["type": "echo", "msg_id": 3, "echo": "during"]))
        node.send(line("c3", ["type": "echo", "msg_id": 4, "echo": "during"]))
        // The fault itself: the process is stopped for longer than a client waits (5 s).
        Thread.sleep(forTimeInterval: 6)
        kill(node.process.processIdentifier, SIGCONT)

        // The node logs the stop once it runs again; requests read in its grace period (200 ms)
        // count as old, so the next one is sent after it.
        XCTAssertNotNil(node.waitForStderr(containing: "stopped for", timeout: 10), "the node noticed the stop")
        Thread.sleep(forTimeInterval: 0.3)
        node.send(line("c4", ["type": "echo", "msg_id": 5, "echo": "after"]))
        XCTAssertEqual(node.waitForReply(to: 5)?["echo"], "after", "fresh requests are answered")
        XCTAssertEqual(node.finish(), 0)
        let answered = node.messages.compactMap { $0["body"]?["in_reply_to"]?.int }
        XCTAssertEqual(answered, [1, 2, 5], "no reply to the requests that waited through the stop")
    }

    /// A broadcast node killed and started again (a fresh process, re-inited with the same ids)
    /// gets every value back from its peers; then the hub itself is restarted and recovers them
    /// from the leaves. Nothing acknowledged is lost, and new values keep flowing.
    func testRestartedNodesCatchUpFromTheirPeers() throws {
        let cluster = try EvnodeCluster(count: 3)
        cluster.initAll()
        for id in cluster.ids { XCTAssertEqual(cluster.call(id, ["type": "topology", "topology": [:]])?["type"], "topology_ok") }
        var sent = Set<Int>()
        func broadcast(_ values: ClosedRange<Int>) {
            for v in values {
                let id = cluster.ids[v % cluster.ids.count]
                XCTAssertEqual(cluster.call(id, ["type": "broadcast", "message": .int(v)])?["type"], "broadcast_ok")
                sent.insert(v)
            }
        }
        func everyNodeReadsEverything() -> Bool {
            cluster.eventually(timeout: 10) {
                cluster.ids.allSatisfy { id in
                    let values = cluster.call(id, ["type": "read"])?["messages"]?.array?.compactMap(\.int) ?? []
                    return Set(values) == sent
                }
            }
        }
        broadcast(1...6)
        XCTAssertTrue(everyNodeReadsEverything())

        try cluster.restart("n2") // a leaf
        broadcast(7...9)
        XCTAssertTrue(everyNodeReadsEverything(), "the restarted leaf recovered the old values and gets new ones")

        try cluster.restart("n0") // the hub
        broadcast(10...12)
        XCTAssertTrue(everyNodeReadsEverything(), "the restarted hub recovered every value from the leaves")
        XCTAssertEqual(cluster.unroutableLines, [])
        XCTAssertEqual(Set(cluster.finish().values), [0])
    }
}
