import EVCore
import EVTestSupport
import Workloads
import XCTest

/// The router remembers its last route (docs/perf.md). `read` is the one type whose route depends
/// on state (g-counter until the broadcast workload is active), so the remembered route must be
/// dropped whenever a workload is created or the node is re-initialized.
final class RouterRouteCacheTests: XCTestCase {
    private var transport: ManualTransport!
    private var router: Router!
    private var node: Node!
    private var msgID = 0

    override func setUp() {
        transport = ManualTransport()
        router = Router()
        node = Node(transport: transport, handler: router)
    }

    @discardableResult
    private func send(_ body: String) -> JSONValue? {
        msgID += 1
        let before = transport.bodies.count
        node.receive(#"{"src":"c1","dest":"n0","body":{"msg_id":\#(msgID),\#(body)}}"#)
        return transport.bodies.count > before ? transport.bodies.last : nil
    }

    /// Init, then lin-kv answers the workload registry read: `registered` names the workload an
    /// earlier process of this node ran (nil: a fresh cluster).
    private func initNode(registered: String? = nil) {
        send(#""type":"init","node_id":"n0","node_ids":["n0"]"#)
        transport.advance(to: transport.now, node) // the registry read goes out after init_ok
        let read = transport.messages.last { $0["dest"] == "lin-kv" }
        XCTAssertEqual(read?["body"]?["key"], "evnode/workload")
        let id = read?["body"]?["msg_id"]?.int ?? -1
        if let registered {
            node.receive(#"{"src":"lin-kv","dest":"n0","body":{"type":"read_ok","in_reply_to":\#(id),"value":"\#(registered)"}}"#)
        } else {
            node.receive(#"{"src":"lin-kv","dest":"n0","body":{"type":"error","code":20,"text":"not found","in_reply_to":\#(id)}}"#)
        }
    }

    func testAnAmbiguousReadWaitsForTheRegistryAndARestartedNodeKnowsItsWorkload() {
        send(#""type":"init","node_id":"n0","node_ids":["n0"]"#)
        XCTAssertNil(send(#""type":"read""#), "broadcast's or g-counter's? held until the registry answers")
        XCTAssertEqual(send(#""type":"echo","echo":1"#)?["type"], "echo_ok", "unambiguous types are served")
        transport.advance(to: transport.now, node)
        let read = transport.messages.last { $0["dest"] == "lin-kv" }
        let id = read?["body"]?["msg_id"]?.int ?? -1
        node.receive(#"{"src":"lin-kv","dest":"n0","body":{"type":"read_ok","in_reply_to":\#(id),"value":"broadcast"}}"#)
        XCTAssertNotNil(router.active[.broadcast], "an earlier process ran broadcast: started at once")
        transport.advance(to: transport.now, node) // the held read is handled now
        XCTAssertEqual(transport.bodies.last?["messages"], [], "the held read was broadcast's")
        XCTAssertEqual(transport.bodies.last?["in_reply_to"]?.int, 2)
        XCTAssertEqual(send(#""type":"read""#)?["messages"], [], "read is broadcast's")
    }

    func testTheFirstNodeRegistersItsWorkloadOnce() {
        initNode()
        XCTAssertEqual(send(#""type":"topology","topology":{"n0":[]}"#)?["type"], "topology_ok")
        let writes = transport.messages.filter { $0["dest"] == "lin-kv" && $0["body"]?["type"] == "write" }
        XCTAssertEqual(writes.count, 1)
        XCTAssertEqual(writes.first?["body"]?["value"], "broadcast")
        send(#""type":"broadcast","message":1"#)
        XCTAssertEqual(transport.messages.filter { $0["dest"] == "lin-kv" && $0["body"]?["type"] == "write" }.count, 1)
    }

    func testReadFollowsTheActiveWorkloadAcrossRepeatedTypes() {
        initNode()
        XCTAssertNotNil(send(#""type":"read""#)?["value"], "no broadcast yet: read is g-counter's")
        XCTAssertNotNil(send(#""type":"read""#)?["value"], "the remembered route gives the same answer")
        XCTAssertEqual(send(#""type":"topology","topology":{"n0":[]}"#)?["type"], "topology_ok")
        XCTAssertEqual(send(#""type":"read""#)?["messages"], [], "broadcast is active now: read is broadcast's")
        XCTAssertEqual(send(#""type":"broadcast","message":7"#)?["type"], "broadcast_ok")
        XCTAssertEqual(send(#""type":"read""#)?["messages"], [7])
        XCTAssertEqual(send(#""type":"read""#)?["messages"], [7])
    }

    func testReInitDropsTheRememberedRoute() {
        initNode()
        send(#""type":"topology","topology":{"n0":[]}"#)
        XCTAssertNotNil(send(#""type":"read""#)?["messages"])
        initNode()
        XCTAssertNotNil(send(#""type":"read""#)?["value"], "after a re-init nothing is active: back to g-counter")
    }

    func testAWorkloadCreatedFromOutsideChangesTheRouteOfRead() {
        initNode()
        XCTAssertNotNil(send(#""type":"read""#)?["value"])
        _ = router.workload(.broadcast)
        XCTAssertNotNil(send(#""type":"read""#)?["messages"])
    }

    func testUnknownTypesAreNeverRemembered() {
        initNode()
        XCTAssertEqual(send(#""type":"echo","echo":1"#)?["type"], "echo_ok")
        XCTAssertEqual(send(#""type":"nope""#)?["code"], 10)
        XCTAssertEqual(send(#""type":"nope""#)?["code"], 10)
        XCTAssertEqual(send(#""type":"echo","echo":2"#)?["echo"], 2)
    }
}
