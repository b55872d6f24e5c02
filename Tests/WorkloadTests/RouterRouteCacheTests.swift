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

    private func initNode() {
        send(#""type":"init","node_id":"n0","node_ids":["n0"]"#)
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
