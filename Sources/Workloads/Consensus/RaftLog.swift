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
    /// log from there. Refuses (false, nothing changed) a conflict at or below `committed`: only
    /// a broken or lying peer sends one.
    mutating func merge(after prev: Int, _ new: [RaftEntry], committed: Int) -> Bool {
        precondition(prev <= lastIndex, "merge past the end of the log")
        for (offset, entry) in new.enumerated() where prev + 1 + offset <= min(committed, lastIndex) {
            if entries[prev + 1 + offset].term != entry.term { return false }
        }
        for (offset, entry) in new.enumerated() {
            let index = prev + 1 + offset
            if index <= lastIndex {
                if entries[index].term == entry.term { continue }
                entries.removeSubrange(index...)
            }
            entries.append(entry)
        }
        return true
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
