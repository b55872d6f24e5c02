import EVCore
import EVTestSupport
import Workloads
import XCTest

/// Raft's election and commit rules, one node driven by hand (n0 of n0…n2, lin-kv, default mode):
/// each test fails when its rule is weakened, which whole-cluster runs only hit by luck.
final class RaftSafetyTests: XCTestCase {
    private var transport: ManualTransport!
    private var node: Node!
    private var router: Router!

    override func setUp() {
        transport = ManualTransport()
        router = Router(forced: .linKV, config: .immediateRaft)
        node = Node(transport: transport, handler: router)
        node.receive(#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1","n2"]}}"#)
        transport.serveLinKV(node) // the start record: a fresh process
    }

    private var raft: Raft { (router.active[.linKV] as! LinearizableKV).raft }

    private func peer(_ from: String, _ body: String) {
        node.receive(#"{"src":"\#(from)","dest":"n0","body":\#(body)}"#)
    }

    private func lastSent(_ type: String, to dest: String) -> JSONValue? {
        transport.messages.last { $0["dest"] == .string(dest) && $0["body"]?["type"] == .string(type) }?["body"]
    }

    /// One vote per term (§5.2): a second candidate of the same term is refused.
    func testAVoteIsGivenOncePerTerm() {
        peer("n1", #"{"type":"lk_vote","term":2,"last_index":0,"last_term":0,"pre":false}"#)
        XCTAssertEqual(lastSent("lk_voted", to: "n1")?["granted"], true)
        peer("n2", #"{"type":"lk_vote","term":2,"last_index":0,"last_term":0,"pre":false}"#)
        XCTAssertEqual(lastSent("lk_voted", to: "n2")?["granted"], false, "already voted for n1 in term 2")
    }

    /// The consistency check (§5.3): entries whose predecessor does not match are not taken.
    func testAnAppendWhosePredecessorDoesNotMatchIsRefused() {
        peer("n1", #"{"type":"lk_append","term":1,"prev":0,"prev_term":0,"entries":[[1,1,5,["w",1,1]]],"commit":0,"round":1,"ack":true}"#)
        XCTAssertEqual(lastSent("lk_appended", to: "n1")?["match"], 1)
        peer("n2", #"{"type":"lk_append","term":2,"prev":1,"prev_term":2,"entries":[[2,2,6,["w",1,2]]],"commit":2,"round":1}"#)
        XCTAssertEqual(lastSent("lk_appended", to: "n2")?["ok"], false, "entry 1 is of term 1, not 2")
        XCTAssertEqual(raft.commitIndex, 0, "nothing committed from an unchecked append")
    }

    /// Only entries of the leader's own term are committed by counting replicas (§5.4.2): an
    /// older one on a majority may still be overwritten by another leader.
    func testALeaderCommitsAnOlderTermsEntryOnlyWithOneOfItsOwn() {
        peer("n1", #"{"type":"lk_append","term":1,"prev":0,"prev_term":0,"entries":[[1,1,5,["w",1,1]]],"commit":0,"round":1}"#)
        let t = elect()
        peer("n2", #"{"type":"lk_appended","term":\#(t),"ok":true,"match":1,"round":1}"#)
        XCTAssertEqual(raft.commitIndex, 0, "entry 1 is of term 1: a majority holding it is not enough")
        peer("n2", #"{"type":"lk_appended","term":\#(t),"ok":true,"match":2,"round":1}"#)
        XCTAssertEqual(raft.commitIndex, 2, "with the leader's no-op, both commit")
    }

    /// Makes n0 leader (n2 grants every vote it asks for); returns its term.
    private func elect() -> Int {
        var term = raft.term
        for _ in 0..<40 where raft.role != .leader {
            transport.advance(to: transport.now + .ms(100), node)
            if let v = lastSent("lk_vote", to: "n2"), let t = v["term"]?.int, t > term {
                term = t
                let pre = v["pre"] == true
                peer("n2", #"{"type":"lk_voted","term":\#(t),"granted":true,"pre":\#(pre)}"#)
                if pre { term -= 1 }
            }
        }
        XCTAssertEqual(raft.role, .leader)
        return raft.term
    }

    /// A pre-vote granted after the follower heard from its leader again starts no election: the
    /// leader is alive (issue 21, hole 5).
    func testALatePreVoteGrantDoesNotDeposeALiveLeader() {
        peer("n1", #"{"type":"lk_append","term":1,"prev":0,"prev_term":0,"entries":[[1,-1,0,null]],"commit":1,"round":1}"#)
        for _ in 0..<20 where lastSent("lk_vote", to: "n2") == nil { transport.advance(to: transport.now + .ms(100), node) }
        XCTAssertEqual(lastSent("lk_vote", to: "n2")?["pre"], true, "n0 lost its leader and asks for pre-votes")
        peer("n1", #"{"type":"lk_append","term":1,"prev":1,"prev_term":1,"entries":[],"commit":1,"round":2}"#)
        peer("n2", #"{"type":"lk_voted","term":2,"granted":true,"pre":true}"#)
        XCTAssertEqual(raft.term, 1, "n1 is back: no election")
        XCTAssertEqual(raft.role, .follower)
    }

    /// A refusal of an older term's append names the round of that append, a round of another
    /// process (a restarted leader numbers its rounds afresh): it confirms no read (issue 21, hole 4).
    func testARefusalOfAnOlderAppendConfirmsNoRead() {
        let t = elect()
        peer("n2", #"{"type":"lk_appended","term":\#(t),"ok":true,"match":1,"round":1}"#) // the no-op commits
        XCTAssertEqual(raft.commitIndex, 1)
        node.receive(#"{"src":"c1","dest":"n0","body":{"type":"read","msg_id":2,"key":1}}"#)
        transport.advance(to: transport.now + .ms(200), node) // the round that can confirm it goes out
        // n1, in term t, refuses an append of round 5000 that n0's predecessor sent in an older term.
        peer("n1", #"{"type":"lk_appended","term":\#(t),"ok":false,"match":0,"round":5000}"#)
        transport.advance(to: transport.now + .ms(1), node)
        XCTAssertFalse(transport.bodies.contains { $0["in_reply_to"] == 2 }, "no majority answered a round after the read")
        let round = lastSent("lk_append", to: "n2")?["round"]?.int ?? 0
        peer("n2", #"{"type":"lk_appended","term":\#(t),"ok":true,"match":1,"round":\#(round)}"#)
        XCTAssertTrue(transport.bodies.contains { $0["in_reply_to"] == 2 })
    }

    /// Restarts n0 as a new process; its start record is in lin-kv, so it knows it is one and, in
    /// default mode, that it lost its log, its term and its vote.
    private func restart() {
        transport.advance(to: transport.now + .ms(100), node)
        transport.clearOutput()
        router = Router(forced: .linKV, config: .immediateRaft)
        node = Node(transport: transport, handler: router)
        node.receive(#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1","n2"]}}"#)
        transport.serveLinKV(node)
    }

    /// Issue 21, hole 1 (`evsim lin-kv --seed 330 --nemesis partition,kill`): n0's predecessor may
    /// have acknowledged n2 in term 2, which n0 no longer knows; n1, still in term 1, is stale. A
    /// restarted process's acknowledgements count for no leader (they say so) until every peer has
    /// told this process its term and a leader of at least the highest has given the log back up
    /// to a commit of its own term, after hearing of this process.
    func testARestartedProcessCountsForNoLeaderUntilEveryPeerHasToldItsTerm() {
        restart()
        XCTAssertTrue(raft.amnesiac)
        peer("n1", #"{"type":"lk_append","term":1,"prev":0,"prev_term":0,"entries":[[1,-1,0,null],[1,1,5,["w",1,1]]],"commit":2,"round":7,"ack":true}"#)
        XCTAssertEqual(lastSent("lk_appended", to: "n1")?["amnesiac"], true, "not counted")
        XCTAssertTrue(raft.amnesiac, "holding n1's commit index proves nothing: n1 may be stale")
        for _ in 0..<20 where lastSent("lk_vote", to: "n2") == nil { transport.advance(to: transport.now + .ms(100), node) }
        guard let inc = lastSent("lk_vote", to: "n2")?["inc"]?.int else { return XCTFail("n0 asks its peers their terms") }
        peer("n1", #"{"type":"lk_voted","term":1,"granted":false,"pre":true,"inc":\#(inc)}"#)
        peer("n2", #"{"type":"lk_voted","term":2,"granted":false,"pre":true,"inc":\#(inc)}"#)
        XCTAssertEqual(raft.term, 2)
        peer("n1", #"{"type":"lk_append","term":1,"prev":2,"prev_term":1,"entries":[],"commit":2,"round":8}"#)
        XCTAssertEqual(lastSent("lk_appended", to: "n1")?["ok"], false, "n1's term is over")
        let log = #"[[1,-1,0,null],[1,1,5,["w",1,1]],[3,-1,0,null]]"#
        peer("n2", #"{"type":"lk_append","term":3,"prev":0,"prev_term":0,"entries":\#(log),"commit":3,"round":1}"#)
        XCTAssertTrue(raft.amnesiac, "n2 had not heard of this process when it sent that")
        peer("n2", #"{"type":"lk_append","term":3,"prev":0,"prev_term":0,"entries":\#(log),"commit":3,"round":2,"inc":\#(inc),"ack":true}"#)
        XCTAssertFalse(raft.amnesiac)
        XCTAssertNil(lastSent("lk_appended", to: "n2")?["amnesiac"])
    }

    /// The leader's side of hole 1: an acknowledgement from a restarted process that says so, or
    /// from an earlier process of a peer that has since restarted, counts toward nothing.
    func testARestartedFollowersAcknowledgementCountsForNothing() {
        let t = elect()
        peer("n1", #"{"type":"lk_appended","term":\#(t),"ok":true,"match":1,"round":1,"inc":2000000,"amnesiac":true}"#)
        XCTAssertEqual(raft.commitIndex, 0, "a restarted n1 does not count")
        peer("n1", #"{"type":"lk_appended","term":\#(t),"ok":true,"match":1,"round":1,"inc":1000000}"#)
        XCTAssertEqual(raft.commitIndex, 0, "nor does a late answer of its previous process")
        peer("n1", #"{"type":"lk_appended","term":\#(t),"ok":true,"match":1,"round":1,"inc":2000000}"#)
        XCTAssertEqual(raft.commitIndex, 1)
    }
}
