import EVCore

/// Raft consensus among the nodes of the cluster (Ongaro & Ousterhout; Maelstrom's chapter 6),
/// shaped for few messages: everything between the leader and a follower rides on one exchange per
/// heartbeat (docs/linkv.md).
///
/// - **Election.** A follower that hears no leader for a randomised timeout first asks for
///   pre-votes (§9.6 of Ongaro's thesis): peers that heard a leader recently refuse, so a node
///   cut off by a partition cannot force an election when it returns. With a majority of pre-votes
///   it starts a real election in the next term; votes go to candidates whose log is at least as
///   up to date (§5.4.1).
/// - **Replication.** Every `heartbeat` the leader sends each follower one append: the entries from
///   that follower's next index (with the consistency check on the entry before them), its commit
///   index, and the read indices confirmed for that follower's reads. The follower's one answer
///   carries its match index (or a hint where its log diverges) and the client requests it has
///   gathered since, which the leader appends (commands) or serves by read index (reads).
/// - **Commit.** An entry is committed once a majority holds it and it is of the leader's current
///   term (§5.4.2); a new leader appends a no-op to commit its predecessors' entries. Every node
///   applies committed entries in order; the node that took the client request answers it.
/// - **Reads** (read index, §6.4 of the thesis): a read is served at the commit index the leader
///   had when the read reached it (at least its no-op's), once a majority has acknowledged an
///   append round that started after that, which proves it was still the leader; the node that
///   took the read answers from its own state once it has applied that far. No lease: a leader
///   paused for seconds and resumed learns of its successor before it can confirm anything.
/// - **Durable mode** (`RaftRecord`): term, vote and every log write are stored before anything
///   that depends on them leaves the node (a vote, an acknowledgement, a leader counting its own
///   entries), and a restarted process replays them before it takes part.
public final class Raft {
    public struct Config: Sendable {
        /// The leader's append round to each follower, also the batching interval of everything.
        public var heartbeat: Micros = .ms(150)
        /// A follower that hears no leader for a random time in [t, 2t) calls for an election.
        public var electionTimeout: Micros = .ms(500)
        public var maxEntriesPerMessage = 500
        public init() {}
    }

    public enum Role: String, Sendable { case follower, candidate, leader }

    public struct Stats: Sendable, Equatable {
        public var elections = 0, termsWon = 0, appendsSent = 0, rejectedAppends = 0, malformed = 0
    }

    public let config: Config
    public private(set) var role = Role.follower
    public private(set) var term = 0
    public private(set) var leader: Int?
    public private(set) var commitIndex = 0
    public private(set) var lastApplied = 0
    public private(set) var stats = Stats()
    private(set) var log = RaftLog()
    private var votedFor: Int?
    /// Set for a process restarted without its log and vote: it may have voted in a term it no
    /// longer knows and acknowledged entries it no longer holds, so it votes for no one (and asks
    /// no one) until a leader has brought its log back.
    public var amnesiac = false
    /// This process: the wall clock (µs) at its start, above every earlier process's of this node.
    /// Messages carry it; the leader echoes the highest it heard from each follower.
    private let incarnation: Int
    private var peerIncarnation: [Int] = []
    /// An amnesiac's peers' terms, each answered to a question of this process by a peer that is
    /// not amnesiac; once all have answered, the highest (see `receiveVoted`).
    private var probedTerms: [Int: Int] = [:]
    private var termFloor: Int?

    /// Read-only views of the log and vote (the simulator's consensus invariants watch them).
    /// The index of the last log entry, 0 for an empty log.
    public var lastLogIndex: Int { log.lastIndex }
    /// The log entry at `index` (1…`lastLogIndex`), nil outside the log.
    public func logEntry(at index: Int) -> RaftEntry? { index >= 1 && index <= log.lastIndex ? log[index] : nil }
    /// The candidate this node voted for in its current term (index in `node_ids`), if any.
    public var vote: Int? { votedFor }

    /// Applies a committed entry to the state machine, once per entry, in log order.
    public var apply: (RaftEntry) -> Void = { _ in }
    /// A read of this node (by its request number) may be served once the state reaches `index`.
    public var readIndexReady: (_ seq: Int, _ index: Int) -> Void = { _, _ in }

    private unowned let node: Node
    private let me: Int
    private let clusterSize: Int
    private var majority: Int { clusterSize / 2 + 1 }
    private let peers: [Int]
    let types: (append: String, appended: String, vote: String, voted: String)
    private var rng: SplitMix64
    private var electionDeadline: Micros = 0
    private var lastLeaderContact: Micros = .min / 2
    private var votes: Set<Int> = []
    private var preVotes: Set<Int> = []

    // The leader's view of each follower, by index in `node_ids`.
    private var nextIndex: [Int] = []
    private var matchIndex: [Int] = []
    private var round = 0
    private var ackedRound: [Int] = []
    private var noopIndex = 0
    private var pendingReads: [(round: Int, index: Int, requester: Int, seq: Int)] = []
    private var confirmedReads: [[(seq: Int, index: Int)]] = []

    /// A follower's client requests gathered for the leader: a command, or nil for a read.
    private var outbox: [(seq: Int, command: JSONValue?)] = []
    private var appliedWaiters: [(index: Int, action: () -> Void)] = []

    /// Durable mode: the store, records not yet handed to it, and the last log index stored.
    private var store: DurableLog<RaftRecord>?
    private var unsaved: [RaftRecord] = []
    private var storedIndex = 0
    /// Durable mode: where each truncation of the log began, in order. A store handed over before a
    /// truncation covers only the entries below it: the ones above were replaced.
    private var truncations: [Int] = []
    /// Durable mode, until the store is replayed: nothing is sent or answered.
    private var recovering = false

    /// Terms and indices above this from a peer are refused: they could only overflow.
    static let maxNumber = Int.max / 4

    public init(node: Node, prefix: String, config: Config, durability: DurabilityConfig = DurabilityConfig()) {
        self.node = node
        self.config = config
        let me = node.index, clusterSize = max(node.nodeIDs.count, 1)
        self.me = me
        incarnation = Int(node.wallClock)
        peerIncarnation = Array(repeating: 0, count: clusterSize)
        self.clusterSize = clusterSize
        peers = (0..<clusterSize).filter { $0 != me }
        types = (prefix + "_append", prefix + "_appended", prefix + "_vote", prefix + "_voted")
        // Deterministic per process (the simulator's clock), different across nodes and restarts.
        rng = SplitMix64(seed: UInt64(truncatingIfNeeded: node.wallClock) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(me + 1) &* 0xBF58_476D_1CE4_E5B9)
        nextIndex = Array(repeating: 1, count: clusterSize)
        matchIndex = Array(repeating: 0, count: clusterSize)
        ackedRound = Array(repeating: 0, count: clusterSize)
        confirmedReads = Array(repeating: [], count: clusterSize)
        resetElectionDeadline()
        store = DurableLog.open(node: node, name: prefix, config: durability, everyNode: false) { [weak self] records in
            self?.restore(records)
        }
        store?.snapshot = { [unowned self] in
            [.hardState(term: self.term, votedFor: self.votedFor)] + (1..<(self.log.lastIndex + 1)).map { .entry(index: $0, self.log[$0]) }
        }
        recovering = store != nil
        if !recovering { start() }
    }

    private func start() {
        scheduleTick()
        if clusterSize == 1 { startElection() }
    }

    /// Replays what earlier processes of this node stored, then takes part.
    private func restore(_ records: [RaftRecord]) {
        for r in records {
            switch r {
            case .hardState(let t, let v):
                term = t
                votedFor = v
            case .entry(let index, let e):
                guard log.restore(e, at: index) else {
                    node.logger.error("stored Raft entry \(index) leaves a gap after \(log.lastIndex); later records skipped")
                    return finishRecovery()
                }
            }
        }
        finishRecovery()
    }

    private func finishRecovery() {
        storedIndex = log.lastIndex
        recovering = false
        node.logger.info("recovered term \(term), \(log.lastIndex) log entries")
        start()
    }

    // MARK: durability

    private func saveHardState() {
        if store != nil { unsaved.append(.hardState(term: term, votedFor: votedFor)) }
    }

    private func saveEntries(_ indices: Range<Int>) {
        guard store != nil else { return }
        for i in indices { unsaved.append(.entry(index: i, log[i])) }
    }

    /// Runs `then` once everything this node's messages may depend on is stored (at once outside
    /// durable mode): what a vote or an acknowledgement promises survives a kill.
    private func durably(_ then: @escaping () -> Void) {
        guard let store else { return then() }
        guard !unsaved.isEmpty else { return store.afterStored(then) }
        let records = unsaved, last = log.lastIndex, truncationsBefore = truncations.count
        unsaved.removeAll()
        store.store(records) { [weak self] in
            guard let self else { return }
            let kept = self.truncations[truncationsBefore...].min().map { $0 - 1 } ?? last
            self.storedIndex = max(self.storedIndex, min(last, kept))
            then()
        }
    }

    // MARK: client requests

    /// Appends `command` (the leader) or gathers it for the leader (anyone else).
    public func submit(seq: Int, _ command: JSONValue) {
        if role == .leader { appendAsLeader(origin: me, seq: seq, command) } else { outbox.append((seq, command)) }
    }

    /// Asks for the read index of read `seq`; `readIndexReady` gets it.
    public func read(seq: Int) {
        if role == .leader { queueRead(requester: me, seq: seq) } else { outbox.append((seq, nil)) }
    }

    /// Takes request `seq` back if it has not left this node; true if it had not (so it can be
    /// refused: it will never take effect).
    public func withdraw(seq: Int) -> Bool {
        guard let i = outbox.firstIndex(where: { $0.seq == seq }) else { return false }
        outbox.remove(at: i)
        return true
    }

    /// Runs `action` once this node has applied the entry at `index`.
    public func afterApplied(_ index: Int, _ action: @escaping () -> Void) {
        if lastApplied >= index { action() } else { appliedWaiters.append((index, action)) }
    }

    // MARK: timing

    /// One timer chain per heartbeat; it ends with this object (a re-init replaces the workload).
    private func scheduleTick() {
        node.after(config.heartbeat) { [weak self] in
            guard let self else { return }
            self.tick()
            self.scheduleTick()
        }
    }

    private func tick() {
        if role == .leader { return broadcastAppends() }
        if amnesiac { askTerms() } // every heartbeat until answered, a leader heard or not
        if node.now >= electionDeadline { startElection() }
    }

    private func resetElectionDeadline() {
        let spread = UInt64(max(config.electionTimeout, 1))
        electionDeadline = node.now + config.electionTimeout + Micros(rng.next() % spread)
    }

    // MARK: elections

    /// Pre-vote first: a real election (a new term) only with a majority that also lost its leader.
    private func startElection() {
        resetElectionDeadline()
        guard !amnesiac else { return }
        preVotes = [me]
        guard clusterSize > 1 else { return becomeCandidate() }
        for p in peers { sendVote(to: p, term: term + 1, pre: true) }
    }

    /// An amnesiac asks every peer its term (a pre-vote for its own term, which grants nothing).
    private func askTerms() {
        guard termFloor == nil, clusterSize > 1 else { return }
        for p in peers where probedTerms[p] == nil { sendVote(to: p, term: term, pre: true) }
    }

    private func becomeCandidate() {
        stats.elections += 1
        term += 1
        role = .candidate
        leader = nil
        votedFor = me
        votes = [me]
        saveHardState()
        resetElectionDeadline()
        if votes.count >= majority { return becomeLeader() }
        let electionTerm = term
        durably { [weak self] in
            guard let self, self.role == .candidate, self.term == electionTerm else { return }
            for p in self.peers { self.sendVote(to: p, term: electionTerm, pre: false) }
        }
    }

    private func sendVote(to peer: Int, term: Int, pre: Bool) {
        let lastIndex = log.lastIndex, lastTerm = log.lastTerm
        node.send(to: node.nodeIDs[peer]) { w in
            w.field("type", types.vote)
            w.field("term", term)
            w.field("last_index", lastIndex)
            w.field("last_term", lastTerm)
            w.field("pre", pre)
            w.field("inc", incarnation)
        }
    }

    private func becomeLeader() {
        stats.termsWon += 1
        role = .leader
        leader = me
        for p in 0..<clusterSize {
            nextIndex[p] = log.lastIndex + 1
            matchIndex[p] = 0
            ackedRound[p] = 0
            confirmedReads[p].removeAll()
        }
        pendingReads.removeAll()
        node.logger.info("leader of term \(term)")
        noopIndex = log.append(RaftEntry(term: term, origin: -1, seq: 0, command: .null))
        saveEntries(noopIndex..<(noopIndex + 1))
        // What this node gathered as a follower is its own now.
        let gathered = outbox
        outbox.removeAll()
        for r in gathered {
            if let command = r.command { appendAsLeader(origin: me, seq: r.seq, command) } else { queueRead(requester: me, seq: r.seq) }
        }
        persistOwnEntries()
        broadcastAppends()
    }

    private func becomeFollower(term newTerm: Int, leader newLeader: Int?) {
        if newTerm > term {
            term = newTerm
            votedFor = nil
            saveHardState()
        }
        if role == .leader {
            // Reads not yet confirmed cannot be: their requesters refuse them when they time out.
            pendingReads.removeAll()
            for p in 0..<clusterSize { confirmedReads[p].removeAll() }
        }
        role = .follower
        leader = newLeader
    }

    // MARK: the leader

    private func appendAsLeader(origin: Int, seq: Int, _ command: JSONValue) {
        let index = log.append(RaftEntry(term: term, origin: origin, seq: seq, command: command))
        saveEntries(index..<(index + 1))
        persistOwnEntries()
    }

    /// The leader counts its own entries toward a majority once they are stored.
    private func persistOwnEntries() {
        guard store != nil else { return advanceCommit() }
        durably { [weak self] in self?.advanceCommit() }
    }

    /// A read is confirmed by the first round sent after it arrived, at the index committed now
    /// (at least this term's no-op, so every earlier term's commits are in).
    private func queueRead(requester: Int, seq: Int) {
        pendingReads.append((round + 1, max(commitIndex, noopIndex), requester, seq))
        confirmReads()
    }

    private func broadcastAppends() {
        round += 1
        for p in peers { sendAppend(to: p) }
        confirmReads()
    }

    private func sendAppend(to p: Int) {
        let prev = min(nextIndex[p] - 1, log.lastIndex)
        let prevTerm = log.term(at: prev) ?? 0
        let entries = log.slice(after: prev, limit: config.maxEntriesPerMessage)
        let reads = confirmedReads[p]
        confirmedReads[p].removeAll()
        let term = term, commit = commitIndex, round = round, inc = peerIncarnation[p]
        stats.appendsSent += 1
        node.send(to: node.nodeIDs[p]) { w in
            w.field("type", types.append)
            w.field("term", term)
            w.field("prev", prev)
            w.field("prev_term", prevTerm)
            w.arrayField("entries") { a in for e in entries { e.write(into: &a) } }
            w.field("commit", commit)
            w.field("round", round)
            w.field("inc", inc)
            if !reads.isEmpty {
                w.arrayField("reads") { a in for r in reads { a.arrayElement { e in e.element(r.seq); e.element(r.index) } } }
            }
        }
    }

    private func advanceCommit() {
        guard role == .leader else { return }
        var matched = matchIndex
        matched[me] = store == nil ? log.lastIndex : storedIndex
        matched.sort(by: >)
        let n = matched[majority - 1]
        if n > commitIndex, log.term(at: n) == term { commit(through: n) }
    }

    /// Reads acknowledged by a majority round (the leader counts for itself) get their index.
    private func confirmReads() {
        guard role == .leader, !pendingReads.isEmpty else { return }
        var ready: [(round: Int, index: Int, requester: Int, seq: Int)] = []
        pendingReads.removeAll { r in
            let acks = 1 + peers.filter { ackedRound[$0] >= r.round }.count
            if acks >= majority { ready.append(r); return true }
            return false
        }
        for r in ready {
            if r.requester == me { readIndexReady(r.seq, r.index) } else { confirmedReads[r.requester].append((r.seq, r.index)) }
        }
    }

    // MARK: receiving

    /// Handles one of the four Raft messages from a peer. Throws for a malformed one.
    public func receive(_ m: Message) throws {
        guard !recovering else { return } // its senders repeat themselves every heartbeat or timeout
        guard let from = node.nodeIDs.firstIndex(of: m.src), from != me else {
            throw ProtocolError.notSupported("\(m.type) from \(m.src), which is not a peer")
        }
        guard let t = m.body["term"].int, t >= 0, t <= Self.maxNumber else { throw malformed(m, "a term") }
        switch m.type {
        case types.append: try receiveAppend(m, from: from, term: t)
        case types.appended: try receiveAppended(m, from: from, term: t)
        case types.vote: try receiveVote(m, from: from, term: t)
        default: try receiveVoted(m, from: from, term: t)
        }
    }

    private func malformed(_ m: Message, _ what: String) -> ProtocolError {
        stats.malformed += 1
        return .malformed("\(m.type) needs \(what)")
    }

    private func receiveAppend(_ m: Message, from: Int, term t: Int) throws {
        guard let prev = m.body["prev"].int, prev >= 0, prev <= Self.maxNumber, let prevTerm = m.body["prev_term"].int,
              let leaderCommit = m.body["commit"].int, let round = m.body["round"].int else {
            throw malformed(m, "prev, prev_term, commit and round")
        }
        var entries: [RaftEntry] = []
        var bad = false
        m.body["entries"].forEachElement { e in if let entry = RaftEntry(json: e), entry.term <= t { entries.append(entry) } else { bad = true } }
        if bad { throw malformed(m, "well-formed entries of terms up to its own") }
        guard t >= term else { return answerAppend(to: from, ok: false, match: 0, round: round) }
        if t > term || role != .follower || leader != from { becomeFollower(term: t, leader: from) }
        lastLeaderContact = node.now
        resetElectionDeadline()
        preVotes.removeAll() // the leader is alive: a pre-vote granted now must start no election
        m.body["reads"].forEachElement { r in
            if let seq = r[0].int, let index = r[1].int, index >= 0 { readIndexReady(seq, min(index, Self.maxNumber)) }
        }
        guard log.term(at: prev) == prevTerm else {
            stats.rejectedAppends += 1
            let hint = prev > log.lastIndex ? log.lastIndex + 1 : max(log.firstIndex(ofTermAt: prev), commitIndex + 1)
            return answerAppend(to: from, ok: false, match: hint, round: round)
        }
        let lastBefore = log.lastIndex
        guard let written = log.merge(after: prev, entries, committed: commitIndex) else {
            throw malformed(m, "entries that agree with the committed log")
        }
        if written.lowerBound <= lastBefore, store != nil { // a truncation: what was stored above it is gone
            storedIndex = min(storedIndex, written.lowerBound - 1)
            truncations.append(written.lowerBound)
        }
        saveEntries(written)
        let last = prev + entries.count
        if leaderCommit > commitIndex { commit(through: min(leaderCommit, last)) }
        // Counted again once it knows a term at least as new as any its predecessors promised in
        // (`termFloor`), and a leader of such a term that has heard of this process has given back
        // its log through a commit of its own term, so through every earlier term's commits.
        if amnesiac, termFloor != nil, m.body["inc"].int == incarnation, last >= leaderCommit, log.term(at: leaderCommit) == t {
            amnesiac = false
        }
        answerAppend(to: from, ok: true, match: last, round: round)
    }

    /// The answer to an append, with the client requests gathered since the last one when the
    /// leader is current (one that was deposed would drop them).
    private func answerAppend(to leader: Int, ok: Bool, match: Int, round: Int) {
        let requests = ok || match > 0 ? outbox : []
        if !requests.isEmpty { outbox.removeAll() }
        let term = term, counts = !amnesiac
        durably { [weak self] in
            self?.sendAppended(to: leader, term: term, ok: ok, match: match, round: round, counts: counts, requests: requests)
        }
    }

    private func sendAppended(to leader: Int, term: Int, ok: Bool, match: Int, round: Int, counts: Bool,
                              requests: [(seq: Int, command: JSONValue?)]) {
        node.send(to: node.nodeIDs[leader]) { w in
            w.field("type", types.appended)
            w.field("term", term)
            w.field("ok", ok)
            w.field("match", match)
            w.field("round", round)
            w.field("inc", incarnation)
            if !counts { w.field("amnesiac", true) }
            if !requests.isEmpty {
                w.arrayField("requests") { a in
                    for r in requests {
                        a.arrayElement { e in
                            e.element(r.seq)
                            if let c = r.command { e.element(c) } else { e.elementNull() }
                        }
                    }
                }
            }
        }
    }

    private func receiveAppended(_ m: Message, from: Int, term t: Int) throws {
        guard let ok = m.body["ok"].bool, let match = m.body["match"].int, match >= 0, let round = m.body["round"].int else {
            throw malformed(m, "ok, match and round")
        }
        if t > term { return becomeFollower(term: t, leader: nil) }
        guard role == .leader, t == term else { return }
        let inc = m.body["inc"].int ?? 0
        guard inc >= peerIncarnation[from] else { return } // from an earlier process of that peer
        if inc > peerIncarnation[from] { // a new process: what the earlier one held no longer counts
            peerIncarnation[from] = inc
            matchIndex[from] = 0
            ackedRound[from] = 0
        }
        // A restarted process without its log counts toward nothing (it may have promised a newer
        // term it forgot); a refusal of an older term's append names a round of another process.
        let counts = m.body["amnesiac"].bool != true
        if counts && (ok || match > 0) { ackedRound[from] = max(ackedRound[from], min(round, self.round)) }
        if ok {
            let held = min(match, log.lastIndex)
            if counts { matchIndex[from] = max(matchIndex[from], held) }
            nextIndex[from] = (counts ? matchIndex[from] : held) + 1
            advanceCommit()
        } else if match > 0 {
            // A hint below what the follower once matched: it was restarted and lost its log.
            matchIndex[from] = min(matchIndex[from], match - 1)
            nextIndex[from] = min(match, log.lastIndex + 1)
        }
        m.body["requests"].forEachElement { r in
            guard let seq = r[0].int else { return }
            if r[1].isNull { queueRead(requester: from, seq: seq) } else if let command = r[1].value {
                appendAsLeader(origin: from, seq: seq, command)
            }
        }
        confirmReads()
    }

    private func receiveVote(_ m: Message, from: Int, term t: Int) throws {
        guard let lastIndex = m.body["last_index"].int, let lastTerm = m.body["last_term"].int, let pre = m.body["pre"].bool else {
            throw malformed(m, "last_index, last_term and pre")
        }
        let upToDate = !amnesiac && log.isBehindOrEqual(lastIndex: lastIndex, lastTerm: lastTerm)
        var granted: Bool
        if pre {
            // Would vote, without changing anything: only if this node's leader is gone too.
            let leaderAlive = role == .leader || node.now - lastLeaderContact < config.electionTimeout
            granted = t > term && upToDate && !leaderAlive
        } else {
            if t > term { becomeFollower(term: t, leader: nil) }
            granted = t == term && (votedFor == nil || votedFor == from) && upToDate
            if granted {
                votedFor = from
                saveHardState()
                resetElectionDeadline()
            }
        }
        let term = pre ? max(t, term) : term, types = types, echo = m.body["inc"].int, amnesiac = amnesiac
        durably { [weak self] in
            guard let self else { return }
            self.node.send(to: self.node.nodeIDs[from]) { w in
                w.field("type", types.voted)
                w.field("term", term)
                w.field("granted", granted)
                w.field("pre", pre)
                if let echo { w.field("inc", echo) }
                if amnesiac { w.field("amnesiac", true) }
            }
        }
    }

    private func receiveVoted(_ m: Message, from: Int, term t: Int) throws {
        guard let granted = m.body["granted"].bool, let pre = m.body["pre"].bool else { throw malformed(m, "granted and pre") }
        if pre && amnesiac {
            // An answer to `askTerms`: a peer's term now, after this process started. Each term
            // a predecessor promised in (a vote, an acknowledgement) is known to the peer it
            // promised or to one that voted with it; unless that peer lost it too (and says it is
            // amnesiac: then this waits, for good if need be), the highest answer is at least as
            // new. This process takes it, with a vote for no one in it.
            guard termFloor == nil, m.body["inc"].int == incarnation, m.body["amnesiac"].bool != true else { return }
            probedTerms[from] = t
            guard probedTerms.count == peers.count else { return }
            let floor = max(term, probedTerms.values.max() ?? 0)
            termFloor = floor
            term = floor
            votedFor = me
            if role != .follower { becomeFollower(term: floor, leader: nil) }
            return
        }
        if pre {
            guard granted, role != .leader, t == term + 1, preVotes.contains(me) else { return }
            preVotes.insert(from)
            if preVotes.count >= majority {
                preVotes.removeAll()
                becomeCandidate()
            }
            return
        }
        if t > term { return becomeFollower(term: t, leader: nil) }
        guard role == .candidate, t == term, granted else { return }
        votes.insert(from)
        if votes.count >= majority { becomeLeader() }
    }

    // MARK: applying

    private func commit(through index: Int) {
        assert(index <= log.lastIndex, "commit past the end of the log")
        commitIndex = max(commitIndex, index)
        while lastApplied < commitIndex {
            lastApplied += 1
            apply(log[lastApplied])
        }
        guard !appliedWaiters.isEmpty else { return }
        let due = appliedWaiters.filter { $0.index <= lastApplied }
        appliedWaiters.removeAll { $0.index <= lastApplied }
        for w in due { w.action() }
    }
}
