import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// What `ConsensusInvariants` reads of one Raft process: `Raft` itself, or a test's hand-built
/// state.
public protocol ConsensusStateView: AnyObject {
    var role: Raft.Role { get }
    var term: Int { get }
    var commitIndex: Int { get }
    var lastApplied: Int { get }
    var lastLogIndex: Int { get }
    /// The identity of the log entry at `index` (1…`lastLogIndex`).
    func entryID(at index: Int) -> ConsensusInvariants.EntryID?
}

extension Raft: ConsensusStateView {
    public func entryID(at index: Int) -> ConsensusInvariants.EntryID? {
        logEntry(at: index).map { ConsensusInvariants.EntryID(term: $0.term, origin: $0.origin, seq: $0.seq, command: $0.command.hashValue) }
    }
}

/// Raft's safety properties (Ongaro & Ousterhout, figure 3), checked after every message and
/// timer run of every node process (docs/evsim.md, "Consensus invariants"). The lin-kv and
/// txn-list-append models install it in `watch` and report it with their invariants.
///
/// Each event changes one process, so each check looks at that process only, and at what changed
/// in it since its last event: new log entries (found from the end of the log), a higher commit
/// index, newly applied entries, a new term as leader. What the checks remember (leaders by term,
/// the first entry seen at each index and term, the first committed and applied entry at each
/// index) is global and outlives killed processes; what each process's own history must satisfy
/// (commit index never decreasing) starts again with a new process.
public final class ConsensusInvariants {
    /// A log entry's identity: its term, origin and request number, and its command's hash.
    public struct EntryID: Hashable, Sendable, CustomStringConvertible {
        public let term: Int, origin: Int, seq: Int, command: Int
        public init(term: Int, origin: Int, seq: Int, command: Int) {
            self.term = term
            self.origin = origin
            self.seq = seq
            self.command = command
        }
        public var description: String {
            origin < 0 && seq == 0 ? "term \(term) no-op" : "term \(term) entry \(origin):\(seq)"
        }
    }

    public enum Invariant: String, CaseIterable, Sendable {
        case electionSafety = "raft: at most one leader per term"
        case logMatching = "raft: logs with an entry of the same index and term agree up to it"
        case leaderCompleteness = "raft: every leader holds every entry committed in an earlier term"
        case stateMachineSafety = "raft: every node applies the same entry at each index"
        case commitMonotonic = "raft: a process's commit index never decreases and its committed entries never change"
    }

    public struct Violation: Sendable, Equatable {
        public let invariant: Invariant
        public let at: Micros
        public let node: String
        public let detail: String
    }

    /// What it remembers of one process (one Raft object).
    private final class Process {
        let view: ConsensusStateView
        let serial: Int
        /// Identities of the log as last seen (index 0 a sentinel).
        var log: [EntryID?] = [nil]
        var commitIndex = 0
        var lastApplied = 0
        var leaderOfTerm: Int?
        var events = 0
        init(view: ConsensusStateView, serial: Int) {
            self.view = view
            self.serial = serial
        }
    }

    private struct Seen { let id: EntryID; let prevTerm: Int; let node: String; let at: Micros }
    private struct Decided { let id: EntryID; let term: Int; let node: String; let at: Micros }

    /// The current process of each node.
    private var processes: [String: Process] = [:]
    private var nextSerial = 0
    /// term → the process that led it (node, serial, time).
    private var leaders: [Int: (node: String, serial: Int, at: Micros)] = [:]
    /// (index, term) → the first entry seen there and the term of the entry before it.
    private var seen: [IndexTerm: Seen] = [:]
    /// index − 1 → the first entry committed there (by any process) and the committing term.
    private var committed: [Decided] = []
    /// index − 1 → the first entry applied there.
    private var applied: [Decided] = []
    public private(set) var violations: [Violation] = []
    private var counts: [Invariant: Int] = [:]
    public private(set) var events = 0, elections = 0

    /// A full comparison of a process's log with what was last seen of it, every this many of its
    /// events (otherwise only the changed tail is found, from the end).
    public var fullScanInterval = 256
    /// Violations kept per invariant (all are counted).
    public var keepPerInvariant = 5

    private struct IndexTerm: Hashable { let index: Int, term: Int }

    public init() {}

    /// Watches every node process of `cluster` after each of its events; `raft` finds a process's
    /// Raft (nil for a process without one yet, e.g. before init).
    public func watch(_ cluster: Cluster, raft: @escaping (SimNode) -> ConsensusStateView?) {
        cluster.addObserver { [unowned self] process in
            guard let view = raft(process) else { return }
            self.observe(node: process.id, view, at: process.now)
        }
    }

    /// Checks node `node`'s process `view` after one of its events at `time`. A different object
    /// than last time for the node is a new process (a restart or a re-init).
    public func observe(node: String, _ view: ConsensusStateView, at time: Micros) {
        events += 1
        let p: Process
        if let known = processes[node], known.view === view {
            p = known
        } else {
            p = Process(view: view, serial: nextSerial)
            nextSerial += 1
            processes[node] = p
        }
        p.events += 1
        checkLog(p, node: node, at: time, full: p.events % fullScanInterval == 0)
        checkLeader(p, node: node, at: time)
        checkCommit(p, node: node, at: time)
        checkApplied(p, node: node, at: time)
    }

    /// A full comparison of every watched process's log with what was last seen (the end of a run).
    public func finish(at time: Micros) {
        for (node, p) in processes.sorted(by: { $0.key < $1.key }) { checkLog(p, node: node, at: time, full: true) }
    }

    private func violate(_ invariant: Invariant, _ node: String, _ time: Micros, _ detail: String) {
        counts[invariant, default: 0] += 1
        if counts[invariant]! <= keepPerInvariant { violations.append(Violation(invariant: invariant, at: time, node: node, detail: detail)) }
    }

    // MARK: the checks

    /// Finds the entries that changed since the process's last event and checks each new one
    /// against the first entry seen at its index and term (log matching: same entry, same term
    /// before it, so by induction the same log up to it); an entry at or below the commit index
    /// the process had that changed or vanished breaks commit monotonicity.
    private func checkLog(_ p: Process, node: String, at time: Micros, full: Bool) {
        let view = p.view, last = view.lastLogIndex
        var unchanged = min(last, p.log.count - 1)
        if full {
            // The longest prefix that is still the same.
            var i = 1
            while i <= unchanged, view.entryID(at: i) == p.log[i] { i += 1 }
            unchanged = i - 1
        } else {
            // From the end: in a log that only changes at its tail this stops at once.
            while unchanged >= 1, view.entryID(at: unchanged) != p.log[unchanged] { unchanged -= 1 }
        }
        if unchanged < p.log.count - 1, unchanged + 1 <= p.commitIndex {
            let was = p.log[unchanged + 1].map { "\($0)" } ?? "?"
            let now = view.entryID(at: unchanged + 1).map { "\($0)" } ?? "nothing"
            violate(.commitMonotonic, node, time, "committed entry \(unchanged + 1) (commit index \(p.commitIndex)) changed from \(was) to \(now)")
        }
        guard unchanged < last || unchanged < p.log.count - 1 else { return }
        p.log.removeSubrange((unchanged + 1)...)
        guard unchanged < last else { return }
        var prevTerm = unchanged == 0 ? 0 : (p.log[unchanged]?.term ?? 0)
        for index in (unchanged + 1)...last {
            guard let id = view.entryID(at: index) else { break }
            p.log.append(id)
            let key = IndexTerm(index: index, term: id.term)
            if let first = seen[key] {
                if first.id != id {
                    violate(.logMatching, node, time, "entry \(index) is \(id), but \(first.node) had \(first.id) there at \(Self.seconds(first.at))")
                } else if first.prevTerm != prevTerm {
                    violate(.logMatching, node, time, "entry \(index) (\(id)) follows an entry of term \(prevTerm), but on \(first.node) at \(Self.seconds(first.at)) one of term \(first.prevTerm)")
                }
            } else {
                seen[key] = Seen(id: id, prevTerm: prevTerm, node: node, at: time)
            }
            prevTerm = id.term
        }
    }

    /// A process that is leader of a term it did not lead at its last event was just elected:
    /// no other process may have led that term, and its log must hold every entry committed in
    /// an earlier term.
    private func checkLeader(_ p: Process, node: String, at time: Micros) {
        let view = p.view
        guard view.role == .leader else { p.leaderOfTerm = nil; return }
        let term = view.term
        guard p.leaderOfTerm != term else { return }
        p.leaderOfTerm = term
        elections += 1
        if let other = leaders[term] {
            if other.serial != p.serial {
                let who = other.node == node ? "an earlier process of \(node)" : other.node
                violate(.electionSafety, node, time, "leader of term \(term), which \(who) led from \(Self.seconds(other.at))")
            }
        } else {
            leaders[term] = (node, p.serial, time)
        }
        var missing: [String] = []
        var count = 0
        for (i, c) in committed.enumerated() where c.term < term {
            let index = i + 1
            guard view.entryID(at: index) != c.id else { continue }
            count += 1
            if missing.count < 3 {
                let has = view.entryID(at: index).map { "\($0)" } ?? "nothing"
                missing.append("entry \(index) committed in term \(c.term) (\(c.id), \(c.node) at \(Self.seconds(c.at))) but it has \(has)")
            }
        }
        if count > 0 {
            violate(.leaderCompleteness, node, time, "leader of term \(term) lacks \(count) committed entr\(count == 1 ? "y" : "ies"): " + missing.joined(separator: "; "))
        }
    }

    /// The commit index never decreases within a process; newly committed entries are recorded
    /// (with the committing process's term) for leader completeness.
    private func checkCommit(_ p: Process, node: String, at time: Micros) {
        let view = p.view, commit = view.commitIndex
        if commit < p.commitIndex {
            violate(.commitMonotonic, node, time, "commit index went from \(p.commitIndex) to \(commit)")
        } else if commit > p.commitIndex {
            for index in (p.commitIndex + 1)...commit where index == committed.count + 1 {
                guard let id = view.entryID(at: index) else { break }
                committed.append(Decided(id: id, term: view.term, node: node, at: time))
            }
        }
        p.commitIndex = commit
    }

    /// Every entry a process applies is the one first applied at that index anywhere; the applied
    /// index never decreases within a process either.
    private func checkApplied(_ p: Process, node: String, at time: Micros) {
        let view = p.view, now = view.lastApplied
        if now < p.lastApplied {
            violate(.commitMonotonic, node, time, "applied index went from \(p.lastApplied) to \(now)")
        } else if now > p.lastApplied {
            for index in (p.lastApplied + 1)...now {
                guard let id = view.entryID(at: index) else {
                    violate(.stateMachineSafety, node, time, "applied entry \(index) is not in its log (last index \(view.lastLogIndex))")
                    break
                }
                if index <= applied.count {
                    let first = applied[index - 1]
                    if first.id != id {
                        violate(.stateMachineSafety, node, time, "applied \(id) at index \(index), but \(first.node) applied \(first.id) there at \(Self.seconds(first.at))")
                    }
                } else {
                    applied.append(Decided(id: id, term: view.term, node: node, at: time))
                }
            }
        }
        p.lastApplied = now
    }

    // MARK: results

    /// One result per invariant: what was checked, or the first violations with time and node.
    public func results() -> [InvariantResult] {
        Invariant.allCases.map { inv in
            let mine = violations.filter { $0.invariant == inv }
            guard !mine.isEmpty else { return InvariantResult(inv.rawValue, holds: true, detail: checked(inv)) }
            let total = counts[inv] ?? mine.count
            let listed = mine.map { "\(Self.seconds($0.at)) \($0.node): \($0.detail)" }.joined(separator: "; ")
            return InvariantResult(inv.rawValue, holds: false, detail: "\(total) violation\(total == 1 ? "" : "s"), first at " + listed
                + (total > mine.count ? "; …" : ""))
        }
    }

    /// What a holding invariant was checked on.
    private func checked(_ inv: Invariant) -> String {
        switch inv {
        case .electionSafety: return "\(elections) elections, \(leaders.count) terms led"
        case .logMatching: return "\(seen.count) (index, term) entries on \(nextSerial) processes"
        case .leaderCompleteness: return "\(elections) elections against up to \(committed.count) committed entries"
        case .stateMachineSafety: return "\(applied.count) indices applied"
        case .commitMonotonic: return "\(events) events of \(nextSerial) processes"
        }
    }

    static func seconds(_ t: Micros) -> String { "\(Double(t / 1000) / 1000) s" }
}
