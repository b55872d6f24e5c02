import EVCore

/// Raft (Ongaro & Ousterhout) as a pure state machine: each call takes an input and the time and
/// returns what to do (`Effect`s); the driver (`Raft`) owns the node, the timers and the store.
/// Replication is event-driven (docs/linkv.md): a message leaves when there is something to say,
/// and the driver coalesces what becomes ready within `Config.window` into one message per peer.
///
/// - **Election.** A follower that hears no leader for a random time in [t, 2t) asks for pre-votes
///   (§9.6 of Ongaro's thesis), refused by peers that heard a leader recently; with a majority it
///   starts an election in the next term. Votes go to logs at least as up to date (§5.4.1).
/// - **Replication.** The leader sends new entries to the follower that forwarded them, and to as
///   many more as its own waiters need for a majority; the rest catch up on the next message or
///   heartbeat (sent only to a follower that heard nothing for `heartbeat`). A follower answers at
///   once only what the leader asks (`ack`) or refuses; otherwise its answer rides on its next
///   forwarded request.
/// - **Commit.** An index is committed once a majority holds it and its entry is of the leader's
///   term (§5.4.2). The leader also tells each follower `quorum`: the index its own copy and those
///   of the followers it heard from make a majority with the receiver's, so a follower that holds
///   it knows it is committed without another round trip (in three nodes, every entry the leader
///   sends it).
/// - **Reads** (read index, §6.4 of the thesis): served at the leader's last index when the read
///   reached it, once a majority is known to have been in the leader's term after the read began:
///   the leader, the follower that forwarded it (its message was sent after the read arrived), and
///   followers answering a round sent after it. No lease.
/// - **Restarts.** Default mode: a restarted process (`amnesiac`) counts toward nothing until it
///   is safe (see `receiveVoted`, `clearAmnesia`). Durable mode: term, vote and log writes are
///   persisted before anything that depends on them leaves (`sendAfterPersist`).
public struct RaftCore {
    public struct Config: Sendable {
        /// A leader sends a heartbeat to a follower it has sent nothing for this long.
        public var heartbeat: Micros = .ms(250)
        /// A follower that hears no leader for a random time in [t, 2t) calls for an election.
        public var electionTimeout: Micros = .ms(500)
        /// A round the leader waits on, unanswered for this long, goes again to every follower.
        public var retry: Micros = .ms(100)
        /// What becomes ready within this window leaves as one message per peer (0: at once).
        public var window: Micros = .ms(3)
        /// How often the driver calls `tick`.
        public var tickInterval: Micros = .ms(10)
        public var maxEntriesPerMessage = 500
        public init() {}
    }

    public enum Effect: Equatable {
        case send(to: Int, RaftMessage)
        /// Durable mode: store these records, then call `stored(token)`.
        case persist([RaftRecord], StoreToken)
        /// Durable mode: send once everything persisted before this effect is stored.
        case sendAfterPersist(to: Int, RaftMessage)
        /// Apply the committed entry at `index` (once per index, in order).
        case apply(index: Int, RaftEntry)
        /// This node's read `seq` may be served once it has applied `index`.
        case readReady(seq: Int, index: Int)
    }

    /// Which records a `persist` covered: the log's end then, and how many truncations came before.
    public struct StoreToken: Equatable {
        let last: Int
        let truncationsBefore: Int
    }

    /// Each role with its own data.
    public enum Role {
        case follower(leader: Int?)
        /// Asked for pre-votes for the next term; `grants` includes itself.
        case preCandidate(grants: Set<Int>)
        case candidate(votes: Set<Int>)
        case leader(Leadership)
    }

    /// The leader's view of its followers (by index in `node_ids`) and its waiters.
    public struct Leadership {
        /// The highest index known to agree with the leader's log, and the highest sent.
        var match: [Int]
        var sent: [Int]
        var ackedRound: [Int]
        var lastAck: [Micros]
        var lastSent: [Micros]
        /// What each follower can tell is committed from the messages it was sent, and the index
        /// it must learn is (its own entries, its reads' indices).
        var knownCommit: [Int]
        var owed: [Int]
        /// Followers with something to send now, and those asked to answer at once.
        var dirty: Set<Int> = []
        var ackWanted: Set<Int> = []
        /// A follower sent a full message: it gets the next one when it answers.
        var catchingUp: Set<Int> = []
        var round = 0
        /// When the leader last asked for answers, or began to wait without asking.
        var askedAt: Micros = 0
        /// A round the waiters need: how many followers must answer, preferably not those avoided.
        var want: (acks: Int, avoid: Set<Int>)?
        /// The leader waits to learn that this index is committed (its own request, its no-op, a read).
        var waitIndex = 0
        var reads: [PendingRead] = []
        var confirmed: [[RaftMessage.ReadIndex]]

        init(clusterSize: Int, lastIndex: Int) {
            match = Array(repeating: 0, count: clusterSize)
            sent = Array(repeating: lastIndex, count: clusterSize)
            ackedRound = Array(repeating: 0, count: clusterSize)
            lastAck = Array(repeating: .min / 2, count: clusterSize)
            lastSent = Array(repeating: .min / 2, count: clusterSize)
            knownCommit = Array(repeating: 0, count: clusterSize)
            owed = Array(repeating: 0, count: clusterSize)
            confirmed = Array(repeating: [], count: clusterSize)
        }
    }

    struct PendingRead {
        let round: Int, index: Int, requester: Int, seq: Int
        /// The requester's own message confirms it (it was sent after the read began).
        let byRequester: Bool
        let since: Micros
    }

    /// A read not confirmed for this long is dropped: every client has given up on it (Maelstrom's
    /// wait at most 5 s), and a deposed leader cut off from its followers would keep it forever.
    static let readLifetime: Micros = .seconds(10)

    public let config: Config
    public let me: Int
    public let clusterSize: Int
    public var majority: Int { clusterSize / 2 + 1 }
    let peers: [Int]
    let durable: Bool
    /// This process: the wall clock (µs) at its start, above every earlier process's of this node.
    let incarnation: Int

    public private(set) var role = Role.follower(leader: nil)
    public private(set) var term = 0
    public private(set) var votedFor: Int?
    public private(set) var commitIndex = 0
    public private(set) var lastApplied = 0
    private(set) var log = RaftLog()

    /// Set for a process restarted without its log and vote: it may have voted in a term it no
    /// longer knows and acknowledged entries it no longer holds, so it votes for no one (and asks
    /// no one) and its acknowledgements count for nothing until a leader has brought its log back.
    public var amnesiac = false
    private var probedTerms: [Int: Int] = [:]
    private var termFloor: Int?
    private var askTermsAt: Micros = 0
    /// The highest incarnation heard from each peer (the leader echoes it in appends).
    private var peerIncarnation: [Int]
    private var peerAmnesiac: Set<Int> = []

    private var rng: SplitMix64
    private var electionDeadline: Micros = 0
    private var lastLeaderContact: Micros = .min / 2

    // A follower's side of the exchange with its leader.
    /// The highest index known to agree with the current leader's log, and its last round.
    private var matched = 0
    private var roundSeen = 0
    /// Client requests gathered for the leader: a command, or nil for a read.
    private var outbox: [RaftMessage.Request] = []
    /// The leader asked for an answer.
    private var ackOwed = false
    /// Durable mode: a `quorum` commit waiting for this node's own copy to be stored.
    private var quorumCommit: (index: Int, term: Int)?

    // Durable mode.
    private var unsaved: [RaftRecord] = []
    public private(set) var storedIndex = 0
    /// Where each truncation of the log began, in order: a store handed over before a truncation
    /// covers only the entries below it.
    private var truncations: [Int] = []

    private var out: [Effect] = []

    public init(me: Int, clusterSize: Int, config: Config, durable: Bool, incarnation: Int, now: Micros) {
        precondition(clusterSize >= 1 && me >= 0 && me < clusterSize, "node \(me) outside a cluster of \(clusterSize)")
        self.me = me
        self.clusterSize = clusterSize
        self.config = config
        self.durable = durable
        self.incarnation = incarnation
        peers = (0..<clusterSize).filter { $0 != me }
        peerIncarnation = Array(repeating: 0, count: clusterSize)
        // Deterministic per process (the simulator's clock), different across nodes and restarts.
        rng = SplitMix64(seed: UInt64(truncatingIfNeeded: incarnation) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(me + 1) &* 0xBF58_476D_1CE4_E5B9)
        resetElectionDeadline(now)
    }

    // MARK: the log, read-only

    public var lastLogIndex: Int { log.lastIndex }
    public func logEntry(at index: Int) -> RaftEntry? { index >= 1 && index <= log.lastIndex ? log[index] : nil }
    public var leader: Int? {
        switch role {
        case .follower(let l): l
        case .leader: me
        case .preCandidate, .candidate: nil
        }
    }
    public var isLeader: Bool { if case .leader = role { true } else { false } }
    /// What durable mode's snapshot holds: the hard state and every entry.
    public var snapshotRecords: [RaftRecord] {
        [.hardState(term: term, votedFor: votedFor)] + (1..<(log.lastIndex + 1)).map { .entry(index: $0, log[$0]) }
    }

    // MARK: inputs

    /// Replays what earlier processes of this node stored (durable mode), before `start`. Returns
    /// false, keeping what came before, at a record that would leave a gap in the log.
    public mutating func restore(_ records: [RaftRecord]) -> Bool {
        defer { storedIndex = log.lastIndex }
        for r in records {
            switch r {
            case .hardState(let t, let v):
                term = t
                votedFor = v
            case .entry(let index, let e):
                guard log.restore(e, at: index) else { return false }
            }
        }
        return true
    }

    /// Takes part: a node alone elects itself at once; others ask for pre-votes after a tenth of
    /// the election timeout (randomised), since a node just started has heard of no leader. Where
    /// one exists, its followers refuse the pre-votes.
    public mutating func start(now: Micros) -> [Effect] {
        let tenth = max(config.electionTimeout / 10, 1)
        electionDeadline = now + tenth + Micros(rng.next() % UInt64(tenth))
        if clusterSize == 1 { becomeCandidate(now) }
        return finish()
    }

    /// A client command: appended by the leader, gathered for it by anyone else.
    public mutating func submit(seq: Int, _ command: JSONValue, now: Micros) -> [Effect] {
        if isLeader { appendAsLeader(origin: me, seq: seq, command, now) } else { outbox.append(.init(seq: seq, command: command)) }
        return finish()
    }

    /// A read of this node: `readReady` gives its index.
    public mutating func read(seq: Int, now: Micros) -> [Effect] {
        if isLeader { queueRead(requester: me, seq: seq, byRequester: false, now) } else { outbox.append(.init(seq: seq, command: nil)) }
        return finish()
    }

    /// Takes request `seq` back if it has not left this node; true if it had not (so it can be
    /// refused: it will never take effect).
    public mutating func withdraw(seq: Int) -> Bool {
        guard let i = outbox.firstIndex(where: { $0.seq == seq }) else { return false }
        outbox.remove(at: i)
        return true
    }

    /// Whether `flush` has something to send.
    public func wantsFlush(now: Micros) -> Bool {
        switch role {
        case .leader(let l): !l.dirty.isEmpty || l.want != nil
        case .follower(let leader): leader != nil && (ackOwed || forwards(now))
        case .preCandidate, .candidate: false
        }
    }

    /// Requests are forwarded only to a leader heard within the election timeout: one silent for
    /// longer is likely gone, and a request that never left can still be refused (error 11).
    private func forwards(_ now: Micros) -> Bool {
        !outbox.isEmpty && now - lastLeaderContact < config.electionTimeout
    }

    /// Sends what became ready since the last flush: one message per peer.
    public mutating func flush(now: Micros) -> [Effect] {
        switch role {
        case .leader(var l):
            sendRound(&l, now)
            for p in l.dirty.sorted() { sendAppend(to: p, &l, now) }
            l.dirty.removeAll()
            l.ackWanted.removeAll()
            role = .leader(l)
        case .follower(let leader?) where ackOwed || forwards(now):
            sendAppended(to: leader, ok: true, match: matched, round: roundSeen, requests: forwards(now) ? takeOutbox() : [])
            ackOwed = false
        default:
            break
        }
        return finish()
    }

    /// Timers: elections, heartbeats, retries of unanswered rounds.
    public mutating func tick(now: Micros) -> [Effect] {
        if case .leader(var l) = role {
            leaderTick(&l, now)
            role = .leader(l)
            return finish()
        }
        if amnesiac && now >= askTermsAt { askTerms(now) } // until answered, a leader heard or not
        if now >= electionDeadline { startElection(now) }
        return finish()
    }

    /// Durable mode: the records of `token` are stored.
    public mutating func stored(_ token: StoreToken, now: Micros) -> [Effect] {
        let kept = truncations[token.truncationsBefore...].min().map { $0 - 1 } ?? token.last
        storedIndex = max(storedIndex, min(token.last, kept))
        if case .leader(var l) = role {
            advanceCommit(&l)
            notify(&l)
            role = .leader(l)
        } else if let q = quorumCommit, q.term == term, storedIndex >= q.index, log.term(at: q.index) == q.term {
            quorumCommit = nil
            commit(through: q.index)
        }
        return finish()
    }

    /// A message from peer `from`.
    public mutating func step(_ message: RaftMessage, from: Int, now: Micros) -> [Effect] {
        precondition(from != me && from >= 0 && from < clusterSize, "message from \(from), not a peer")
        switch message {
        case .append(let a): receiveAppend(a, from: from, now)
        case .appended(let a): receiveAppended(a, from: from, now)
        case .vote(let v): receiveVote(v, from: from, now)
        case .voted(let v): receiveVoted(v, from: from, now)
        }
        return finish()
    }

    // MARK: effects and invariants

    private var checkedTerm = 0, checkedVote: Int?, checkedCommit = 0

    /// Hands over the effects of one input, after checking the invariants every transition keeps.
    private mutating func finish() -> [Effect] {
        persistUnsaved()
        assert(commitIndex <= log.lastIndex, "commit index \(commitIndex) past the log's end \(log.lastIndex)")
        assert(lastApplied <= commitIndex, "applied \(lastApplied) past the commit index \(commitIndex)")
        assert(commitIndex >= checkedCommit, "commit index went back from \(checkedCommit) to \(commitIndex)")
        assert(term >= checkedTerm, "term went back from \(checkedTerm) to \(term)")
        assert(term > checkedTerm || checkedVote == nil || checkedVote == votedFor, "two votes in term \(term)")
        checkedTerm = term
        checkedVote = votedFor
        checkedCommit = commitIndex
        defer { out.removeAll() }
        return out
    }

    private mutating func persistUnsaved() {
        guard durable, !unsaved.isEmpty else { return }
        out.append(.persist(unsaved, StoreToken(last: log.lastIndex, truncationsBefore: truncations.count)))
        unsaved.removeAll()
    }

    /// A message whose promise (a vote, holding entries) must survive a kill: in durable mode it
    /// leaves once everything before it is stored.
    private mutating func sendDurably(to peer: Int, _ m: RaftMessage) {
        guard durable else { return out.append(.send(to: peer, m)) }
        persistUnsaved()
        out.append(.sendAfterPersist(to: peer, m))
    }

    private mutating func saveHardState() {
        if durable { unsaved.append(.hardState(term: term, votedFor: votedFor)) }
    }

    private mutating func saveEntries(_ indices: Range<Int>) {
        guard durable else { return }
        for i in indices { unsaved.append(.entry(index: i, log[i])) }
    }

    /// The last index this node may count as its own copy: stored ones in durable mode.
    private var heldIndex: Int { durable ? storedIndex : log.lastIndex }

    // MARK: elections

    private mutating func resetElectionDeadline(_ now: Micros) {
        let spread = UInt64(max(config.electionTimeout, 1))
        electionDeadline = now + config.electionTimeout + Micros(rng.next() % spread)
    }

    /// Pre-vote first: a real election (a new term) only with a majority that also lost its leader.
    private mutating func startElection(_ now: Micros) {
        resetElectionDeadline(now)
        guard !amnesiac else { return }
        guard clusterSize > 1 else { return becomeCandidate(now) }
        role = .preCandidate(grants: [me])
        for p in peers { out.append(.send(to: p, voteRequest(term: term + 1, pre: true))) }
    }

    private func voteRequest(term: Int, pre: Bool) -> RaftMessage {
        .vote(.init(term: term, lastIndex: log.lastIndex, lastTerm: log.lastTerm, pre: pre, inc: incarnation))
    }

    /// An amnesiac asks every peer its term (a pre-vote for its own term, which grants nothing).
    private mutating func askTerms(_ now: Micros) {
        askTermsAt = now + config.heartbeat
        guard termFloor == nil, clusterSize > 1 else { return }
        for p in peers where probedTerms[p] == nil { out.append(.send(to: p, voteRequest(term: term, pre: true))) }
    }

    private mutating func becomeCandidate(_ now: Micros) {
        term += 1
        votedFor = me
        saveHardState()
        resetElectionDeadline(now)
        role = .candidate(votes: [me])
        if majority == 1 { return becomeLeader(now) }
        for p in peers { sendDurably(to: p, voteRequest(term: term, pre: false)) }
    }

    private mutating func becomeLeader(_ now: Micros) {
        var l = Leadership(clusterSize: clusterSize, lastIndex: log.lastIndex)
        l.askedAt = now
        if case .candidate(let votes) = role { for p in votes where p != me { l.lastAck[p] = now } } // heard just now
        let noop = log.append(RaftEntry(term: term, origin: -1, seq: 0, command: .null))
        saveEntries(noop..<(noop + 1))
        wait(&l, for: noop, now)
        // What this node gathered as a follower is its own now.
        let gathered = outbox
        outbox.removeAll()
        role = .leader(l)
        for r in gathered {
            if let command = r.command { appendAsLeader(origin: me, seq: r.seq, command, now) } else {
                queueRead(requester: me, seq: r.seq, byRequester: false, now)
            }
        }
        guard case .leader(var led) = role else { return }
        if !durable { advanceCommit(&led) }
        role = .leader(led)
    }

    private mutating func becomeFollower(term newTerm: Int, leader newLeader: Int?) {
        if newTerm > term {
            term = newTerm
            votedFor = nil
            saveHardState()
            matched = 0
            roundSeen = 0
            quorumCommit = nil
        }
        // A deposed leader's unconfirmed reads cannot be: their requesters refuse them in time.
        role = .follower(leader: newLeader)
    }

    private mutating func receiveVote(_ v: RaftMessage.Vote, from: Int, _ now: Micros) {
        let upToDate = !amnesiac && log.isBehindOrEqual(lastIndex: v.lastIndex, lastTerm: v.lastTerm)
        var granted: Bool
        if v.pre {
            // Would vote, without changing anything: only if this node's leader is gone too.
            let leaderAlive = isLeader || now - lastLeaderContact < config.electionTimeout
            granted = v.term > term && upToDate && !leaderAlive
        } else {
            if v.term > term { becomeFollower(term: v.term, leader: nil) }
            granted = v.term == term && (votedFor == nil || votedFor == from) && upToDate
            if granted {
                votedFor = from
                saveHardState()
                resetElectionDeadline(now)
            }
        }
        // A pre-vote granted names the term asked for; any refusal names this node's own term, so
        // an asker behind it catches up instead of asking again and again.
        let answer = RaftMessage.voted(.init(term: v.pre && granted ? v.term : term, granted: granted, pre: v.pre,
                                             inc: v.inc, amnesiac: amnesiac))
        sendDurably(to: from, answer)
    }

    private mutating func receiveVoted(_ v: RaftMessage.Voted, from: Int, _ now: Micros) {
        if v.pre && amnesiac {
            // An answer to `askTerms`: a peer's term now, after this process started. Each term
            // a predecessor promised in (a vote, an acknowledgement) is known to the peer it
            // promised or to one that voted with it; unless that peer lost it too (and says it is
            // amnesiac: then this waits, for good if need be), the highest answer is at least as
            // new. This process takes it, with its vote spent in it.
            guard termFloor == nil, v.inc == incarnation, !v.amnesiac else { return }
            probedTerms[from] = v.term
            guard probedTerms.count == peers.count else { return }
            let floor = max(term, probedTerms.values.max() ?? 0)
            termFloor = floor
            if floor > term { becomeFollower(term: floor, leader: nil) }
            votedFor = me
            saveHardState()
            if case .follower = role {} else { becomeFollower(term: floor, leader: nil) }
            return
        }
        if v.pre {
            if !v.granted && v.term > term { return becomeFollower(term: v.term, leader: nil) }
            guard v.granted, case .preCandidate(var grants) = role, v.term == term + 1 else { return }
            grants.insert(from)
            role = .preCandidate(grants: grants)
            if grants.count >= majority { becomeCandidate(now) }
            return
        }
        if v.term > term { return becomeFollower(term: v.term, leader: nil) }
        guard v.granted, v.term == term, case .candidate(var votes) = role else { return }
        votes.insert(from)
        role = .candidate(votes: votes)
        if votes.count >= majority { becomeLeader(now) }
    }

    // MARK: the leader

    private mutating func appendAsLeader(origin: Int, seq: Int, _ command: JSONValue, _ now: Micros) {
        guard case .leader(var l) = role else { preconditionFailure("only a leader appends") }
        noteWaiting(&l, now)
        let index = log.append(RaftEntry(term: term, origin: origin, seq: seq, command: command))
        saveEntries(index..<(index + 1))
        if origin == me {
            wait(&l, for: index, now)
        } else {
            // The origin tells its entry committed from `quorum` once majority − 2 others hold it
            // (none in three nodes: the append that carries it is enough).
            l.owed[origin] = max(l.owed[origin], index)
            ask(&l, acks: majority - 2, avoiding: origin, now)
        }
        if !durable { advanceCommit(&l) }
        notify(&l)
        role = .leader(l)
    }

    /// The leader must learn that `index` is committed: it asks for answers.
    private func wait(_ l: inout Leadership, for index: Int, _ now: Micros) {
        if index > l.waitIndex { l.waitIndex = index }
        ask(&l, acks: majority - 1, avoiding: nil, now)
    }

    /// Asks for a round that `acks` followers answer, preferably not `avoided` (whose answer is
    /// counted already or would not count).
    private func ask(_ l: inout Leadership, acks: Int, avoiding avoided: Int?, _ now: Micros) {
        guard acks > 0 else { return }
        var want = l.want ?? (0, [])
        want.acks = max(want.acks, acks)
        if let avoided { want.avoid.insert(avoided) }
        l.want = want
    }

    /// Called before a waiter is added: the retry clock starts when the leader begins to wait.
    private func noteWaiting(_ l: inout Leadership, _ now: Micros) {
        if !isWaiting(l) { l.askedAt = now }
    }

    private func isWaiting(_ l: Leadership) -> Bool {
        l.waitIndex > commitIndex || !l.reads.isEmpty || peers.contains { l.owed[$0] > l.knownCommit[$0] }
    }

    /// Followers that can now tell their owed index is committed (from the commit index or
    /// `quorum`) and were not told get a message.
    private func notify(_ l: inout Leadership) {
        for p in peers where l.owed[p] > l.knownCommit[p] && (commitIndex >= l.owed[p] || quorum(with: p, l) >= l.owed[p]) {
            l.dirty.insert(p)
        }
    }

    /// A read is served at the leader's last index when it arrives (through every write
    /// acknowledged before, including those only a follower knows committed), once a majority is
    /// known to have been in this term after that.
    private mutating func queueRead(requester: Int, seq: Int, byRequester: Bool, _ now: Micros) {
        guard case .leader(var l) = role else { preconditionFailure("only a leader queues reads") }
        noteWaiting(&l, now)
        let index = log.lastIndex
        l.reads.append(PendingRead(round: l.round + 1, index: index, requester: requester, seq: seq, byRequester: byRequester, since: now))
        if requester == me {
            wait(&l, for: index, now)
        } else {
            ask(&l, acks: majority - 1 - (byRequester ? 1 : 0), avoiding: requester, now)
        }
        confirmReads(&l)
        role = .leader(l)
    }

    /// Reads confirmed by a majority get their index: the leader's own at once, a follower's in
    /// its next append.
    private mutating func confirmReads(_ l: inout Leadership) {
        guard !l.reads.isEmpty else { return }
        var ready: [PendingRead] = []
        l.reads.removeAll { r in
            var acks = 1 + (r.byRequester ? 1 : 0)
            for p in peers where l.ackedRound[p] >= r.round && !(r.byRequester && p == r.requester) { acks += 1 }
            if acks >= majority { ready.append(r); return true }
            return false
        }
        for r in ready {
            if r.requester == me { out.append(.readReady(seq: r.seq, index: r.index)) } else {
                l.confirmed[r.requester].append(.init(seq: r.seq, index: r.index))
                l.owed[r.requester] = max(l.owed[r.requester], r.index)
                l.dirty.insert(r.requester)
            }
        }
    }

    /// Commits what a majority holds, if the entry is of this term.
    private mutating func advanceCommit(_ l: inout Leadership) {
        let n = majorityIndex(l)
        guard n > commitIndex else { return }
        commit(through: n)
        confirmReads(&l)
    }

    /// The index committed once follower `p` holds it: where the leader's own copy and the
    /// followers it heard from reach a majority with `p`'s (0 if that is not of this term).
    private func quorum(with p: Int, _ l: Leadership) -> Int { majorityIndex(l, holding: p) }

    /// The highest index a majority holds, if its entry is of this term (else 0): the leader's own
    /// copy (stored, in durable mode), the followers' counted matches and, given `p`, follower `p`
    /// as if it held everything.
    private func majorityIndex(_ l: Leadership, holding p: Int? = nil) -> Int {
        var held = l.match
        held[me] = heldIndex
        if let p { held[p] = .max }
        held.sort(by: >)
        let n = held[majority - 1]
        return n < .max && log.term(at: n) == term ? n : 0
    }

    /// A round for the waiters that need one: asks the followers most likely to answer.
    private mutating func sendRound(_ l: inout Leadership, _ now: Micros) {
        guard let want = l.want else { return }
        l.want = nil
        guard isWaiting(l) else { return }
        // Followers heard lately first (likely to answer), then those with a message due anyway,
        // then the one sent nothing for longest (the round spares it a heartbeat).
        let lastAck = l.lastAck, recently = now - config.heartbeat
        let responsive = Set(peers.filter { !want.avoid.contains($0) && !peerAmnesiac.contains($0) && lastAck[$0] > recently })
        let chosen = peers.sorted { a, b in
            if responsive.contains(a) != responsive.contains(b) { return responsive.contains(a) }
            if l.dirty.contains(a) != l.dirty.contains(b) { return l.dirty.contains(a) }
            return l.lastSent[a] < l.lastSent[b]
        }.prefix(want.acks)
        startRound(&l, to: chosen, now)
    }

    private mutating func startRound(_ l: inout Leadership, to followers: some Sequence<Int>, _ now: Micros) {
        l.round += 1
        l.askedAt = now
        for p in followers {
            l.dirty.insert(p)
            l.ackWanted.insert(p)
        }
    }

    private mutating func sendAppend(to p: Int, _ l: inout Leadership, _ now: Micros) {
        let prev = min(l.sent[p], log.lastIndex)
        let entries = Array(log.slice(after: prev, limit: config.maxEntriesPerMessage))
        let last = prev + entries.count
        let full = entries.count == config.maxEntriesPerMessage && last < log.lastIndex
        if full { l.catchingUp.insert(p) } else { l.catchingUp.remove(p) }
        let q = quorum(with: p, l)
        let ack = l.ackWanted.contains(p) || full
        let reads = l.confirmed[p]
        l.confirmed[p].removeAll()
        l.sent[p] = last
        l.lastSent[p] = now
        l.knownCommit[p] = max(l.knownCommit[p], min(commitIndex, last), min(q, last))
        out.append(.send(to: p, .append(.init(term: term, prev: prev, prevTerm: log.term(at: prev) ?? 0, entries: entries,
                                              commit: commitIndex, quorum: q, round: l.round, inc: peerIncarnation[p],
                                              ack: ack, reads: reads))))
    }

    private mutating func leaderTick(_ l: inout Leadership, _ now: Micros) {
        l.reads.removeAll { now - $0.since > Self.readLifetime }
        if isWaiting(l) && now - l.askedAt >= config.retry {
            // Unanswered: every follower is asked, and sent again what it has not confirmed.
            for p in peers { l.sent[p] = min(l.sent[p], l.match[p]) }
            startRound(&l, to: peers, now)
        }
        for p in peers where now - l.lastSent[p] >= config.heartbeat { l.dirty.insert(p) }
    }

    private mutating func receiveAppended(_ a: RaftMessage.Appended, from p: Int, _ now: Micros) {
        if a.term > term { return becomeFollower(term: a.term, leader: nil) }
        guard case .leader(var l) = role, a.term == term else { return }
        defer { role = .leader(l) }
        guard a.inc >= peerIncarnation[p] else { return } // from an earlier process of that peer
        if a.inc > peerIncarnation[p] { // a new process: what the earlier one held no longer counts
            peerIncarnation[p] = a.inc
            l.match[p] = 0
            l.ackedRound[p] = 0
            l.knownCommit[p] = 0
        }
        if a.amnesiac { peerAmnesiac.insert(p) } else { peerAmnesiac.remove(p) }
        // A restarted process without its log counts toward nothing (it may have promised a newer
        // term it forgot); a refusal of an older term's append names a round of another process.
        let counts = !a.amnesiac
        if a.ok || a.match > 0 {
            l.lastAck[p] = now
            if counts { l.ackedRound[p] = max(l.ackedRound[p], min(a.round, l.round)) }
        }
        if a.ok {
            let held = min(a.match, log.lastIndex)
            if counts { l.match[p] = max(l.match[p], held) }
            l.sent[p] = max(l.sent[p], counts ? l.match[p] : held)
            if l.catchingUp.contains(p) { l.dirty.insert(p) }
            advanceCommit(&l)
            notify(&l)
        } else if a.match > 0 {
            // A hint below what the follower once matched: it was restarted and lost its log.
            l.match[p] = min(l.match[p], a.match - 1)
            l.sent[p] = min(a.match, log.lastIndex + 1) - 1
            l.knownCommit[p] = min(l.knownCommit[p], l.sent[p])
            l.dirty.insert(p)
        }
        role = .leader(l)
        for r in a.requests {
            if let command = r.command { appendAsLeader(origin: p, seq: r.seq, command, now) } else {
                queueRead(requester: p, seq: r.seq, byRequester: counts, now)
            }
        }
        guard case .leader(let led) = role else { preconditionFailure("requests deposed the leader") }
        l = led
        confirmReads(&l)
    }

    // MARK: a follower

    private mutating func receiveAppend(_ a: RaftMessage.Append, from: Int, _ now: Micros) {
        guard a.term >= term else {
            return out.append(.send(to: from, .appended(.init(term: term, ok: false, match: 0, round: a.round, inc: incarnation,
                                                              amnesiac: amnesiac, requests: []))))
        }
        if a.term > term || leader != from || isLeader { becomeFollower(term: a.term, leader: from) }
        lastLeaderContact = now
        resetElectionDeadline(now) // also ends a pre-vote: a grant arriving now starts no election
        roundSeen = max(roundSeen, a.round)
        for r in a.reads { out.append(.readReady(seq: r.seq, index: r.index)) }
        guard log.term(at: a.prev) == a.prevTerm else {
            let hint = a.prev > log.lastIndex ? log.lastIndex + 1 : max(log.firstIndex(ofTermAt: a.prev), commitIndex + 1)
            return sendDurably(to: from, .appended(.init(term: term, ok: false, match: hint, round: a.round, inc: incarnation,
                                                         amnesiac: amnesiac, requests: takeOutbox())))
        }
        let lastBefore = log.lastIndex
        guard let written = log.merge(after: a.prev, a.entries, committed: commitIndex) else {
            // Only a broken or lying peer contradicts the committed log: dropped, nothing changes.
            return
        }
        if written.lowerBound <= lastBefore { // a truncation: what was stored above it is gone
            matched = min(matched, written.lowerBound - 1)
            if durable {
                storedIndex = min(storedIndex, written.lowerBound - 1)
                truncations.append(written.lowerBound)
            }
        }
        saveEntries(written)
        let last = a.prev + a.entries.count
        matched = max(matched, last)
        if a.commit > commitIndex { commit(through: min(a.commit, matched)) }
        commitByQuorum(min(a.quorum, matched))
        clearAmnesia(a, last: last)
        if a.ack { ackOwed = true }
    }

    /// `quorum`: the leader and the followers it heard from hold `index`; with this node's own
    /// copy (stored, in durable mode) that is a majority.
    private mutating func commitByQuorum(_ index: Int) {
        guard !amnesiac, index > commitIndex, log.term(at: index) == term else { return }
        if !durable || storedIndex >= index { return commit(through: index) }
        quorumCommit = (index, term)
    }

    /// Counted again once it knows a term at least as new as any its predecessors promised in
    /// (`termFloor`), and a leader of such a term that has heard of this process has given back
    /// its log through a commit of its own term, so through every earlier term's commits.
    private mutating func clearAmnesia(_ a: RaftMessage.Append, last: Int) {
        if amnesiac, termFloor != nil, a.inc == incarnation, last >= a.commit, log.term(at: a.commit) == a.term {
            amnesiac = false
        }
    }

    /// The requests gathered for the leader, when a message goes to it anyway.
    private mutating func takeOutbox() -> [RaftMessage.Request] {
        defer { outbox.removeAll() }
        return outbox
    }

    private mutating func sendAppended(to leader: Int, ok: Bool, match: Int, round: Int, requests: [RaftMessage.Request]) {
        sendDurably(to: leader, .appended(.init(term: term, ok: ok, match: match, round: round, inc: incarnation,
                                                amnesiac: amnesiac, requests: requests)))
    }

    // MARK: applying

    private mutating func commit(through index: Int) {
        precondition(index <= log.lastIndex, "commit past the end of the log")
        commitIndex = max(commitIndex, index)
        while lastApplied < commitIndex {
            lastApplied += 1
            out.append(.apply(index: lastApplied, log[lastApplied]))
        }
    }
}
