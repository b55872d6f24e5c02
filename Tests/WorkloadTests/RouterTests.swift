import EVCore
import EVTestSupport
import Workloads
import XCTest

/// The router: routing by type and, where workloads share a type, by body; holding what cannot be
/// told yet; the workload registry; the remembered route (docs/perf.md), which must be dropped
/// whenever a workload is created or the node is re-initialized.
final class RouterTests: XCTestCase {
    private var transport: ManualTransport!
    private var router: Router!
    private var node: Node!
    private var msgID = 0

    override func setUp() {
        transport = ManualTransport()
        router = Router()
        node = Node(transport: transport, handler: router)
    }

    /// Sends a client request; returns its reply if it came at once.
    @discardableResult
    private func send(_ body: String) -> JSONValue? {
        msgID += 1
        node.receive(#"{"src":"c1","dest":"n0","body":{"msg_id":\#(msgID),\#(body)}}"#)
        return reply(to: msgID)
    }

    private func reply(to id: Int) -> JSONValue? {
        transport.messages.last { $0["dest"] == "c1" && $0["body"]?["in_reply_to"]?.int == id }?["body"]
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
        XCTAssertEqual(reply(to: 2)?["messages"], [], "the held read was broadcast's")
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

    /// The registry read that lin-kv has not answered yet, by msg_id.
    private var registryReadID: Int? {
        transport.messages.last { $0["dest"] == "lin-kv" && $0["body"]?["type"] == "read" }?["body"]?["msg_id"]?.int
    }

    func testReadFollowsTheActiveWorkloadAcrossRepeatedTypes() {
        initNode()
        XCTAssertNil(send(#""type":"read""#), "broadcast's, g-set's or a counter's? held")
        XCTAssertEqual(send(#""type":"add","delta":2"#)?["type"], "add_ok", "delta: a counter")
        transport.advance(to: transport.now, node)
        XCTAssertEqual(reply(to: 2)?["value"], 2, "the held read is the counter's")
        XCTAssertEqual(send(#""type":"read""#)?["value"], 2)
        XCTAssertEqual(send(#""type":"topology","topology":{"n0":[]}"#)?["type"], "topology_ok")
        XCTAssertEqual(send(#""type":"read""#)?["messages"], [], "broadcast comes first in WorkloadKind order")
        XCTAssertEqual(send(#""type":"broadcast","message":7"#)?["type"], "broadcast_ok")
        XCTAssertEqual(send(#""type":"read""#)?["messages"], [7])
        XCTAssertEqual(send(#""type":"add","delta":1"#)?["type"], "add_ok", "add still goes by its body")
    }

    func testAddGoesByItsBody() {
        initNode()
        XCTAssertEqual(send(#""type":"add","element":5"#)?["type"], "add_ok")
        XCTAssertNotNil(router.active[.gSet])
        XCTAssertNil(router.active[.gCounter])
        XCTAssertEqual(send(#""type":"read""#)?["value"], [5], "g-set is the one running")
        XCTAssertEqual(send(#""type":"add","delta":-3"#)?["type"], "add_ok", "a pn-counter's negative delta")
        XCTAssertNotNil(router.active[.gCounter])
        XCTAssertEqual(send(#""type":"add","element":6"#)?["type"], "add_ok")
        XCTAssertEqual(send(#""type":"add","elephant":6"#)?["code"], 12, "neither field: the running workload names what is missing")
    }

    func testAHeldReadIsCountedOnceAndAnsweredOnceTheWorkloadIsKnown() {
        initNode()
        let received = node.stats.received
        XCTAssertNil(send(#""type":"read""#))
        transport.advance(to: transport.now + Router.holdLimit / 2, node)
        XCTAssertEqual(send(#""type":"add","element":1"#)?["type"], "add_ok")
        transport.advance(to: transport.now, node)
        XCTAssertEqual(reply(to: 2)?["value"], [1])
        XCTAssertEqual(node.stats.received, received + 2, "the held read counts once")
    }

    /// Every worker's first operation may be a read: held for ever, nothing would tell. A bare
    /// read has no reply that fits every workload (an empty set, a zero counter): refused.
    func testAHeldReadIsRefusedAfterTheHoldLimit() {
        initNode()
        XCTAssertNil(send(#""type":"read""#))
        answerRegistry(nil)
        transport.advance(to: transport.now + Router.holdLimit - 1, node)
        XCTAssertNil(reply(to: 2))
        transport.advance(to: transport.now + 1, node)
        answerRegistry(nil)
        XCTAssertEqual(reply(to: 2)?["code"], 11)
        XCTAssertTrue(router.active.isEmpty)
    }

    /// A read-only txn could be txn-rw-register's or txn-list-append's, and when every worker's
    /// first transaction is one nothing else will tell. Held too long, it is answered with reads
    /// of null if the registry is still empty (list-append registers before it answers anything,
    /// so then nothing was written), and routed if the registry names the workload.
    func testAHeldReadOnlyTxnIsAnsweredFromTheEmptyStateOnlyWhileTheRegistryIsEmpty() {
        for (registered, expected) in [(nil as String?, "txn_ok"), ("txn-list-append", "listed")] {
            setUp()
            initNode()
            XCTAssertNil(send(#""type":"txn","txn":[["r",1,null],["r",2,null]]"#))
            answerRegistry(nil) // the read made when it was held
            transport.advance(to: transport.now + Router.holdLimit, node)
            answerRegistry(registered)
            transport.advance(to: transport.now, node)
            if expected == "txn_ok" {
                XCTAssertEqual(reply(to: 2)?["txn"], [["r", 1, nil], ["r", 2, nil]])
                XCTAssertTrue(router.active.isEmpty, "no workload opened on a guess")
            } else {
                XCTAssertNotNil(router.active[.txnListAppend])
            }
        }
    }

    /// Only a registry known to be empty proves nothing was written: a failed read of it is not.
    func testAHeldReadOnlyTxnIsRefusedWhenTheRegistryCannotBeRead() {
        initNode()
        XCTAssertNil(send(#""type":"txn","txn":[["r",1,null]]"#))
        answerRegistry(nil)
        transport.advance(to: transport.now + Router.holdLimit, node)
        let id = registryReadID ?? -1
        node.receive(#"{"src":"lin-kv","dest":"n0","body":{"type":"error","code":11,"text":"busy","in_reply_to":\#(id)}}"#)
        XCTAssertEqual(reply(to: 2)?["code"], 11)
    }

    /// What makes that safe: a txn-list-append node answers nothing before the registry names its
    /// workload.
    func testAListAppendNodeAnswersOnlyOnceItsWorkloadIsRegistered() {
        initNode()
        XCTAssertNil(send(#""type":"txn","txn":[["append",1,5],["r",1,null]]"#))
        transport.advance(to: transport.now + .ms(300), node)
        XCTAssertNil(reply(to: 2), "not before the registry write is confirmed")
        for w in transport.messages where w["dest"] == "lin-kv" && w["body"]?["type"] == "write" {
            node.receive(#"{"src":"lin-kv","dest":"n0","body":{"type":"write_ok","in_reply_to":\#(w["body"]?["msg_id"]?.int ?? -1)}}"#)
        }
        transport.advance(to: transport.now + .ms(1), node)
        XCTAssertEqual(reply(to: 2)?["txn"], [["append", 1, 5], ["r", 1, [5]]])
    }

    /// Answers the newest registry read: `value` names a workload, nil means no key.
    private func answerRegistry(_ value: String?) {
        let id = registryReadID ?? -1
        if let value {
            node.receive(#"{"src":"lin-kv","dest":"n0","body":{"type":"read_ok","in_reply_to":\#(id),"value":"\#(value)"}}"#)
        } else {
            node.receive(#"{"src":"lin-kv","dest":"n0","body":{"type":"error","code":20,"text":"no","in_reply_to":\#(id)}}"#)
        }
    }

    /// Nothing local tells: the registry (written by the node that learned) does.
    func testAHeldReadAsksTheRegistry() {
        initNode()
        XCTAssertNil(send(#""type":"read""#))
        let poll = registryReadID ?? -1
        node.receive(#"{"src":"lin-kv","dest":"n0","body":{"type":"read_ok","in_reply_to":\#(poll),"value":"g-set"}}"#)
        transport.advance(to: transport.now, node)
        XCTAssertEqual(reply(to: 2)?["value"], [], "g-set's empty set")
        XCTAssertNotNil(router.active[.gSet])
    }

    /// A registry read that fails for another reason than a missing key is retried: taking the
    /// process for a fresh one would skip a restarted kafka owner's recovery.
    func testAFailedRegistryReadIsRetriedNotTakenForAFreshCluster() {
        send(#""type":"init","node_id":"n0","node_ids":["n0","n1"]"#)
        transport.advance(to: transport.now, node)
        let first = registryReadID ?? -1
        node.receive(#"{"src":"lin-kv","dest":"n0","body":{"type":"error","code":11,"text":"busy","in_reply_to":\#(first)}}"#)
        transport.advance(to: transport.now + Router.registryRetry, node)
        let second = registryReadID ?? -1
        XCTAssertNotEqual(first, second, "read again")
        node.receive(#"{"src":"lin-kv","dest":"n0","body":{"type":"read_ok","in_reply_to":\#(second),"value":"kafka"}}"#)
        XCTAssertNotNil(router.active[.kafka], "a restart after all")
        transport.advance(to: transport.now, node)
        XCTAssertTrue(transport.messages.contains { $0["dest"] == "n1" && $0["body"]?["type"] == "kf_ack" },
                      "the restarted process greets its peer")
    }

    /// Only this node may know the workload (it could be cut off from the first two, and every
    /// other node may hold a bare read): a workload told by a body alone is registered by anyone.
    func testANodeWhoseWorkloadOnlyABodyToldRegistersIt() {
        for (body, registers) in [(#""type":"add","element":1"#, true), (#""type":"broadcast","message":1"#, false)] {
            router = Router()
            node = Node(transport: transport, handler: router)
            transport.clearOutput()
            send(#""type":"init","node_id":"n2","node_ids":["n0","n1","n2"]"#)
            transport.advance(to: transport.now, node)
            node.receive(#"{"src":"lin-kv","dest":"n2","body":{"type":"error","code":20,"text":"not found","in_reply_to":\#(registryReadID ?? -1)}}"#)
            send(body)
            let writes = transport.messages.filter { $0["dest"] == "lin-kv" && $0["body"]?["type"] == "write" }
            XCTAssertEqual(writes.count, registers ? 1 : 0, body)
        }
    }

    func testReInitDropsTheRememberedRoute() {
        initNode()
        send(#""type":"topology","topology":{"n0":[]}"#)
        XCTAssertNotNil(send(#""type":"read""#)?["messages"])
        initNode()
        XCTAssertNil(send(#""type":"read""#), "after a re-init nothing is active: held")
    }

    func testAWorkloadCreatedFromOutsideChangesTheRouteOfRead() {
        initNode()
        XCTAssertNil(send(#""type":"read""#))
        _ = router.workload(.broadcast)
        transport.advance(to: transport.now, node)
        XCTAssertEqual(reply(to: 2)?["messages"], [])
        XCTAssertNotNil(send(#""type":"read""#)?["messages"])
    }

    func testAForcedPNCounterServesCounterMessagesOnly() {
        router = Router(forced: WorkloadKind(rawValue: "pn-counter"))
        node = Node(transport: transport, handler: router)
        initNode()
        XCTAssertEqual(send(#""type":"read""#)?["value"], 0, "forced: nothing to tell apart")
        XCTAssertEqual(send(#""type":"add","element":1"#)?["code"], 12, "a counter's add needs a delta")
        XCTAssertEqual(send(#""type":"broadcast","message":1"#)?["code"], 10)
    }

    func testUnknownTypesAreNeverRemembered() {
        initNode()
        XCTAssertEqual(send(#""type":"echo","echo":1"#)?["type"], "echo_ok")
        XCTAssertEqual(send(#""type":"nope""#)?["code"], 10)
        XCTAssertEqual(send(#""type":"nope""#)?["code"], 10)
        XCTAssertEqual(send(#""type":"echo","echo":2"#)?["echo"], 2)
    }
}
