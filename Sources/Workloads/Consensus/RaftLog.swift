import EVCore

/// One Raft log entry: the term it was appended in, who asked for it (the origin's index in
/// `node_ids` and its request number; the leader's no-op has origin -1) and the command, which
/// only the state machine reads. On the wire: `[term, origin, seq, command]`.
public struct RaftEntry: Equatable {
    public let term: Int
    public let origin: Int
    public let seq: Int
    public let command: JSONValue

    func write(into array: inout JSONWriter) {
        array.arrayElement { e in
            e.element(term)
            e.element(origin)
            e.element(seq)
            e.element(command)
        }
    }

    init(term: Int, origin: Int, seq: Int, command: JSONValue) {
        self.term = term
        self.origin = origin
        self.seq = seq
        self.command = command
    }

    init?(json: JSON) {
        guard json.isArray, json.count == 4, let term = json[0].int, term >= 0, let origin = json[1].int,
              let seq = json[2].int, let command = json[3].value else { return nil }
        self.init(term: term, origin: origin, seq: seq, command: command)
    }
}

/// The log, indexed from 1 as in the Raft paper; index 0 is a sentinel of term 0, so every
/// consistency check has a predecessor to compare.
struct RaftLog {
    private(set) var entries: [RaftEntry] = [RaftEntry(term: 0, origin: -1, seq: 0, command: .null)]

    var lastIndex: Int { entries.count - 1 }
    var lastTerm: Int { entries[lastIndex].term }

    func term(at index: Int) -> Int? { index >= 0 && index <= lastIndex ? entries[index].term : nil }

    subscript(index: Int) -> RaftEntry { entries[index] }

    mutating func append(_ entry: RaftEntry) -> Int {
        entries.append(entry)
        return lastIndex
    }

    /// Entries after `prev` up to `limit` of them, for an append message.
    func slice(after prev: Int, limit: Int) -> ArraySlice<RaftEntry> {
        entries[(prev + 1)..<min(entries.count, prev + 1 + limit)]
    }

    /// Puts `new` after `prev` (which must match): entries already there with the same term are
    /// kept (a duplicate or reordered append changes nothing); the first conflict truncates the
    /// log from there. Returns the indices it wrote (durable mode stores those), or nil, changing
    /// nothing, for a conflict at or below `committed`: only a broken or lying peer sends one.
    mutating func merge(after prev: Int, _ new: [RaftEntry], committed: Int) -> Range<Int>? {
        precondition(prev <= lastIndex, "merge past the end of the log")
        for (offset, entry) in new.enumerated() where prev + 1 + offset <= min(committed, lastIndex) {
            if entries[prev + 1 + offset].term != entry.term { return nil }
        }
        var firstWritten: Int?
        for (offset, entry) in new.enumerated() {
            let index = prev + 1 + offset
            if index <= lastIndex {
                if entries[index].term == entry.term { continue }
                entries.removeSubrange(index...)
            }
            entries.append(entry)
            firstWritten = firstWritten ?? index
        }
        return (firstWritten ?? lastIndex + 1)..<(lastIndex + 1)
    }

    /// Whether a candidate's log is at least as up to date as this one (Raft §5.4.1).
    func isBehindOrEqual(lastIndex otherIndex: Int, lastTerm otherTerm: Int) -> Bool {
        otherTerm != lastTerm ? otherTerm > lastTerm : otherIndex >= lastIndex
    }

    /// The first index of the term of the entry at `index` (a follower's hint after a mismatch, so
    /// the leader skips a whole conflicting term per round trip).
    func firstIndex(ofTermAt index: Int) -> Int {
        let t = entries[index].term
        var i = index
        while i > 1 && entries[i - 1].term == t { i -= 1 }
        return i
    }
}

/// What durable mode stores of a Raft node, in order (docs/linkv.md): its hard state
/// (`["h", term, votedFor or -1]`) whenever it changes, and each entry written to its log
/// (`["e", index, term, origin, seq, command]`; an entry at an index below the end truncates what
/// follows it, as the log did). Replaying the records in order rebuilds term, vote and log.
public enum RaftRecord: ReplicatedEntry, Equatable {
    case hardState(term: Int, votedFor: Int?)
    case entry(index: Int, RaftEntry)

    public func write(into array: inout JSONWriter) {
        array.arrayElement { r in
            switch self {
            case .hardState(let term, let votedFor):
                r.element("h"); r.element(term); r.element(votedFor ?? -1)
            case .entry(let index, let e):
                r.element("e"); r.element(index); r.element(e.term); r.element(e.origin); r.element(e.seq); r.element(e.command)
            }
        }
    }

    public init?(json: JSON) {
        guard json.isArray, let tag = json[0].string else { return nil }
        switch (tag, json.count) {
        case ("h", 3):
            guard let term = json[1].int, term >= 0, let vote = json[2].int else { return nil }
            self = .hardState(term: term, votedFor: vote >= 0 ? vote : nil)
        case ("e", 6):
            guard let index = json[1].int, index >= 1, let term = json[2].int, term >= 0, let origin = json[3].int,
                  let seq = json[4].int, let command = json[5].value else { return nil }
            self = .entry(index: index, RaftEntry(term: term, origin: origin, seq: seq, command: command))
        default:
            return nil
        }
    }
}

extension RaftLog {
    /// Replays a stored entry record: false if it would leave a gap (a damaged store).
    mutating func restore(_ entry: RaftEntry, at index: Int) -> Bool {
        guard index <= lastIndex + 1 else { return false }
        if index <= lastIndex { entries.removeSubrange(index...) }
        entries.append(entry)
        return true
    }
}
