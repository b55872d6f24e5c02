import EVCore
import EVTestSupport
import Workloads
import XCTest

/// Durable mode's promise, one node at a time by hand: an acknowledgement or a vote leaves the
/// node only once what it promises is in the kv service (docs/linkv.md).
final class RaftDurabilityTests: XCTestCase {
    private var transport: ManualTransport!
    private var node: Node!
    private var router: Router!

    override func setUp() {
        transport = ManualTransport()
        var config = WorkloadConfig()
        config.durability.enabled = true
        router = Router(forced: .linKV, config: config)
        node = Node(transport: transport, handler: router)
        node.receive(#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n0","n1","n2"]}}"#)
        transport.advance(to: transport.now, node)
        answerKV() // the start record's read (no key): a fresh process
        // The workload starts once its start record is written; its recovery reads chunk 0 of its log.
        peer(#"{"type":"lk_vote","term":1,"last_index":0,"last_term":0,"pre":true}"#)
        for _ in 0..<3 { // the start record's write, the snapshot, then chunk 0
            transport.advance(to: transport.now, node)
            answerKV()
        }
        transport.advance(to: transport.now + .ms(20), node)
    }

    /// Answers every kv request not yet answered: reads with "no such key", writes with ok.
    private func answerKV() {
        for m in transport.messages where m["dest"] == "lin-kv" {
            guard let id = m["body"]?["msg_id"]?.int, !answered.contains(id) else { continue }
            answered.insert(id)
            answeredAt[id] = transport.messages.count
            let reply = m["body"]?["type"] == "read"
                ? #"{"type":"error","code":20,"text":"not found","in_reply_to":\#(id)}"#
                : #"{"type":"cas_ok","in_reply_to":\#(id)}"#
            node.receive(#"{"src":"lin-kv","dest":"n1","body":\#(reply)}"#)
        }
    }
    private var answered: Set<Int> = []
    /// How many messages the node had sent when each kv request was answered.
    private var answeredAt: [Int: Int] = [:]

    private func peer(_ body: String, from: String = "n0") {
        node.receive(#"{"src":"\#(from)","dest":"n1","body":\#(body)}"#)
    }

    private func sent(_ type: String) -> [JSONValue] { transport.messages.filter { $0["body"]?["type"] == .string(type) } }

    private var pendingWrites: Int {
        transport.messages.filter { $0["dest"] == "lin-kv" && $0["body"]?["type"] == "cas" }
            .filter { !answered.contains($0["body"]?["msg_id"]?.int ?? -1) }.count
    }

    func testAnAppendIsAcknowledgedOnlyOnceItsEntriesAreStored() {
        peer(#"{"type":"lk_append","term":1,"prev":0,"prev_term":0,"entries":[[1,-1,0,null],[1,0,5,["w",1,2]]],"commit":0,"round":1,"ack":true}"#)
        transport.advance(to: transport.now + .ms(50), node)
        XCTAssertEqual(pendingWrites, 1, "term and entries go to the store")
        XCTAssertEqual(sent("lk_appended"), [], "no acknowledgement before they are stored")
        answerKV()
        XCTAssertEqual(sent("lk_appended").last?["body"]?["match"], 2)
        XCTAssertEqual(sent("lk_appended").last?["body"]?["ok"], true)
    }

    func testAVoteIsGivenOnlyOnceItIsStored() {
        peer(#"{"type":"lk_vote","term":2,"last_index":0,"last_term":0,"pre":false}"#, from: "n2")
        transport.advance(to: transport.now + .ms(50), node)
        XCTAssertEqual(sent("lk_voted").filter { $0["body"]?["pre"] == false }, [], "no vote before it is stored")
        XCTAssertEqual(pendingWrites, 1)
        answerKV()
        XCTAssertEqual(sent("lk_voted").last?["body"]?["granted"], true)
        XCTAssertEqual(sent("lk_voted").last?["body"]?["term"], 2)
    }

    /// A leader counts its own entries toward a majority only once stored: alone in its cluster, it
    /// acknowledges a write only after the kv service has it.
    func testALeaderCountsItsOwnEntriesOnlyOnceStored() {
        transport = ManualTransport()
        answered = []
        var config = WorkloadConfig()
        config.durability.enabled = true
        node = Node(transport: transport, handler: Router(forced: .linKV, config: config))
        node.receive(#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#)
        transport.advance(to: transport.now, node)
        node.receive(#"{"src":"c1","dest":"n0","body":{"type":"write","msg_id":2,"key":1,"value":3}}"#)
        for _ in 0..<10 { // the start record, recovery, the election, the no-op and the write
            answerKV()
            transport.advance(to: transport.now + .ms(20), node)
        }
        guard let ok = transport.messages.firstIndex(where: { $0["body"]?["type"] == "write_ok" }) else { return XCTFail("no write_ok") }
        for (i, m) in transport.messages.enumerated() where i < ok && m["dest"] == "lin-kv" && m["body"]?["type"] == "cas" {
            let id = m["body"]?["msg_id"]?.int ?? -1
            XCTAssertLessThanOrEqual(answeredAt[id] ?? .max, ok, "write_ok went out before kv write \(id) was confirmed")
        }
    }

    /// With peers: a follower's acknowledgement alone does not commit what the leader has not
    /// stored itself (a kill of the leader and the acknowledging follower would lose it).
    func testAFollowersAckDoesNotCommitTheLeadersUnstoredEntries() {
        transport = ManualTransport()
        answered = []
        var config = WorkloadConfig()
        config.durability.enabled = true
        node = Node(transport: transport, handler: Router(forced: .linKV, config: config))
        node.receive(#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1","n2"]}}"#)
        node.receive(#"{"src":"c1","dest":"n0","body":{"type":"read","msg_id":2,"key":1}}"#) // starts the workload
        var term = 0
        for _ in 0..<150 where sent("lk_append").isEmpty { // n1 grants every (pre-)vote n0 asks for
            answerKV()
            for v in sent("lk_vote") where (v["body"]?["term"]?.int ?? 0) > term {
                term = v["body"]?["term"]?.int ?? 0
                let pre = v["body"]?["pre"] == true
                node.receive(#"{"src":"n1","dest":"n0","body":{"type":"lk_voted","term":\#(term),"granted":true,"pre":\#(pre)}}"#)
                if pre { term -= 1 } // the real vote asks for the same term
            }
            transport.advance(to: transport.now + .ms(10), node)
        }
        XCTAssertFalse(sent("lk_append").isEmpty, "n0 leads")
        answerKV() // its no-op is stored
        transport.advance(to: transport.now + .ms(20), node)
        node.receive(#"{"src":"c1","dest":"n0","body":{"type":"write","msg_id":3,"key":1,"value":3}}"#)
        transport.advance(to: transport.now + .ms(20), node)
        XCTAssertEqual(pendingWrites, 1, "the write's entry is being stored")
        let appendTerm = sent("lk_append").last?["body"]?["term"]?.int ?? 0
        node.receive(#"{"src":"n1","dest":"n0","body":{"type":"lk_appended","term":\#(appendTerm),"ok":true,"match":2,"round":1}}"#)
        XCTAssertFalse(transport.messages.contains { $0["body"]?["type"] == "write_ok" }, "n1 alone is no majority")
        answerKV()
        transport.advance(to: transport.now + .ms(1), node)
        XCTAssertTrue(transport.messages.contains { $0["body"]?["type"] == "write_ok" })
    }

    /// After a truncation, the entries stored above it are gone: a node that later leads must not
    /// count its own replacements toward a majority before they are stored (issue 21, hole 2).
    func testALeaderDoesNotCountEntriesItTruncatedAsStored() {
        peer(#"{"type":"lk_append","term":1,"prev":0,"prev_term":0,"entries":[[1,-1,0,null],[1,0,5,["w",1,1]],[1,0,6,["w",1,2]]],"commit":0,"round":1}"#)
        transport.advance(to: transport.now + .ms(50), node)
        answerKV() // entries 1–3 of term 1 are stored
        transport.advance(to: transport.now + .ms(50), node)
        peer(#"{"type":"lk_append","term":2,"prev":1,"prev_term":1,"entries":[[2,2,7,["w",1,3]]],"commit":0,"round":1}"#, from: "n2")
        transport.advance(to: transport.now + .ms(50), node)
        answerKV() // the log is now 1 (term 1), 2 (term 2): entry 3 is gone
        var term = 2
        for _ in 0..<150 where sent("lk_append").isEmpty { // n0 grants every (pre-)vote n1 asks for
            answerKV()
            for v in sent("lk_vote") where (v["body"]?["term"]?.int ?? 0) > term {
                term = v["body"]?["term"]?.int ?? 0
                let pre = v["body"]?["pre"] == true
                peer(#"{"type":"lk_voted","term":\#(term),"granted":true,"pre":\#(pre)}"#)
                if pre { term -= 1 }
            }
            transport.advance(to: transport.now + .ms(10), node)
        }
        XCTAssertFalse(sent("lk_append").isEmpty, "n1 leads")
        XCTAssertEqual(pendingWrites, 1, "its no-op (index 3) is being stored")
        let t = sent("lk_append").last?["body"]?["term"]?.int ?? 0
        peer(#"{"type":"lk_appended","term":\#(t),"ok":true,"match":3,"round":1}"#)
        let raft = (router.active[.linKV] as! LinearizableKV).raft
        XCTAssertEqual(raft.commitIndex, 0, "n0 alone holds the no-op: no majority yet")
        answerKV()
        transport.advance(to: transport.now + .ms(1), node)
        XCTAssertEqual(raft.commitIndex, 3)
    }
}
