import EVCore
import EVTestSupport
import Workloads
import XCTest

/// `ConsensusService` (Sources/Workloads/Consensus/ConsensusService.swift), the client side of
/// lin-kv and txn-list-append, on one hand-driven node: n0 of n0…n2 serving lin-kv, a follower of
/// a leader n1 played by the test. What it promises clients: request numbers no restart reuses,
/// an answer only from the node that took the request and only once its entry is applied, reads
/// answered at their read index once it is applied, and refusals (error 11) only of what can no
/// longer take effect.
final class ConsensusServiceTests: XCTestCase {
    private var transport: ManualTransport!
    private var node: Node!
    private var router: Router!
    /// The wall clock when the node started (µs since the epoch).
    private let startWallClock: Micros = 1_700_000_000_000_000

    override func setUp() {
        transport = ManualTransport()
        transport.wallClockOrigin = startWallClock
        router = Router(forced: .linKV, config: .immediateRaft)
        node = Node(transport: transport, handler: router)
        node.receive(#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1","n2"]}}"#)
        transport.serveLinKV(node) // the start record: a fresh process
        XCTAssertNotNil(kv, "lin-kv opened")
        transport.clearOutput()
    }

    private var kv: LinearizableKV? { router.active[.linKV] as? LinearizableKV }

    // MARK: the leader n1, played by hand (term 1)

    /// The entries the leader has sent n0 (their JSON), index i + 1 at i.
    private var leaderLog: [String] = []
    private var leaderCommit = 0
    private var round = 0

    /// An append from n1 after everything it sent before: `entries` (JSON arrays
    /// `[term, origin, seq, command]`), its commit index, and read indices `[[seq, index]]`.
    private func lead(_ entries: [String] = [], commit: Int? = nil, reads: String? = nil) {
        let prev = leaderLog.count
        leaderLog += entries
        leaderCommit = commit ?? leaderCommit
        round += 1
        let readsField = reads.map { #","reads":\#($0)"# } ?? ""
        node.receive(#"{"src":"n1","dest":"n0","body":{"type":"lk_append","term":1,"prev":\#(prev),"prev_term":\#(prev == 0 ? 0 : 1),"#
            + #""entries":[\#(entries.joined(separator: ","))],"commit":\#(leaderCommit),"round":\#(round)\#(readsField)}}"#)
    }

    /// Moves the clock to `time` in small steps, firing timers; the leader keeps heartbeating.
    private func run(until time: Micros, heartbeats: Bool = true) {
        while transport.now < time {
            transport.advance(to: min(time, transport.now + .ms(20)), node)
            if heartbeats { lead() }
        }
    }

    private func client(_ msgID: Int, _ fields: String) {
        node.receive(#"{"src":"c1","dest":"n0","body":{"msg_id":\#(msgID),\#(fields)}}"#)
    }

    private func replies(to msgID: Int) -> [JSONValue] {
        transport.messages.filter { $0["dest"] == "c1" && $0["body"]?["in_reply_to"] == .int(msgID) }.compactMap { $0["body"] }
    }

    /// The client requests n0 has passed to the leader so far, `[seq, command or null]`.
    private var gathered: [JSONValue] {
        transport.messages.filter { $0["dest"] == "n1" && $0["body"]?["type"] == "lk_appended" }
            .flatMap { $0["body"]?["requests"]?.array ?? [] }
    }

    private func seq(of command: JSONValue) -> Int? { gathered.first { $0[1] == command }?[0]?.int }

    // MARK: the coalescing window

    /// Requests taken within the window of the first leave together, one window after it.
    func testRequestsWithinTheWindowLeaveInOneMessage() {
        router = Router(forced: .linKV) // the default window
        node = Node(transport: transport, handler: router)
        node.receive(#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1","n2"]}}"#)
        transport.serveLinKV(node)
        lead()
        transport.clearOutput()
        let window = Raft.Config().window
        client(10, #""type":"write","key":1,"value":1"#)
        transport.advance(to: transport.now + window / 2, node)
        client(11, #""type":"write","key":1,"value":2"#)
        XCTAssertEqual(gathered, [], "held for the window")
        transport.advance(to: transport.now + window / 2, node)
        XCTAssertEqual(gathered.count, 2)
        XCTAssertEqual(transport.messages.filter { $0["dest"] == "n1" }.count, 1, "in one message")
    }

    // MARK: request numbers

    /// Request numbers go into log entries that outlive the process: they start above the wall
    /// clock (µs) at the start, so a restarted process never reuses its predecessor's, and grow.
    func testRequestNumbersStartAboveTheWallClockAndGrow() throws {
        lead()
        client(1, #""type":"write","key":1,"value":3"#)
        client(2, #""type":"write","key":1,"value":4"#)
        client(3, #""type":"read","key":1"#)
        lead()
        let seqs = gathered.compactMap { $0[0]?.int }
        XCTAssertEqual(seqs.count, 3, "\(gathered)")
        XCTAssertGreaterThan(try XCTUnwrap(seqs.first), Int(startWallClock))
        XCTAssertEqual(seqs, seqs.sorted())
        XCTAssertEqual(Set(seqs).count, 3, "one number per request")
    }

    // MARK: answering on apply, at the origin only

    /// Every node applies every entry, but only the node that took the request answers it, and
    /// only once the entry is committed and applied.
    func testAnEntryIsAnsweredWhenAppliedAndOnlyByTheNodeThatTookIt() throws {
        lead()
        client(1, #""type":"write","key":1,"value":3"#)
        lead()
        let s = try XCTUnwrap(seq(of: ["w", 1, 3]))
        // n2's request happens to carry the same number: applied here, answered by n2, not n0.
        lead(["[1,-1,0,null]", "[1,2,\(s),[\"w\",1,9]]"], commit: 2)
        XCTAssertEqual(kv?.state, [1: 9])
        XCTAssertEqual(replies(to: 1), [], "n2's entry is not n0's request")
        lead(["[1,0,\(s),[\"w\",1,3]]"])
        XCTAssertEqual(replies(to: 1), [], "appended, not yet committed")
        lead(commit: 3)
        XCTAssertEqual(kv?.state, [1: 3])
        XCTAssertEqual(replies(to: 1).map { $0["type"] }, ["write_ok"])
        lead(commit: 3)
        XCTAssertEqual(replies(to: 1).count, 1, "answered once")
    }

    /// The answer is the state machine's, at the entry's place in the log: a cas after a
    /// conflicting write fails with 22.
    func testTheAnswerIsTheStateMachinesAtTheEntrysPlace() throws {
        lead()
        client(1, #""type":"cas","key":1,"from":3,"to":4"#)
        lead()
        let s = try XCTUnwrap(seq(of: ["c", 1, 3, 4]))
        lead(["[1,-1,0,null]", "[1,2,5,[\"w\",1,7]]", "[1,0,\(s),[\"c\",1,3,4]]"], commit: 3)
        XCTAssertEqual(replies(to: 1).map { $0["code"] }, [22])
        XCTAssertEqual(kv?.state, [1: 7])
    }

    // MARK: reads at the read index

    /// A read is answered once the read index the leader confirmed for it is applied here, from
    /// the state at that point, and not before.
    func testAReadIsAnsweredAtItsReadIndexOnceApplied() throws {
        lead(["[1,-1,0,null]", "[1,1,77,[\"w\",1,1]]"], commit: 2)
        client(1, #""type":"read","key":1"#)
        lead()
        let s = try XCTUnwrap(seq(of: .null), "the read went to the leader")
        lead(["[1,1,78,[\"w\",1,2]]"], reads: "[[\(s),3]]")
        XCTAssertEqual(replies(to: 1), [], "index 3 is not applied here yet")
        lead(reads: "[[\(s + 1000),3]]")
        XCTAssertEqual(replies(to: 1), [], "another request's index answers nothing")
        lead(commit: 3)
        XCTAssertEqual(replies(to: 1).map { $0["value"] }, [2], "the state at the read index, not before it")
        lead(commit: 3, reads: "[[\(s),3]]")
        XCTAssertEqual(replies(to: 1).count, 1, "a repeated index answers nothing more")
    }

    // MARK: refusals

    /// With no leader, a command never leaves the node: after `refuseAfter` it is refused with
    /// 11 (it can never take effect), and is not passed on later.
    func testACommandThatNeverLeftTheNodeIsRefusedAfterRefuseAfter() {
        client(1, #""type":"write","key":1,"value":3"#)
        let refuseAfter = LinearizableKV.Config().service.refuseAfter
        run(until: refuseAfter - .ms(20), heartbeats: false)
        XCTAssertEqual(replies(to: 1), [], "not before refuseAfter")
        run(until: refuseAfter + .ms(40), heartbeats: false)
        XCTAssertEqual(replies(to: 1).map { $0["code"] }, [11])
        lead()
        XCTAssertEqual(gathered, [], "a refused command is withdrawn, never sent")
    }

    /// A command that reached the leader may still be committed: it is not refused, however
    /// long it waits (the client's timeout makes it indeterminate, as it is).
    func testACommandThatLeftTheNodeIsNeverRefused() throws {
        lead()
        client(1, #""type":"write","key":1,"value":3"#)
        lead()
        let s = try XCTUnwrap(seq(of: ["w", 1, 3]))
        run(until: .seconds(2))
        XCTAssertEqual(replies(to: 1), [], "no refusal of a request that may still take effect")
        lead(["[1,-1,0,null]", "[1,0,\(s),[\"w\",1,3]]"], commit: 2)
        XCTAssertEqual(kv?.state, [1: 3], "and it did take effect")
    }

    /// A query never takes effect: one not answered by `refuseAfter` is refused even if the
    /// leader has it.
    func testAnUnansweredQueryIsRefusedEvenIfItLeftTheNode() throws {
        lead()
        client(1, #""type":"read","key":1"#)
        lead()
        XCTAssertNotNil(seq(of: .null))
        run(until: LinearizableKV.Config().service.refuseAfter + .ms(40))
        XCTAssertEqual(replies(to: 1).map { $0["code"] }, [11])
    }

    /// A query refused while its leader was silent is taken back: it does not leave later.
    func testARefusedQueryIsNotForwardedWhenTheLeaderIsHeardAgain() {
        lead()
        run(until: transport.now + Raft.Config().electionTimeout, heartbeats: false)
        client(1, #""type":"read","key":1"#)
        run(until: transport.now + LinearizableKV.Config().service.refuseAfter + .ms(20), heartbeats: false)
        XCTAssertEqual(replies(to: 1).map { $0["code"] }, [11])
        lead()
        XCTAssertEqual(gathered, [], "nothing left for the leader")
    }
}
