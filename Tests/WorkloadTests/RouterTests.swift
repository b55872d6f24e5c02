import EVCore
import EVTestSupport
@testable import Workloads
import XCTest

/// The router driving a real node by hand: messages wait for their workload's start record, a
/// restart is told by this process's own record only, bodies that fit several workloads are held
/// and placed, and the remembered route (docs/perf.md) is dropped whenever a workload opens or the
/// node is re-initialized. lin-kv is `transport.linKV`, answered by `serveLinKV` where a test lets
/// it answer.
final class RouterTests: XCTestCase {
    private var transport: ManualTransport!
    private var router: Router!
    private var node: Node!
    private var msgID = 0
    /// Whether `send` lets lin-kv answer after each message.
    private var linKVAnswers = true

    override func setUp() {
        transport = ManualTransport()
        makeNode()
    }

    private func makeNode(forced: WorkloadKind? = nil) {
        router = Router(forced: forced)
        node = Node(transport: transport, handler: router)
    }

    /// Sends a client request; returns its reply if it came before lin-kv stopped answering.
    @discardableResult
    private func send(_ body: String, from src: String = "c1") -> JSONValue? {
        msgID += 1
        node.receive(#"{"src":"\#(src)","dest":"\#(node.id)","body":{"msg_id":\#(msgID),\#(body)}}"#)
        if linKVAnswers { transport.serveLinKV(node) }
        return reply(to: msgID)
    }

    private func reply(to id: Int) -> JSONValue? {
        transport.messages.last { $0["dest"] == "c1" && $0["body"]?["in_reply_to"]?.int == id }?["body"]
    }

    /// Init as `id` of `ids`; `predecessor` is the start record an earlier process of this node left.
    private func initNode(_ id: String = "n0", of ids: [String] = ["n0"], predecessor: JSONValue? = nil) {
        if let predecessor { store(StartRecord.key(of: id), predecessor) }
        let list = ids.map { "\"\($0)\"" }.joined(separator: ",")
        send(#""type":"init","node_id":"\#(id)","node_ids":[\#(list)]"#)
    }

    private func store(_ key: JSONValue, _ value: JSONValue) {
        _ = transport.linKV.serve(type: "write", body: ["key": key, "value": value])
    }

    private func record(_ workloads: [String], incarnation: Int = 7) -> JSONValue {
        ["incarnation": .int(incarnation), "workloads": .array(workloads.map { .string($0) })]
    }

    /// lin-kv requests sent so far, of `type`.
    private func kvRequests(_ type: String) -> [JSONValue] {
        transport.messages.filter { $0["dest"] == "lin-kv" && $0["body"]?["type"] == .string(type) }.compactMap { $0["body"] }
    }

    /// Answers the newest lin-kv request of `type` with `body` (a reply's fields).
    private func answerLast(_ type: String, _ fields: String) {
        let id = kvRequests(type).last?["msg_id"]?.int ?? -1
        node.receive(#"{"src":"lin-kv","dest":"\#(node.id)","body":{"in_reply_to":\#(id),\#(fields)}}"#)
    }

    // MARK: start records

    func testAFreshNodeRecordsItsWorkloadBeforeItAnswersAndOnlyOnce() {
        initNode()
        XCTAssertTrue(transport.destinations.allSatisfy { $0 != "lin-kv" }, "nothing to record before a workload is known")
        linKVAnswers = false
        XCTAssertNil(send(#""type":"topology","topology":{"n0":[]}"#), "held until the record is stored")
        let write = kvRequests("cas")
        XCTAssertEqual(write.count, 1)
        XCTAssertEqual(write.first?["key"], "evnode/node/n0", "its own record")
        XCTAssertEqual(write.first?["to"]?["workloads"], ["broadcast"])
        XCTAssertEqual(write.first?["create_if_not_exists"], true, "created: one round trip proves the start fresh")
        transport.serveLinKV(node)
        XCTAssertEqual(reply(to: msgID)?["type"], "topology_ok")
        XCTAssertEqual(router.isRestart, false)
        linKVAnswers = true
        send(#""type":"broadcast","message":1"#)
        transport.advance(to: transport.now + StartRecord.lookAhead, node)
        XCTAssertEqual(transport.destinations.count { $0 == "lin-kv" }, 1, "one round trip per process, no read")
    }

    /// The bug of the one cluster-wide key: a peer that started a moment earlier and recorded its
    /// workload says nothing about this process.
    func testAPeersRecordDoesNotMakeThisProcessARestart() {
        store(StartRecord.key(of: "n0"), record(["txn-list-append"]))
        initNode("n1", of: ["n0", "n1"])
        transport.advance(to: transport.now + StartRecord.lookAhead, node)
        transport.serveLinKV(node)
        XCTAssertEqual(kvRequests("read").map { $0["key"] }, ["evnode/node/n1"], "its own record only")
        XCTAssertEqual(router.isRestart, false)
        XCTAssertTrue(router.active.isEmpty, "nothing reopened")
    }

    func testARestartedProcessReopensItsPredecessorsWorkloadsAndAnswersHeldMessages() {
        linKVAnswers = false
        initNode(predecessor: record(["broadcast"]))
        XCTAssertNil(send(#""type":"read""#), "held: it fits several workloads and nothing is known")
        transport.serveLinKV(node) // its own record is read: it names the workload
        XCTAssertEqual(router.isRestart, true)
        XCTAssertNotNil(router.active[.broadcast], "reopened at once")
        XCTAssertEqual(kvRequests("cas").last?["from"], record(["broadcast"]), "compare-and-set from the predecessor's record")
        XCTAssertNotEqual(kvRequests("cas").last?["to"]?["incarnation"], 7, "recorded under its own incarnation")
        XCTAssertEqual(reply(to: msgID)?["messages"], [], "the held read was broadcast's")
    }

    /// Only a missing key means fresh: a failed read is retried (a restarted kafka owner taking
    /// itself for fresh would hand out offsets again).
    func testAFailedRecordReadIsRetriedNotTakenForAFreshStart() {
        linKVAnswers = false
        initNode(of: ["n0", "n1"], predecessor: record(["kafka"]))
        transport.advance(to: transport.now + StartRecord.lookAhead, node) // nothing to record: read
        answerLast("read", #""type":"error","code":11,"text":"busy""#)
        XCTAssertNil(router.isRestart, "still unknown")
        XCTAssertEqual(kvRequests("read").count, 1, "not at once")
        transport.advance(to: transport.now + StartRecord.retryDelay, node)
        XCTAssertEqual(kvRequests("read").count, 2, "read again")
        transport.serveLinKV(node)
        XCTAssertEqual(router.isRestart, true, "a restart after all")
        XCTAssertNotNil(router.active[.kafka])
        XCTAssertTrue(transport.messages.contains { $0["dest"] == "n1" && $0["body"]?["type"] == "kf_ack" },
                      "the restarted process greets its peer")
    }

    /// A killed predecessor's record write, still in flight, lands before our create: the
    /// compare-and-set fails, and the record read then makes this process a restart.
    func testAPredecessorsLateWriteIsFoundByTheFailedCompareAndSet() {
        linKVAnswers = false
        makeNode(forced: .gCounter)
        initNode()
        transport.advance(to: transport.now, node) // the record's create goes out
        store(StartRecord.key(of: "n0"), record(["g-counter"])) // a killed predecessor's write lands first
        transport.serveLinKV(node)
        XCTAssertEqual(router.isRestart, true)
        XCTAssertEqual(kvRequests("read").count, 1)
        XCTAssertNotNil(router.active[.gCounter])
    }

    /// A write whose reply is lost but which landed is recognised by its incarnation: recorded,
    /// without another write.
    func testAWriteThatTimedOutButLandedIsRecognised() {
        linKVAnswers = false
        makeNode(forced: .gSet)
        initNode()
        transport.advance(to: transport.now, node)
        guard let to = kvRequests("cas").last?["to"] else { return XCTFail("no record write") }
        store(StartRecord.key(of: "n0"), to) // it landed; the reply never comes
        transport.advance(to: transport.now + .seconds(1), node) // the kv client's timeout
        XCTAssertNil(router.active[.gSet])
        transport.serveLinKV(node)
        XCTAssertNotNil(router.active[.gSet])
        XCTAssertEqual(kvRequests("cas").count, 1)
        XCTAssertEqual(router.isRestart, false)
    }

    /// Item 2 of issue 20: a process started after a kill answers no vote before it knows it is
    /// one. Answered first, the vote would be granted by a process whose predecessor may already
    /// have voted in that term; held, it is refused (a restarted default-mode node is amnesiac).
    func testARestartedConsensusProcessAnswersNoVoteBeforeItsRecordIsRead() {
        linKVAnswers = false
        makeNode(forced: .linKV)
        initNode(of: ["n0", "n1", "n2"], predecessor: record(["lin-kv"]))
        node.receive(#"{"src":"n1","dest":"n0","body":{"type":"lk_vote","term":3,"last_index":0,"last_term":0,"pre":false}}"#)
        XCTAssertFalse(transport.messages.contains { $0["body"]?["type"] == "lk_voted" }, "not answered before the record is read")
        transport.serveLinKV(node)
        let voted = transport.messages.last { $0["body"]?["type"] == "lk_voted" }?["body"]
        XCTAssertEqual(voted?["granted"], false, "a restarted process does not vote on a log it lost")
    }

    func testAMessageWaitingTooLongForItsRecordIsRefused() {
        linKVAnswers = false
        initNode()
        XCTAssertNil(send(#""type":"add","delta":1"#))
        transport.advance(to: transport.now + Router.startHoldLimit - 1, node)
        XCTAssertNil(reply(to: msgID))
        transport.advance(to: transport.now + 1, node)
        XCTAssertEqual(reply(to: msgID)?["code"], 11)
        XCTAssertTrue(router.active.isEmpty)
    }

    /// A lin-kv client gives up after 1 s: its request, held for a start record lin-kv never
    /// confirms, gets no refusal after that (Maelstrom would count it undeliverable).
    func testALinKVRequestHeldPastItsClientsTimeoutIsNotAnswered() {
        linKVAnswers = false
        initNode()
        XCTAssertNil(send(#""type":"write","key":1,"value":2"#))
        transport.advance(to: transport.now + Router.startHoldLimit, node)
        XCTAssertNil(reply(to: msgID))
        XCTAssertEqual(node.stats.droppedLateClientReplies, 1)
    }

    // MARK: bodies that fit several workloads

    func testReadFollowsTheActiveWorkloadAcrossRepeatedTypes() {
        initNode()
        XCTAssertNil(send(#""type":"read""#), "broadcast's, g-set's or a counter's? held")
        XCTAssertEqual(send(#""type":"add","delta":2"#)?["type"], "add_ok", "delta: a counter")
        XCTAssertEqual(reply(to: 2)?["value"], 0, "the held read is the counter's, answered in arrival order")
        XCTAssertEqual(send(#""type":"read""#)?["value"], 2)
        XCTAssertEqual(send(#""type":"topology","topology":{"n0":[]}"#)?["type"], "topology_ok")
        XCTAssertEqual(kvRequests("cas").last?["to"]?["workloads"], ["broadcast", "g-counter"], "each workload recorded before it runs")
        XCTAssertEqual(send(#""type":"read""#)?["messages"], [], "broadcast comes first in WorkloadKind order")
        XCTAssertEqual(send(#""type":"broadcast","message":7"#)?["type"], "broadcast_ok")
        XCTAssertEqual(send(#""type":"read""#)?["messages"], [7])
        XCTAssertEqual(send(#""type":"add","delta":1"#)?["type"], "add_ok", "add still goes by its body")
    }

    func testAddGoesByItsBodyAndABodyNoWorkloadAcceptsOpensNothing() {
        initNode()
        let refused = send(#""type":"add","elephant":6"#)
        XCTAssertEqual(refused?["code"], 12)
        XCTAssertEqual(refused?["text"], "add fits no workload: g-set needs a field 'element'; g-counter needs a field 'delta'")
        XCTAssertTrue(router.active.isEmpty)
        XCTAssertTrue(kvRequests("cas").isEmpty, "nothing recorded")
        XCTAssertEqual(send(#""type":"add","element":5"#)?["type"], "add_ok")
        XCTAssertNotNil(router.active[.gSet])
        XCTAssertNil(router.active[.gCounter])
        XCTAssertEqual(send(#""type":"read""#)?["value"], [5], "g-set is the one running")
        XCTAssertEqual(send(#""type":"add","delta":-3"#)?["type"], "add_ok", "a pn-counter's negative delta")
        XCTAssertNotNil(router.active[.gCounter])
        XCTAssertEqual(send(#""type":"add","elephant":6"#)?["code"], 12, "a running workload names what is missing")
    }

    func testAHeldReadIsCountedOnceAndAnsweredOnceTheWorkloadIsKnown() {
        initNode()
        let received = node.stats.received, kvBefore = transport.destinations.count { $0 == "lin-kv" }
        XCTAssertNil(send(#""type":"read""#))
        transport.advance(to: transport.now + Router.ambiguousHoldLimit / 2, node)
        XCTAssertEqual(send(#""type":"add","element":1"#)?["type"], "add_ok")
        XCTAssertEqual(reply(to: 2)?["value"], [], "g-set's, before the add that came after it")
        let kvReplies = transport.destinations.count { $0 == "lin-kv" } - kvBefore
        XCTAssertEqual(node.stats.received, received + 2 + kvReplies, "the held read counts once")
    }

    /// Nothing local tells: a peer's start record does.
    func testAHeldReadAsksThePeersRecords() {
        store(StartRecord.key(of: "n1"), record(["g-set"]))
        initNode(of: ["n0", "n1"])
        XCTAssertEqual(send(#""type":"read""#)?["value"], [], "g-set's empty set")
        XCTAssertTrue(kvRequests("read").contains { $0["key"] == "evnode/node/n1" })
        XCTAssertNotNil(router.active[.gSet])
    }

    /// Every worker's first operation may be a read: nothing would tell. A bare read has no reply
    /// that fits every workload (an empty set, a zero counter): refused.
    func testAHeldReadIsRefusedAfterTheHoldLimit() {
        initNode(of: ["n0", "n1"])
        XCTAssertNil(send(#""type":"read""#))
        transport.advance(to: transport.now + Router.ambiguousHoldLimit - 1, node)
        XCTAssertNil(reply(to: msgID))
        transport.advance(to: transport.now + 1, node)
        transport.serveLinKV(node)
        XCTAssertEqual(reply(to: msgID)?["code"], 11)
        XCTAssertTrue(router.active.isEmpty)
    }

    /// A read-only txn could be txn-rw-register's or txn-list-append's. Held too long, it is
    /// answered with reads of null if no peer's record names either (every node records its
    /// workload before it answers anything, so nothing was written), and routed if one does.
    func testAHeldReadOnlyTxnIsAnsweredFromTheEmptyStateOnlyWhileNoPeerRecordedATxnWorkload() {
        for (peerRecord, routed) in [(nil as JSONValue?, false), (record(["g-set"]), false), (record(["txn-list-append"]), true)] {
            setUp()
            initNode(of: ["n0", "n1"])
            XCTAssertNil(send(#""type":"txn","txn":[["r",1,null],["r",2,null]]"#))
            if let peerRecord { store(StartRecord.key(of: "n1"), peerRecord) }
            transport.advance(to: transport.now + Router.ambiguousHoldLimit, node)
            transport.serveLinKV(node)
            if routed {
                XCTAssertNotNil(router.active[.txnListAppend])
            } else {
                XCTAssertEqual(reply(to: msgID)?["txn"], [["r", 1, nil], ["r", 2, nil]])
                XCTAssertTrue(router.active.isEmpty, "no workload opened on a guess")
            }
        }
    }

    /// Only records known to be absent prove nothing was written: a failed read is no proof.
    func testAHeldReadOnlyTxnIsRefusedWhenAPeersRecordCannotBeRead() {
        initNode(of: ["n0", "n1"])
        XCTAssertNil(send(#""type":"txn","txn":[["r",1,null]]"#))
        transport.advance(to: transport.now + Router.ambiguousHoldLimit, node)
        answerLast("read", #""type":"error","code":11,"text":"busy""#)
        XCTAssertEqual(reply(to: msgID)?["code"], 11)
    }

    // MARK: routes

    /// A re-init stands for a new process: it finds its predecessor's record and reopens its
    /// workloads as restarted, with a new instance and no remembered route to the old one.
    func testAReInitIsARestartAndDropsTheRememberedRoute() {
        initNode()
        send(#""type":"topology","topology":{"n0":[]}"#)
        XCTAssertEqual(send(#""type":"broadcast","message":3"#)?["type"], "broadcast_ok")
        XCTAssertEqual(send(#""type":"read""#)?["messages"], [3])
        transport.advance(to: transport.now + .ms(1), node) // a later process has a later wall clock
        initNode()
        XCTAssertEqual(send(#""type":"read""#)?["messages"], [], "the new process's broadcast, not the old one's")
        XCTAssertEqual(router.isRestart, true, "the held read looked up this node's record")
    }

    func testAForcedPNCounterServesCounterMessagesOnly() {
        makeNode(forced: WorkloadKind(rawValue: "pn-counter"))
        initNode()
        XCTAssertEqual(send(#""type":"read""#)?["value"], 0, "forced: nothing to tell apart")
        XCTAssertEqual(send(#""type":"add","element":1"#)?["code"], 12, "a counter's add needs a delta")
        XCTAssertEqual(send(#""type":"broadcast","message":1"#)?["code"], 10)
        XCTAssertEqual(kvRequests("cas").first?["to"]?["workloads"], ["g-counter"], "recorded at init")
    }

    /// Echo and unique-ids answer the same whatever ran before: they need no record.
    func testStatelessWorkloadsRunWithoutAStartRecord() {
        linKVAnswers = false
        initNode()
        XCTAssertEqual(send(#""type":"echo","echo":1"#)?["echo"], 1)
        XCTAssertNotNil(send(#""type":"generate""#)?["id"])
        XCTAssertTrue(kvRequests("cas").isEmpty)
    }

    func testUnknownTypesAreNeverRemembered() {
        initNode()
        XCTAssertEqual(send(#""type":"echo","echo":1"#)?["type"], "echo_ok")
        XCTAssertEqual(send(#""type":"nope""#)?["code"], 10)
        XCTAssertEqual(send(#""type":"nope""#)?["code"], 10)
        XCTAssertEqual(send(#""type":"echo","echo":2"#)?["echo"], 2)
    }

    func testPeerOnlyTypesAreRefusedFromClients() {
        makeNode(forced: .linKV)
        initNode(of: ["n0", "n1", "n2"])
        XCTAssertEqual(send(#""type":"lk_vote","term":3,"last_index":0,"last_term":0,"pre":false"#)?["code"], 10)
    }
}
