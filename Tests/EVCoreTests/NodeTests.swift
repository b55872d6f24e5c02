import EVCore
import EVTestSupport
import XCTest

/// Records what the node hands to the workload layer.
final class RecordingHandler: MessageHandler {
    var handled: [String] = []
    var onMessage: ((Message, Node) -> Void)?
    var onInit: ((Node) -> Void)?
    func nodeDidInit(_ node: Node) { onInit?(node) }
    func handle(_ message: Message, node: Node) {
        handled.append(message.type)
        onMessage?(message, node)
    }
}

final class NodeTests: XCTestCase {
    var transport: ManualTransport!
    var handler: RecordingHandler!
    var logs: LogCapture!
    var node: Node!

    override func setUp() {
        transport = ManualTransport()
        handler = RecordingHandler()
        logs = LogCapture()
        node = Node(transport: transport, handler: handler, logger: logs.logger())
    }

    override func tearDown() {
        XCTAssertEqual(transport.framingErrors, [], "every line is one JSON object ending in one newline")
    }

    private func receive(_ text: String) { node.receive(text) }

    private func initNode() {
        receive(#"{"id":1,"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n0","n1","n2"]}}"#)
    }

    func testInitRepliesAndSetsIdentity() {
        initNode()
        XCTAssertEqual(node.id, "n1")
        XCTAssertEqual(node.peers, ["n0", "n2"])
        XCTAssertEqual(transport.messages, [["src": "n1", "dest": "c0", "body": ["in_reply_to": 1, "type": "init_ok"]]])
    }

    /// A line handled again (a message the router held) is not counted again and is answered
    /// against its first receipt: one that waited past the client's timeout gets no reply.
    func testRedeliveredLineKeepsItsReceiptTimeAndIsCountedOnce() {
        initNode()
        handler.onMessage = { m, node in if let req = m.request { node.reply(to: req, type: "echo_ok") } }
        let received = node.stats.received
        let line = #"{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":2}}"#
        node.redeliver(line: line, receivedAt: transport.now - .ms(100))
        XCTAssertEqual(transport.bodies.last?["in_reply_to"], 2, "recent enough: answered")
        node.redeliver(line: line, receivedAt: transport.now - .ms(5000))
        XCTAssertEqual(node.stats.droppedLateClientReplies, 1, "its client gave up: not answered")
        XCTAssertEqual(node.stats.received, received)
        XCTAssertEqual(handler.handled.filter { $0 == "echo" }.count, 2)
    }

    func testRequestBeforeInitGetsTemporarilyUnavailable() {
        receive(#"{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":3,"echo":1}}"#)
        XCTAssertEqual(transport.messages.first?["body"]?["code"], 11)
        XCTAssertEqual(handler.handled, [])
    }

    func testRPCReplyIsRoutedToCallbackNotHandler() {
        initNode()
        var result: RPCResult?
        node.rpc(to: "n0", timeout: .ms(100), { $0.field("type", "ping") }, callback: { result = $0 })
        let sent = transport.messages.last!
        XCTAssertEqual(sent["dest"], "n0")
        let msgID = sent["body"]!["msg_id"]!.int!
        receive(#"{"src":"n0","dest":"n1","body":{"type":"pong","in_reply_to":\#(msgID),"x":7}}"#)
        guard case .ok(let m)? = result else { return XCTFail("expected a reply, got \(String(describing: result))") }
        XCTAssertEqual(m.type, "pong")
        XCTAssertEqual(handler.handled, [], "RPC replies never reach the workload handler")
        XCTAssertEqual(node.pendingRPCCount, 0)
    }

    func testRPCErrorReply() {
        initNode()
        var result: RPCResult?
        node.rpc(to: "lin-kv", timeout: .ms(100), { $0.field("type", "read") }, callback: { result = $0 })
        let msgID = transport.messages.last!["body"]!["msg_id"]!.int!
        receive(#"{"src":"lin-kv","dest":"n1","body":{"type":"error","in_reply_to":\#(msgID),"code":20,"text":"nope"}}"#)
        guard case .error(let code, let text)? = result else { return XCTFail() }
        XCTAssertEqual(code, .keyDoesNotExist)
        XCTAssertEqual(text, "nope")
    }

    func testRPCTimeoutThenLateReplyIsDropped() {
        initNode()
        var results: [String] = []
        node.rpc(to: "n2", timeout: .ms(100), { $0.field("type", "ping") }, callback: { r in
            if case .timeout = r { results.append("timeout") } else { results.append("reply") }
        })
        let msgID = transport.messages.last!["body"]!["msg_id"]!.int!
        transport.advance(to: .ms(99), node)
        XCTAssertEqual(results, [])
        transport.advance(to: .ms(100), node)
        XCTAssertEqual(results, ["timeout"])
        receive(#"{"src":"n2","dest":"n1","body":{"type":"pong","in_reply_to":\#(msgID)}}"#)
        XCTAssertEqual(results, ["timeout"], "callback runs exactly once")
        XCTAssertEqual(handler.handled, [], "a late reply is not a new request")
        XCTAssertEqual(node.stats.lateReplies, 1)
    }

    func testReplyBeforeTimeoutCancelsTimer() {
        initNode()
        var calls = 0
        node.rpc(to: "n2", timeout: .ms(100), { $0.field("type", "ping") }, callback: { _ in calls += 1 })
        let msgID = transport.messages.last!["body"]!["msg_id"]!.int!
        receive(#"{"src":"n2","dest":"n1","body":{"type":"pong","in_reply_to":\#(msgID)}}"#)
        transport.advance(to: .ms(500), node)
        XCTAssertEqual(calls, 1)
    }

    func testMsgIDsAreUniqueAndIncreasing() {
        initNode()
        for _ in 0..<5 { node.rpc(to: "n0", timeout: .ms(10), { $0.field("type", "x") }, callback: { _ in }) }
        let ids = transport.messages.dropFirst().compactMap { $0["body"]?["msg_id"]?.int }
        XCTAssertEqual(ids, Array(1...5))
    }

    func testTimersFireInDeadlineOrderAndCancel() {
        var fired: [String] = []
        node.after(.ms(30)) { fired.append("c") }
        node.after(.ms(10)) { fired.append("a") }
        let cancelled = node.after(.ms(20)) { fired.append("never") }
        node.after(.ms(10)) { fired.append("b") } // same deadline: scheduling order
        node.cancel(cancelled)
        XCTAssertEqual(node.nextDeadline, .ms(10))
        transport.advance(to: .ms(100), node)
        XCTAssertEqual(fired, ["a", "b", "c"])
        XCTAssertNil(node.nextDeadline)
    }

    func testPeriodicTimer() {
        var count = 0
        let id = node.every(.ms(10)) { count += 1 }
        for t in stride(from: 10, through: 50, by: 10) { transport.advance(to: .ms(Int64(t)), node) }
        XCTAssertEqual(count, 5)
        node.cancel(id)
        transport.advance(to: .ms(100), node)
        XCTAssertEqual(count, 5)
    }

    func testLateClientReplyIsDropped() {
        initNode()
        var saved: RequestRef?
        handler.onMessage = { m, _ in saved = m.request }
        receive(#"{"src":"c4","dest":"n1","body":{"type":"slow","msg_id":9}}"#)
        transport.now = .ms(4600)
        node.reply(to: saved!, type: "slow_ok")
        XCTAssertEqual(transport.messages.count, 1, "only init_ok: a reply after the client gave up is not sent")
        XCTAssertEqual(node.stats.droppedLateClientReplies, 1)
        XCTAssertTrue(logs.contains("not replying to c4 msg 9", level: .warning), "the drop is logged")
    }

    func testBadInputIsAnsweredAndNodeKeepsServing() {
        initNode()
        receive("this is not json")                                              // no sender: log only
        receive(#"{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":2"#)    // truncated: sender recovered
        receive("[1,2,3]")                                                       // not an object
        receive(#"{"dest":"n1","body":{"type":"echo","msg_id":3}}"#)             // no src: nobody to answer
        receive(#"{"src":"c1","dest":"n1","body":{"msg_id":4}}"#)                // no type
        receive(#"{"src":"c1","dest":"n1","body":{"type":5,"msg_id":5}}"#)       // non-string type
        receive(#"{"src":"c1","dest":"n1","body":"text"}"#)                      // body not an object
        receive(#"{"src":"c99x","dest":"n1","body":{"type":"x","msg_id":6"#)     // unparsable, unknown sender id
        receive(#"{"src":"c1","dest":"n1","body":{"type":"ok","msg_id":7}}"#)
        let errors = transport.messages.dropFirst().map { ($0["body"]!["in_reply_to"]!, $0["body"]!["code"]!) }
        XCTAssertEqual(errors.map(\.0), [2, 4, 5])
        XCTAssertTrue(errors.allSatisfy { $0.1 == 12 })
        XCTAssertEqual(handler.handled, ["ok"], "the node goes on serving")
        XCTAssertEqual(node.stats.malformed, 8)
        XCTAssertEqual(logs.messages(level: .error).count, 8, "each bad line is logged once, as an error")
        XCTAssertTrue(logs.contains("this is not json", level: .error), "the log shows the offending line")
    }
}

extension NodeTests {
    /// Workloads index state by position in nodeIDs, so the node's own id is always there.
    func testInitAddsOwnIDMissingFromNodeIDs() {
        receive(#"{"src":"c0","dest":"n3","body":{"type":"init","msg_id":1,"node_id":"n3","node_ids":["n0","n1"]}}"#)
        XCTAssertEqual(node.nodeIDs, ["n0", "n1", "n3"])
        XCTAssertEqual(node.peers, ["n0", "n1"])
        XCTAssertEqual(transport.messages.last?["body"]?["type"], "init_ok")
        XCTAssertTrue(logs.contains("node_ids lacks n3", level: .warning))
    }
}
