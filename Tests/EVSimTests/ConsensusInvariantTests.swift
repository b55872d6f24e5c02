import EVCheckers
import EVCore
import EVSim
import EVSimCore
import Workloads
import XCTest

/// Each consensus invariant (docs/evsim.md, "Consensus invariants") must fail on a state that
/// breaks it: hand-built Raft states fed to the watcher one event at a time, and a real lin-kv
/// cluster whose follower is sent a forged append. Correct runs hold them all.
final class ConsensusInvariantTests: XCTestCase {
    typealias ID = ConsensusInvariants.EntryID
    typealias Inv = ConsensusInvariants.Invariant

    /// A hand-built Raft state: whatever a test sets.
    final class FakeRaft: ConsensusStateView {
        var role = Raft.Role.follower
        var term = 0, commitIndex = 0, lastApplied = 0
        var log: [ID] = []
        init(term: Int = 0, role: Raft.Role = .follower, log: [ID] = []) {
            self.term = term
            self.role = role
            self.log = log
        }
        var lastLogIndex: Int { log.count }
        func entryID(at index: Int) -> ID? { index >= 1 && index <= log.count ? log[index - 1] : nil }
        /// Commits and applies through `index`.
        func commit(_ index: Int) {
            commitIndex = index
            lastApplied = index
        }
    }

    private func e(_ term: Int, _ seq: Int, origin: Int = 0) -> ID { ID(term: term, origin: origin, seq: seq, command: seq * 7) }

    private var clock: Micros = 0
    private func step(_ w: ConsensusInvariants, _ node: String, _ raft: FakeRaft) {
        clock += .ms(1)
        w.observe(node: node, raft, at: clock)
    }

    private func broken(_ w: ConsensusInvariants) -> Set<Inv> { Set(w.violations.map(\.invariant)) }

    /// Leader n0 of term 1 replicates two entries to n1 and n2; all commit and apply; n1 then
    /// leads term 2 with everything; n2 is restarted (a new, empty process) and catches up.
    func testCorrectHistoryHoldsEveryInvariant() {
        let w = ConsensusInvariants()
        let n0 = FakeRaft(term: 1, role: .leader), n1 = FakeRaft(term: 1), n2 = FakeRaft(term: 1)
        step(w, "n0", n0)
        n0.log = [e(1, 0, origin: -1), e(1, 1)]
        step(w, "n0", n0)
        for f in [n1, n2] { f.log = n0.log; step(w, f === n1 ? "n1" : "n2", f) }
        n0.commit(2)
        step(w, "n0", n0)
        n1.commit(2)
        step(w, "n1", n1)
        n0.role = .follower
        n0.term = 2
        step(w, "n0", n0)
        n1.term = 2
        n1.role = .leader
        n1.log.append(e(2, 0, origin: -1))
        step(w, "n1", n1)
        let restarted = FakeRaft(term: 2)
        step(w, "n2", restarted)
        restarted.log = n1.log
        restarted.commit(3)
        step(w, "n2", restarted)
        w.finish(at: clock)
        XCTAssertEqual(w.violations, [])
        XCTAssertEqual(w.results().count, Inv.allCases.count)
        XCTAssertTrue(w.results().allSatisfy(\.holds), "\(w.results())")
        XCTAssertEqual(w.elections, 2)
    }

    func testTwoLeadersOfOneTermBreakElectionSafety() {
        let w = ConsensusInvariants()
        step(w, "n0", FakeRaft(term: 3, role: .leader))
        step(w, "n1", FakeRaft(term: 3, role: .leader))
        XCTAssertEqual(broken(w), [.electionSafety])
        let result = w.results().first { $0.name == Inv.electionSafety.rawValue }!
        XCTAssertFalse(result.holds)
        XCTAssertTrue(result.detail.contains("n1: leader of term 3, which n0 led"), result.detail)
    }

    func testARestartedProcessLeadingItsPredecessorsTermBreaksElectionSafety() {
        let w = ConsensusInvariants()
        step(w, "n0", FakeRaft(term: 3, role: .leader))
        step(w, "n0", FakeRaft(term: 3, role: .leader)) // another process of n0
        XCTAssertEqual(broken(w), [.electionSafety])
        XCTAssertTrue(w.violations[0].detail.contains("an earlier process of n0"), w.violations[0].detail)
        // The same process staying leader, or leading again after a kill in a later term, is fine.
        let w2 = ConsensusInvariants()
        let p = FakeRaft(term: 3, role: .leader)
        step(w2, "n0", p)
        step(w2, "n0", p)
        step(w2, "n0", FakeRaft(term: 4, role: .leader))
        XCTAssertEqual(w2.violations, [])
    }

    func testDifferentEntriesAtOneIndexAndTermBreakLogMatching() {
        let w = ConsensusInvariants()
        step(w, "n0", FakeRaft(term: 1, log: [e(1, 1), e(1, 2)]))
        step(w, "n1", FakeRaft(term: 1, log: [e(1, 1), e(1, 3)]))
        XCTAssertEqual(broken(w), [.logMatching])
        XCTAssertEqual(w.violations[0].node, "n1")
        XCTAssertTrue(w.violations[0].detail.hasPrefix("entry 2 is term 1 entry 0:3"), w.violations[0].detail)
    }

    func testTheSameEntryAfterDifferentPrefixesBreaksLogMatching() {
        let w = ConsensusInvariants()
        step(w, "n0", FakeRaft(term: 3, log: [e(1, 1), e(3, 5)]))
        step(w, "n1", FakeRaft(term: 3, log: [e(2, 2), e(3, 5)]))
        XCTAssertEqual(broken(w), [.logMatching])
        XCTAssertTrue(w.violations[0].detail.contains("follows an entry of term 2"), w.violations[0].detail)
    }

    /// A change in the middle of a log that leaves its last entry as it was is not seen from the
    /// end; the periodic full comparison (and the one at the end of a run) finds it.
    func testAMiddleChangeIsFoundByTheFullComparison() {
        let w = ConsensusInvariants()
        step(w, "n0", FakeRaft(term: 1, log: [e(1, 1), e(1, 2), e(1, 3)]))
        let n1 = FakeRaft(term: 1, log: [e(1, 1), e(1, 2), e(1, 3)])
        step(w, "n1", n1)
        n1.log[1] = e(1, 9)
        step(w, "n1", n1)
        XCTAssertEqual(w.violations, [])
        w.finish(at: clock)
        XCTAssertEqual(broken(w), [.logMatching])
    }

    func testALeaderWithoutACommittedEntryBreaksLeaderCompleteness() {
        let w = ConsensusInvariants()
        let n0 = FakeRaft(term: 1, role: .leader, log: [e(1, 0, origin: -1), e(1, 1)])
        step(w, "n0", n0)
        n0.commit(2)
        step(w, "n0", n0)
        // n1 leads term 2 holding only the first entry.
        step(w, "n1", FakeRaft(term: 2, role: .leader, log: [e(1, 0, origin: -1)]))
        XCTAssertEqual(broken(w), [.leaderCompleteness])
        XCTAssertTrue(w.violations[0].detail.contains("lacks 1 committed entry: entry 2 committed in term 1"), w.violations[0].detail)
        // A leader of the committing term itself is not checked (it is the one that committed).
        let w2 = ConsensusInvariants()
        let a = FakeRaft(term: 1, log: [e(1, 1)])
        a.commit(1)
        step(w2, "n0", a)
        step(w2, "n1", FakeRaft(term: 1, role: .leader, log: []))
        XCTAssertEqual(w2.violations, [])
    }

    func testDifferentEntriesAppliedAtOneIndexBreakStateMachineSafety() {
        let w = ConsensusInvariants()
        let n0 = FakeRaft(term: 1, log: [e(1, 1)])
        n0.commit(1)
        step(w, "n0", n0)
        let n1 = FakeRaft(term: 2, log: [e(2, 7)])
        n1.commit(1)
        step(w, "n1", n1)
        XCTAssertEqual(broken(w), [.stateMachineSafety])
        XCTAssertTrue(w.violations[0].detail.contains("applied term 2 entry 0:7 at index 1, but n0 applied term 1 entry 0:1"),
                      w.violations[0].detail)
    }

    func testACommitIndexGoingBackBreaksCommitMonotonicity() {
        let w = ConsensusInvariants()
        let n0 = FakeRaft(term: 1, log: [e(1, 1), e(1, 2)])
        n0.commit(2)
        step(w, "n0", n0)
        n0.commitIndex = 1
        step(w, "n0", n0)
        XCTAssertEqual(broken(w), [.commitMonotonic])
        XCTAssertTrue(w.violations[0].detail.contains("commit index went from 2 to 1"), w.violations[0].detail)
    }

    func testACommittedEntryTruncatedBreaksCommitMonotonicity() {
        let w = ConsensusInvariants()
        let n0 = FakeRaft(term: 1, log: [e(1, 1), e(1, 2)])
        n0.commit(2)
        step(w, "n0", n0)
        n0.log.removeLast()
        step(w, "n0", n0)
        XCTAssertEqual(broken(w), [.commitMonotonic])
        XCTAssertTrue(w.violations[0].detail.contains("committed entry 2"), w.violations[0].detail)
    }

    /// A restarted process starts again from commit index 0 with an empty log (default mode), or
    /// replays its log (durable mode): neither is a violation.
    func testARestartedProcessStartsItsOwnHistoryAgain() {
        let w = ConsensusInvariants()
        let n0 = FakeRaft(term: 1, log: [e(1, 1), e(1, 2)])
        n0.commit(2)
        step(w, "n0", n0)
        step(w, "n0", FakeRaft())
        step(w, "n0", FakeRaft(term: 1, log: [e(1, 1), e(1, 2)]))
        XCTAssertEqual(w.violations, [])
    }

    // MARK: real clusters

    private func spec(_ challenge: Challenge, seed: UInt64) -> TestSpec {
        var spec = challenge.spec
        spec.seed = seed
        spec.timeLimit = 10
        return spec
    }

    func testLinKVAndListAppendRunsReportEveryConsensusInvariant() {
        for challenge in [Challenge.linKV3, .txnListAppend] {
            let result = Runner(spec: spec(challenge, seed: 3)).run()
            let raft = result.invariants.filter { $0.name.hasPrefix("raft: ") }
            XCTAssertEqual(raft.map(\.name), Inv.allCases.map(\.rawValue), challenge.name)
            XCTAssertTrue(raft.allSatisfy(\.holds), "\(challenge.name): \(raft)")
            XCTAssertTrue(result.passed, challenge.name)
        }
    }

    /// A follower of a real lin-kv cluster accepts a forged append in its leader's name: an entry
    /// the leader never wrote, committed at once. The leader writes its own entry at that index and
    /// term: log matching and state machine safety break, and the run fails.
    func testAForgedAppendBreaksARealCluster() {
        var config = ClusterConfig(nodeCount: 3, latency: .ms(5), seed: 7)
        config.forcedWorkload = .linKV
        let cluster = Cluster(config)
        let model = LinKVModel(nodeCount: 3)
        model.watch(cluster)
        XCTAssertEqual(cluster.initialize(), [])
        func raft(_ id: String) -> Raft? { (cluster.node(id).router?.active[.linKV] as? LinearizableKV)?.raft }
        XCTAssertTrue(cluster.run(until: { cluster.nodeIDs.contains { raft($0)?.role == .leader } }, limit: .seconds(5)))
        cluster.run(for: .seconds(1))
        let leader = cluster.nodeIDs.first { raft($0)?.role == .leader }!
        let follower = cluster.nodeIDs.first { $0 != leader }!
        let f = raft(follower)!, term = f.term, last = f.lastLogIndex
        XCTAssertEqual(raft(leader)!.lastLogIndex, last)
        let body = #"{"type":"lk_append","term":\#(term),"prev":\#(last),"prev_term":\#(f.logEntry(at: last)?.term ?? 0),"#
            + #""entries":[[\#(term),1,424242,["w",0,9]]],"commit":\#(last + 1),"round":0}"#
        cluster.network.send(from: leader, to: follower, text: #"{"src":"\#(leader)","dest":"\#(follower)","body":\#(body)}"#)
        XCTAssertTrue(cluster.run(until: { f.commitIndex == last + 1 }, limit: .ms(100)), "the follower took the forged entry")
        XCTAssertEqual(cluster.call(leader, ["type": "write", "key": 1, "value": 2])?["type"], "write_ok")
        let results = model.invariants([], cluster: cluster)
        let brokenNames = Set(results.filter { !$0.holds }.map(\.name))
        XCTAssertTrue(brokenNames.contains(Inv.logMatching.rawValue), "\(results)")
        XCTAssertTrue(brokenNames.contains(Inv.stateMachineSafety.rawValue), "\(results)")
        XCTAssertFalse(brokenNames.contains(Inv.electionSafety.rawValue), "\(results)")
    }
}
