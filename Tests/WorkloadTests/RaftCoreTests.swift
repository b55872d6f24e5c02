import EVCore
@testable import Workloads
import XCTest

/// `RaftCore` (Sources/Workloads/Consensus/RaftCore.swift) fed message by message, one test per
/// rule: Figure 2 of the Raft paper, then the core's optimisations. Every node is one of n0…n2.
final class RaftCoreTests: XCTestCase {
    // MARK: Figure 2: all servers

    /// Only committed entries are applied, in order, each once.
    func testAppliesCommittedEntriesInOrderOnce() {
        var n = Driven(1)
        let entries = [entry(1, 1), entry(1, 2), entry(1, 3)]
        XCTAssertEqual(n.step(append(term: 1, entries, commit: 2), from: 0).applied, [1, 2])
        XCTAssertEqual(n.step(append(term: 1, entries, commit: 3), from: 0).applied, [3])
        XCTAssertEqual(n.step(append(term: 1, entries, commit: 3), from: 0).applied, [])
        XCTAssertEqual(n.core.lastApplied, 3)
    }

    /// A higher term in any of the four messages makes the node a follower of that term.
    func testHigherTermInAnyMessageMakesLeaderFollowerOfIt() {
        for m in [append(term: 5), appended(term: 5, ok: false, match: 0), vote(term: 5), voted(term: 5, granted: false)] {
            var n = leader()
            n.step(m, from: 2)
            XCTAssertEqual(n.core.term, 5, "\(m.kind)")
            XCTAssertEqual(n.core.role.name, "follower", "\(m.kind)")
        }
    }

    // MARK: Figure 2: followers

    /// A node just started asks for pre-votes within a fifth of the election timeout (it has heard
    /// of no leader); after that, an election timeout without hearing a leader starts another.
    func testElectionTimeoutStartsPreVote() {
        var n = Driven(0)
        XCTAssertEqual(n.tick(after: defaults.electionTimeout / 10 - 1).recipients, [])
        let e = n.tick(after: defaults.electionTimeout / 10 + 1)
        XCTAssertEqual(e.recipients, [1, 2])
        XCTAssertEqual(e.sent(to: 1), [vote(term: 1, pre: true)])
        XCTAssertEqual(n.core.role.name, "pre-candidate")
        XCTAssertEqual(n.core.term, 0)
        XCTAssertEqual(n.tick(after: defaults.electionTimeout - 1).recipients, [], "no answer: the next one after a timeout")
        XCTAssertEqual(n.tick(after: defaults.electionTimeout + 1).recipients, [1, 2])
    }

    /// Hearing the leader resets the election timeout.
    func testHearingLeaderResetsElectionTimeout() {
        var n = Driven(1)
        n.now = 2 * defaults.electionTimeout - .ms(100)
        n.step(append(term: 1), from: 0)
        XCTAssertEqual(n.tick(after: defaults.electionTimeout - 1).recipients, [])
    }

    // MARK: Figure 2: candidates

    /// On conversion a candidate increments its term, votes for itself and asks every peer.
    func testCandidateIncrementsTermVotesForItselfAndAsksAll() {
        var n = Driven(0)
        let e = n.campaign()
        XCTAssertEqual(n.core.role.name, "candidate")
        XCTAssertEqual(n.core.term, 1)
        XCTAssertEqual(n.core.votedFor, 0)
        XCTAssertEqual(e.sent(to: 1).last, vote(term: 1))
        XCTAssertEqual(e.sent(to: 2).last, vote(term: 1))
    }

    /// Votes of a majority (itself and one more of three) make the leader; a refusal is no vote.
    func testMajorityOfVotesMakesLeader() {
        var n = candidate()
        n.step(voted(term: 1, granted: false), from: 2)
        XCTAssertEqual(n.core.role.name, "candidate")
        n.step(voted(term: 1), from: 1)
        XCTAssertTrue(n.core.isLeader)
    }

    /// An append from the leader of its term makes a candidate its follower.
    func testCandidateFollowsLeaderOfItsTerm() {
        var n = candidate()
        n.step(append(term: 1), from: 2)
        XCTAssertEqual(n.core.role.name, "follower")
        XCTAssertEqual(n.core.leader, 2)
        XCTAssertEqual(n.core.term, 1)
    }

    /// A candidate that times out starts again, for the next term.
    func testCandidateTimeoutStartsNewElection() {
        var n = candidate()
        XCTAssertEqual(n.tick(after: 2 * defaults.electionTimeout).sent(to: 1), [vote(term: 2, pre: true)])
        n.step(voted(term: 2, pre: true), from: 1)
        XCTAssertEqual(n.core.role.name, "candidate")
        XCTAssertEqual(n.core.term, 2)
    }

    // MARK: Figure 2: leaders

    /// An elected leader appends a no-op of its term and sends it.
    func testLeaderAppendsNoOpAndSendsIt() {
        var n = Driven(0)
        let e = n.win()
        let noop = RaftEntry(term: 1, origin: -1, seq: 0, command: .null)
        XCTAssertEqual(n.core.lastLogIndex, 1)
        XCTAssertEqual(n.core.logEntry(at: 1), noop)
        XCTAssertEqual(e.appends(to: 1).map(\.entries), [[noop]])
    }

    /// A client command is appended to the leader's log and sent.
    func testLeaderAppendsClientCommand() {
        var n = leader()
        let e = n.submit(7)
        XCTAssertEqual(n.core.logEntry(at: 2), entry(1, 7))
        XCTAssertEqual(e.appends(to: 1).map(\.entries), [[entry(1, 7)]])
    }

    /// A follower behind the leader's log is sent its next entries, message after message.
    func testFollowerBehindIsSentItsNextEntries() {
        var limited = defaults
        limited.maxEntriesPerMessage = 2
        var n = Driven(0, config: limited)
        n.win()
        for seq in 1...3 { n.submit(seq) }
        let first = n.tick(after: defaults.tickInterval).appends(to: 2)
        XCTAssertEqual(first.map(\.prev), [0])
        XCTAssertEqual(first.map(\.entries.count), [2])
        let next = n.step(appended(match: 2), from: 2).appends(to: 2)
        XCTAssertEqual(next.map(\.prev), [2])
        XCTAssertEqual(next.map(\.entries), [[entry(1, 2), entry(1, 3)]])
    }

    /// A success raises the follower's match (the leader commits with it); a retry resumes after it.
    func testSuccessUpdatesMatchAndNext() {
        var n = leader()
        n.step(appended(match: 1), from: 1)
        XCTAssertEqual(n.core.commitIndex, 1)
        n.submit(2)
        let retry = n.tick(after: defaults.retry)
        XCTAssertEqual(retry.appends(to: 1).map(\.prev), [1])
        XCTAssertEqual(retry.appends(to: 2).map(\.prev), [0])
    }

    /// A refusal for inconsistency makes the leader send again from the follower's hint.
    func testRefusalMakesLeaderResendFromHint() {
        var n = leader()
        n.submit(1)
        n.submit(2)
        let e = n.step(appended(ok: false, match: 2), from: 1).appends(to: 1)
        XCTAssertEqual(e.map(\.prev), [1])
        XCTAssertEqual(e.map(\.entries), [[entry(1, 1), entry(1, 2)]])
    }

    /// An entry of the leader's term is committed once a majority holds it, not before.
    func testCommitsOnceMajorityHoldsEntry() {
        var n = leader()
        XCTAssertEqual(n.core.commitIndex, 0)
        XCTAssertEqual(n.step(appended(match: 1), from: 1).applied, [1])
        XCTAssertEqual(n.core.commitIndex, 1)
    }

    /// An older term's entry held by a majority is not committed alone, only under one of the
    /// leader's term (Figure 8).
    func testOlderTermEntryOnMajorityIsNotCommittedAlone() {
        var n = Driven(0)
        n.step(append(term: 1, [entry(1, 1, origin: 1)]), from: 1)
        n.win(voter: 2)
        n.step(appended(term: 2, match: 1), from: 2)
        XCTAssertEqual(n.core.commitIndex, 0)
        XCTAssertEqual(n.step(appended(term: 2, match: 2), from: 2).applied, [1, 2])
    }

    // MARK: Figure 2: AppendEntries receiver

    /// An append of an older term is refused and changes nothing.
    func testAppendOfOlderTermIsRefused() {
        var n = Driven(1)
        n.step(append(term: 2), from: 0)
        XCTAssertEqual(n.step(append(term: 1, [entry(1, 1)]), from: 2).sent(to: 2), [appended(term: 2, ok: false, match: 0)])
        XCTAssertEqual(n.core.lastLogIndex, 0)
        XCTAssertEqual(n.core.leader, 0)
    }

    /// An append whose previous entry is missing or of another term is refused with a hint.
    func testAppendNotMatchingPrevIsRefused() {
        var n = Driven(1)
        n.step(append(term: 1, [entry(1, 1)]), from: 0)
        XCTAssertEqual(n.step(append(term: 2, prev: 1, prevTerm: 2, [entry(2, 2)]), from: 2).sent(to: 2),
                       [appended(term: 2, ok: false, match: 1)])
        XCTAssertEqual(n.step(append(term: 2, prev: 3, prevTerm: 2), from: 2).sent(to: 2), [appended(term: 2, ok: false, match: 2)])
        XCTAssertEqual(n.core.lastLogIndex, 1)
    }

    /// A conflicting entry is deleted with all that follow it; the new ones are appended.
    func testConflictingEntryTruncatesItAndAllAfter() {
        var n = Driven(1)
        n.step(append(term: 1, [entry(1, 1), entry(1, 2), entry(1, 3)]), from: 0)
        n.step(append(term: 2, prev: 1, prevTerm: 1, [entry(2, 4)]), from: 2)
        XCTAssertEqual(n.core.lastLogIndex, 2)
        XCTAssertEqual(n.core.logEntry(at: 2), entry(2, 4))
    }

    /// New entries are appended; a duplicate or reordered append changes nothing.
    func testDuplicateOrReorderedAppendChangesNothing() {
        var n = Driven(1)
        n.step(append(term: 1, [entry(1, 1), entry(1, 2)]), from: 0)
        n.step(append(term: 1, prev: 1, prevTerm: 1, [entry(1, 2)]), from: 0)
        let late = n.step(append(term: 1, [entry(1, 1)], ack: true), from: 0)
        XCTAssertEqual(n.core.lastLogIndex, 2)
        XCTAssertEqual(n.core.logEntry(at: 2), entry(1, 2))
        XCTAssertEqual(late.sent(to: 0), [appended(match: 2)])
    }

    /// The commit index follows the leader's, up to the last entry known to match its log.
    func testCommitIsMinOfLeaderCommitAndLastNewEntry() {
        var n = Driven(1)
        n.step(append(term: 1, [entry(1, 1), entry(1, 2), entry(1, 3)]), from: 0)
        XCTAssertEqual(n.step(append(term: 2, prev: 1, prevTerm: 1, commit: 3), from: 2).applied, [1])
        XCTAssertEqual(n.core.commitIndex, 1)
    }

    // MARK: Figure 2: RequestVote receiver

    /// A vote request of an older term is refused.
    func testVoteOfOlderTermIsRefused() {
        var n = Driven(1)
        n.step(append(term: 2), from: 0)
        XCTAssertEqual(n.step(vote(term: 1), from: 2).sent(to: 2), [voted(term: 2, granted: false)])
    }

    /// One vote per term: granted again to the same candidate, refused to another.
    func testOneVotePerTerm() {
        var n = Driven(1)
        XCTAssertEqual(n.step(vote(term: 1), from: 0).sent(to: 0), [voted(term: 1)])
        XCTAssertEqual(n.step(vote(term: 1), from: 2).sent(to: 2), [voted(term: 1, granted: false)])
        XCTAssertEqual(n.step(vote(term: 1), from: 0).sent(to: 0), [voted(term: 1)])
        XCTAssertEqual(n.core.votedFor, 0)
    }

    /// A vote goes only to a log at least as up to date: a later last term, or the same and as long.
    func testVoteOnlyForLogAtLeastAsUpToDate() {
        var n = Driven(1)
        n.step(append(term: 1, [entry(1, 1), entry(1, 2)]), from: 0)
        XCTAssertEqual(n.step(vote(term: 2, lastIndex: 1, lastTerm: 1), from: 2).sent(to: 2), [voted(term: 2, granted: false)])
        XCTAssertEqual(n.step(vote(term: 2, lastIndex: 2, lastTerm: 1), from: 2).sent(to: 2), [voted(term: 2)])
        XCTAssertEqual(n.step(vote(term: 3, lastIndex: 1, lastTerm: 2), from: 0).sent(to: 0), [voted(term: 3)])
    }

    // MARK: elections

    /// A refused pre-vote that names a higher term makes the asker follow that term: otherwise two
    /// live nodes, one with the newer term and one with the longer log, refuse each other forever.
    func testARefusedPreVoteOfAHigherTermIsFollowed() {
        var n = Driven(0)
        n.step(append(term: 1), from: 2)
        n.tick(after: 2 * defaults.electionTimeout)
        guard case .preCandidate = n.core.role else { return XCTFail("n0 asks for pre-votes") }
        n.step(voted(term: 2, granted: false, pre: true), from: 1)
        XCTAssertEqual(n.core.term, 2)
        guard case .follower(nil) = n.core.role else { return XCTFail("a follower of term 2, no leader known") }
        n.tick(after: 2 * defaults.electionTimeout)
        XCTAssertEqual(n.step(voted(term: 3, pre: true), from: 1).sent(to: 1).first, vote(term: 3),
                       "with n1's grant for term 3, n0 stands")
    }

    /// A pre-vote is refused while the voter heard its leader within the election timeout; granted
    /// after, it changes neither term nor vote.
    func testPreVoteRefusedWhileLeaderHeard() {
        var n = Driven(1)
        n.step(append(term: 1), from: 0)
        n.now += defaults.electionTimeout - 1
        XCTAssertEqual(n.step(vote(term: 2, pre: true), from: 2).sent(to: 2), [voted(term: 1, granted: false, pre: true)],
                       "a refusal names the voter's own term")
        n.now += 1
        XCTAssertEqual(n.step(vote(term: 2, pre: true), from: 2).sent(to: 2), [voted(term: 2, pre: true)])
        XCTAssertEqual(n.core.term, 1)
        XCTAssertNil(n.core.votedFor)
    }

    /// A pre-candidate that hears its leader follows it again: a late grant starts no election.
    func testLatePreVoteGrantAfterAppendStartsNoElection() {
        var n = Driven(0)
        n.step(append(term: 1), from: 2)
        XCTAssertEqual(n.tick(after: 2 * defaults.electionTimeout).recipients, [1, 2])
        n.step(append(term: 1), from: 2)
        XCTAssertEqual(n.step(voted(term: 2, pre: true), from: 1).recipients, [])
        XCTAssertEqual(n.core.term, 1)
        XCTAssertEqual(n.core.leader, 2)
    }

    // MARK: commit through `quorum`

    /// A follower holding entries through `quorum` commits them without the leader (through what it
    /// holds of them).
    func testFollowerCommitsThroughQuorum() {
        var n = Driven(1)
        XCTAssertEqual(n.step(append(term: 1, [entry(1, 1), entry(1, 2)], quorum: 3), from: 0).applied, [1, 2])
    }

    /// `quorum` commits no entry of an older term.
    func testQuorumCommitsOnlyEntryOfCurrentTerm() {
        var n = Driven(1)
        n.step(append(term: 1, [entry(1, 1)]), from: 0)
        n.step(append(term: 2, prev: 1, prevTerm: 1, quorum: 1), from: 2)
        XCTAssertEqual(n.core.commitIndex, 0)
    }

    /// An amnesiac follower commits nothing through `quorum`.
    func testAmnesiacDoesNotCommitThroughQuorum() {
        var n = Driven(1)
        n.core.amnesiac = true
        n.step(append(term: 1, [entry(1, 1), entry(1, 2)], quorum: 2), from: 0)
        XCTAssertEqual(n.core.commitIndex, 0)
    }

    /// Durable mode: a follower commits through `quorum` only once its copy is stored.
    func testDurableFollowerCommitsThroughQuorumOnceStored() throws {
        var n = Driven(1, durable: true)
        let token = try XCTUnwrap(n.step(append(term: 1, [entry(1, 1), entry(1, 2)], quorum: 2), from: 0).tokens.first)
        XCTAssertEqual(n.core.commitIndex, 0)
        XCTAssertEqual(n.stored(token).applied, [1, 2])
    }

    // MARK: reads

    /// A read forwarded by a follower is confirmed at once in three nodes (the forwarder counts), at
    /// the leader's last index, not its commit index.
    func testForwardedReadIsConfirmedAtOnceAtLastIndex() {
        var n = leader()
        let e = n.step(appended(match: 0, round: 0, requests: [.init(seq: 5, command: nil)]), from: 1)
        XCTAssertEqual(n.core.commitIndex, 0)
        XCTAssertEqual(e.appends(to: 1).map(\.reads), [[.init(seq: 5, index: 1)]])
    }

    /// A read left unconfirmed for `readLifetime` is dropped: a later majority confirms nothing.
    func testAnUnconfirmedReadIsDroppedAfterItsLifetime() {
        var n = leader()
        n.read(5)
        n.tick(after: RaftCore.readLifetime + 1)
        XCTAssertEqual(n.step(appended(match: 1, round: 1_000), from: 1).readsReady, [])
    }

    /// The leader's own read needs an answer to a round sent after it arrived, not an earlier one.
    func testLeaderReadNeedsAnswerToLaterRound() {
        var n = leader()
        n.step(appended(match: 1), from: 1)
        let e = n.read(9)
        XCTAssertEqual(e.readsReady, [])
        XCTAssertEqual(e.appends(to: 1).map(\.round), [2])
        XCTAssertEqual(n.step(appended(match: 1, round: 1), from: 1).readsReady, [])
        XCTAssertEqual(n.step(appended(match: 1, round: 2), from: 1).readsReady, [.init(seq: 9, index: 1)])
    }

    /// An amnesiac's answer confirms no read.
    func testAmnesiacAnswerDoesNotConfirmRead() {
        var n = leader()
        n.step(appended(match: 1), from: 1)
        n.read(9)
        XCTAssertEqual(n.step(appended(match: 1, round: 2, amnesiac: true), from: 1).readsReady, [])
    }

    // MARK: event-driven replication

    /// A round goes to a follower heard within a heartbeat, the one sent nothing for longest (the
    /// round spares it a heartbeat); one not heard lately is passed over.
    func testARoundGoesToAFollowerHeardLatelyAndSentNothingLongest() {
        var n = leader() // n1 voted and was sent the no-op
        n.step(appended(match: 0, round: 0), from: 2)
        XCTAssertEqual(n.submit(2).appends(to: 2).map(\.ack), [true], "n2: heard, and sent nothing yet")
        n.now += defaults.heartbeat
        n.step(appended(match: 2, round: 2), from: 1)
        let e = n.submit(3)
        XCTAssertEqual(e.appends(to: 1).map(\.ack), [true], "n2 was not heard for a heartbeat")
        XCTAssertEqual(e.appends(to: 2), [])
    }

    /// A follower's entry goes to its origin alone without `ack`; the leader's own goes with `ack`
    /// to one follower.
    func testFollowerEntryGoesToOriginUnaskedLeadersToOneAsked() {
        var n = leader()
        let forwarded = n.step(appended(match: 1, requests: [.init(seq: 3, command: command(3))]), from: 1)
        XCTAssertEqual(forwarded.recipients, [1])
        XCTAssertEqual(forwarded.appends(to: 1).map(\.entries), [[entry(1, 3, origin: 1)]])
        XCTAssertEqual(forwarded.appends(to: 1).map(\.ack), [false])
        XCTAssertEqual(n.submit(4).appendsSent.map(\.ack), [true])
    }

    /// A follower answers an append only when asked (`ack`) or refusing; its forwarded requests
    /// carry its match.
    func testFollowerAnswersWhenAskedAndForwardsWithMatch() {
        var n = Driven(1)
        XCTAssertEqual(n.step(append(term: 1, [entry(1, 1)]), from: 0).recipients, [])
        XCTAssertEqual(n.submit(4).sent(to: 0), [appended(match: 1, requests: [.init(seq: 4, command: command(4))])])
        XCTAssertEqual(n.step(append(term: 1, prev: 1, prevTerm: 1, [entry(1, 2)], ack: true), from: 0).sent(to: 0),
                       [appended(match: 2)])
    }

    /// Requests gathered before a flush leave in one message.
    func testRequestsBeforeFlushLeaveInOneMessage() {
        var n = Driven(1)
        n.step(append(term: 1), from: 0)
        _ = n.core.submit(seq: 1, command(1), now: n.now)
        _ = n.core.read(seq: 2, now: n.now)
        XCTAssertEqual(n.core.flush(now: n.now).sent(to: 0),
                       [appended(match: 0, requests: [.init(seq: 1, command: command(1)), .init(seq: 2, command: nil)])])
    }

    /// Heartbeats go only to followers sent nothing for `heartbeat`.
    func testHeartbeatsOnlyToIdleFollowers() {
        var n = leader()
        n.step(appended(match: 1), from: 1)
        XCTAssertEqual(n.tick(after: defaults.tickInterval).recipients, [2])
        XCTAssertEqual(n.tick(after: defaults.heartbeat - defaults.tickInterval).recipients, [1])
    }

    /// A round unanswered for `retry` goes again to every follower, from what each confirmed.
    func testUnansweredRoundIsRetriedToEveryFollower() {
        var n = leader()
        XCTAssertEqual(n.tick(after: defaults.retry / 2).recipients, [2])
        let retry = n.tick(after: defaults.retry / 2)
        XCTAssertEqual(retry.recipients, [1, 2])
        XCTAssertEqual(retry.appendsSent.map(\.ack), [true, true])
        XCTAssertEqual(retry.appendsSent.map(\.prev), [0, 0])
    }

    /// A follower forwards nothing to a leader silent for the election timeout: the request can
    /// still be withdrawn.
    func testNoForwardingToSilentLeader() {
        var n = Driven(1)
        n.step(append(term: 1), from: 0)
        n.now += defaults.electionTimeout - 1
        XCTAssertEqual(n.submit(1).recipients, [0])
        n.now += 1
        XCTAssertEqual(n.submit(2).recipients, [])
        XCTAssertTrue(n.core.withdraw(seq: 2))
    }

    // MARK: five nodes

    /// In five nodes a follower's entry needs two copies besides the leader's: the leader asks one
    /// other follower (not the origin) and, once it holds the entry, sends the origin its entry with
    /// a `quorum` covering it, from which the origin commits.
    func testFiveNodesAFollowersEntryGoesToItsOriginOnceAnotherFollowerHoldsIt() throws {
        var n = Driven(0, clusterSize: 5)
        n.tick(after: 2 * defaults.electionTimeout)
        for voter in [1, 2] { n.step(voted(term: 1, pre: true), from: voter) }
        for voter in [1, 2] { n.step(voted(term: 1), from: voter) }
        for voter in [1, 2] { n.step(appended(match: 1), from: voter) }
        XCTAssertEqual(n.core.commitIndex, 1, "the no-op")
        n.now += .ms(1) // n3 is heard last: the likeliest to answer, but its answer is counted already
        let forwarded = n.step(appended(match: 0, requests: [.init(seq: 7, command: command(7))]), from: 3)
        XCTAssertEqual(forwarded.appends(to: 3), [], "the origin could not commit it yet")
        let asked = try XCTUnwrap(forwarded.recipients.first)
        XCTAssertEqual(forwarded.recipients, [asked])
        XCTAssertTrue([1, 2].contains(asked))
        XCTAssertEqual(forwarded.appends(to: asked).map(\.ack), [true])
        let told = try XCTUnwrap(n.step(appended(match: 2, round: 2), from: asked).appends(to: 3).first)
        XCTAssertEqual(told.quorum, 2)
        var origin = Driven(3, clusterSize: 5)
        XCTAssertEqual(origin.step(.append(told), from: 0).applied, [1, 2])
    }

    // MARK: incarnations

    /// An acknowledgement from an earlier incarnation of a follower counts for nothing.
    func testAckFromEarlierIncarnationIsIgnored() {
        var n = leader()
        n.step(appended(match: 0, inc: 5), from: 1)
        n.step(appended(match: 1, inc: 4), from: 1)
        XCTAssertEqual(n.core.commitIndex, 0)
    }

    /// A newer incarnation of a follower resets its match: what the earlier process held is sent again.
    func testNewerIncarnationResetsMatch() {
        var n = leader()
        n.step(appended(match: 1, inc: 5), from: 1)
        n.submit(2)
        n.step(appended(match: 0, round: 0, inc: 6), from: 1)
        XCTAssertEqual(n.tick(after: defaults.retry).appends(to: 1).map(\.prev), [0])
    }

    // MARK: durable mode

    /// A vote is granted after its `persist`, by `sendAfterPersist`.
    func testDurableVoteGrantIsSentAfterPersist() {
        var n = Driven(1, durable: true)
        XCTAssertEqual(n.step(vote(term: 1), from: 0), [
            .persist([.hardState(term: 1, votedFor: nil), .hardState(term: 1, votedFor: 0)], .init(last: 0, truncationsBefore: 0)),
            .sendAfterPersist(to: 0, voted(term: 1)),
        ])
    }

    /// An acknowledgement leaves after the `persist` of what it acknowledges, by `sendAfterPersist`.
    func testDurableAckIsSentAfterPersist() {
        var n = Driven(1, durable: true)
        XCTAssertEqual(n.step(append(term: 1, [entry(1, 1)], ack: true), from: 0), [
            .persist([.hardState(term: 1, votedFor: nil), .entry(index: 1, entry(1, 1))], .init(last: 1, truncationsBefore: 0)),
            .sendAfterPersist(to: 0, appended(match: 1)),
        ])
    }

    /// The leader counts its own entry toward a commit only once it is stored.
    func testDurableLeaderCountsOwnEntryOnceStored() {
        var n = Driven(0, durable: true)
        let election = n.win()
        n.step(appended(match: 1), from: 1)
        XCTAssertEqual(n.core.commitIndex, 0)
        for token in election.tokens { n.stored(token) }
        XCTAssertEqual(n.core.commitIndex, 1)
    }

    /// A store handed over before a truncation counts only the entries below it.
    func testStoredAfterTruncationDoesNotCountEntriesAboveIt() throws {
        var n = Driven(1, durable: true)
        let before = try XCTUnwrap(n.step(append(term: 1, [entry(1, 1), entry(1, 2), entry(1, 3)]), from: 0).tokens.first)
        let after = try XCTUnwrap(n.step(append(term: 2, prev: 1, prevTerm: 1, [entry(2, 4)], quorum: 2), from: 2).tokens.first)
        n.stored(before)
        XCTAssertEqual(n.core.storedIndex, 1)
        XCTAssertEqual(n.core.commitIndex, 0)
        XCTAssertEqual(n.stored(after).applied, [1, 2])
    }
}

// MARK: helpers

private typealias Effect = RaftCore.Effect

private let defaults = RaftCore.Config()

/// One node of three and its clock. Every input is followed by a flush when the core wants one,
/// as the driver does without a coalescing window.
private struct Driven {
    var core: RaftCore
    var now: Micros = 0

    init(_ me: Int, clusterSize: Int = 3, durable: Bool = false, config: RaftCore.Config = defaults) {
        core = RaftCore(me: me, clusterSize: clusterSize, config: config, durable: durable, incarnation: 1, now: 0)
        _ = core.start(now: 0)
    }

    @discardableResult mutating func step(_ m: RaftMessage, from peer: Int) -> [Effect] { run { $0.step(m, from: peer, now: $1) } }
    @discardableResult mutating func submit(_ seq: Int) -> [Effect] { run { $0.submit(seq: seq, command(seq), now: $1) } }
    @discardableResult mutating func read(_ seq: Int) -> [Effect] { run { $0.read(seq: seq, now: $1) } }
    @discardableResult mutating func stored(_ token: RaftCore.StoreToken) -> [Effect] { run { $0.stored(token, now: $1) } }

    @discardableResult mutating func tick(after delay: Micros) -> [Effect] {
        now += delay
        return run { $0.tick(now: $1) }
    }

    /// Times out and gets `voter`'s pre-vote: a candidate of the next term.
    @discardableResult mutating func campaign(voter: Int = 1) -> [Effect] {
        let next = core.term + 1
        return tick(after: 2 * core.config.electionTimeout) + step(voted(term: next, pre: true), from: voter)
    }

    /// A campaign and `voter`'s vote: leader of the next term.
    @discardableResult mutating func win(voter: Int = 1) -> [Effect] {
        let effects = campaign(voter: voter)
        return effects + step(voted(term: core.term), from: voter)
    }

    private mutating func run(_ input: (inout RaftCore, Micros) -> [Effect]) -> [Effect] {
        let effects = input(&core, now)
        return core.wantsFlush(now: now) ? effects + core.flush(now: now) : effects
    }
}

/// n0, a candidate in term 1 with n1's pre-vote.
private func candidate() -> Driven {
    var n = Driven(0)
    n.campaign()
    return n
}

/// n0, leader of term 1 with n1's vote; its no-op went to n1 in round 1.
private func leader() -> Driven {
    var n = Driven(0)
    n.win()
    return n
}

private func command(_ seq: Int) -> JSONValue { ["w", .int(seq)] }

private func entry(_ term: Int, _ seq: Int, origin: Int = 0) -> RaftEntry {
    RaftEntry(term: term, origin: origin, seq: seq, command: command(seq))
}

private func append(term: Int, prev: Int = 0, prevTerm: Int = 0, _ entries: [RaftEntry] = [], commit: Int = 0,
                    quorum: Int = 0, ack: Bool = false) -> RaftMessage {
    .append(.init(term: term, prev: prev, prevTerm: prevTerm, entries: entries, commit: commit, quorum: quorum, round: 1,
                  inc: 1, ack: ack, reads: []))
}

private func appended(term: Int = 1, ok: Bool = true, match: Int, round: Int = 1, inc: Int = 1, amnesiac: Bool = false,
                      requests: [RaftMessage.Request] = []) -> RaftMessage {
    .appended(.init(term: term, ok: ok, match: match, round: round, inc: inc, amnesiac: amnesiac, requests: requests))
}

private func vote(term: Int, lastIndex: Int = 0, lastTerm: Int = 0, pre: Bool = false) -> RaftMessage {
    .vote(.init(term: term, lastIndex: lastIndex, lastTerm: lastTerm, pre: pre, inc: 1))
}

private func voted(term: Int, granted: Bool = true, pre: Bool = false) -> RaftMessage {
    .voted(.init(term: term, granted: granted, pre: pre, inc: 1, amnesiac: false))
}

private extension [RaftCore.Effect] {
    /// Who was sent a message (not after a persist), in order.
    var recipients: [Int] { compactMap { if case .send(let p, _) = $0 { p } else { nil } } }

    func sent(to peer: Int) -> [RaftMessage] { compactMap { if case .send(peer, let m) = $0 { m } else { nil } } }

    func appends(to peer: Int) -> [RaftMessage.Append] { sent(to: peer).compactMap(\.asAppend) }

    var appendsSent: [RaftMessage.Append] { compactMap { if case .send(_, let m) = $0 { m.asAppend } else { nil } } }

    var applied: [Int] { compactMap { if case .apply(let index, _) = $0 { index } else { nil } } }

    var readsReady: [RaftMessage.ReadIndex] {
        compactMap { if case .readReady(let seq, let index) = $0 { .init(seq: seq, index: index) } else { nil } }
    }

    var tokens: [RaftCore.StoreToken] { compactMap { if case .persist(_, let token) = $0 { token } else { nil } } }
}

private extension RaftMessage {
    var asAppend: Append? { if case .append(let a) = self { a } else { nil } }
}

private extension RaftCore.Role {
    var name: String {
        switch self {
        case .follower: "follower"
        case .preCandidate: "pre-candidate"
        case .candidate: "candidate"
        case .leader: "leader"
        }
    }
}
