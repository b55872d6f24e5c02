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
        router = Router(forced: .linKV)
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
        peer("n1", #"{"type":"lk_append","term":1,"prev":0,"prev_term":0,"entries":[[1,1,5,["w",1,1]]],"commit":0,"round":1}"#)
        XCTAssertEqual(lastSent("lk_appended", to: "n1")?["match"], 1)
        peer("n2", #"{"type":"lk_append","term":2,"prev":1,"prev_term":2,"entries":[[2,2,6,["w",1,2]]],"commit":2,"round":1}"#)
        XCTAssertEqual(lastSent("lk_appended", to: "n2")?["ok"], false, "entry 1 is of term 1, not 2")
        XCTAssertEqual(raft.commitIndex, 0, "nothing committed from an unchecked append")
    }

    /// Only entries of the leader's own term are committed by counting replicas (§5.4.2): an
    /// older one on a majority may still be overwritten by another leader.
    func testALeaderCommitsAnOlderTermsEntryOnlyWithOneOfItsOwn() {
        peer("n1", #"{"type":"lk_append","term":1,"prev":0,"prev_term":0,"entries":[[1,1,5,["w",1,1]]],"commit":0,"round":1}"#)
        var term = 1
        for _ in 0..<40 where raft.role != .leader { // n2 grants whatever n0 asks
            transport.advance(to: transport.now + .ms(100), node)
            if let v = lastSent("lk_vote", to: "n2"), let t = v["term"]?.int, t > term {
                term = t
                let pre = v["pre"] == true
                peer("n2", #"{"type":"lk_voted","term":\#(t),"granted":true,"pre":\#(pre)}"#)
                if pre { term -= 1 }
            }
        }
        XCTAssertEqual(raft.role, .leader)
        let t = raft.term
        peer("n2", #"{"type":"lk_appended","term":\#(t),"ok":true,"match":1,"round":1}"#)
        XCTAssertEqual(raft.commitIndex, 0, "entry 1 is of term 1: a majority holding it is not enough")
        peer("n2", #"{"type":"lk_appended","term":\#(t),"ok":true,"match":2,"round":1}"#)
        XCTAssertEqual(raft.commitIndex, 2, "with the leader's no-op, both commit")
    }
}
