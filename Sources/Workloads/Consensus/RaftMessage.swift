import EVCore

/// The four messages Raft peers exchange, typed, each with its JSON codec. On the wire their
/// types are `<prefix>_append`, `_appended`, `_vote` and `_voted` (lin-kv's prefix is `raft`).
public enum RaftMessage: Equatable {
    /// Leader to follower: entries after `prev` (empty for a heartbeat), what it knows committed,
    /// and confirmed read indices of the follower's reads.
    case append(Append)
    /// Follower to leader: an answer to an append, or requests forwarded by the follower.
    case appended(Appended)
    /// A (pre-)candidate asking for a vote.
    case vote(Vote)
    case voted(Voted)

    public struct Append: Equatable {
        public var term: Int
        public var prev: Int
        public var prevTerm: Int
        public var entries: [RaftEntry]
        public var commit: Int
        /// Entries through this index are committed once the receiver holds them: the leader and
        /// the followers it knows hold them make a majority with the receiver (0: none).
        public var quorum: Int
        /// The leader's confirmation round; an answer names the last round it heard.
        public var round: Int
        /// The receiver's incarnation as the leader last heard it.
        public var inc: Int
        /// The leader waits on this answer: reply now.
        public var ack: Bool
        /// `(seq, index)`: the receiver's read `seq` may be served once it has applied `index`.
        public var reads: [ReadIndex]
    }

    public struct ReadIndex: Equatable {
        public var seq: Int
        public var index: Int
    }

    public struct Appended: Equatable {
        public var term: Int
        /// false: a refusal; `match` is then a hint where to resume (0: a stale term).
        public var ok: Bool
        /// The last index known to agree with the leader's log.
        public var match: Int
        public var round: Int
        public var inc: Int
        /// Sent by a restarted process without its log: counts toward nothing.
        public var amnesiac: Bool
        /// Client requests forwarded to the leader: a command, or nil for a read.
        public var requests: [Request]
    }

    public struct Request: Equatable {
        public var seq: Int
        public var command: JSONValue?
    }

    public struct Vote: Equatable {
        public var term: Int
        public var lastIndex: Int
        public var lastTerm: Int
        public var pre: Bool
        public var inc: Int
    }

    public struct Voted: Equatable {
        public var term: Int
        public var granted: Bool
        public var pre: Bool
        /// The asker's incarnation, echoed.
        public var inc: Int?
        public var amnesiac: Bool
    }

    public enum Kind: String, CaseIterable, Sendable { case append, appended, vote, voted }

    public var kind: Kind {
        switch self {
        case .append: .append
        case .appended: .appended
        case .vote: .vote
        case .voted: .voted
        }
    }

    public var term: Int {
        switch self {
        case .append(let a): a.term
        case .appended(let a): a.term
        case .vote(let v): v.term
        case .voted(let v): v.term
        }
    }

    /// Terms and indices above this from a peer are refused: they could only overflow.
    static let maxNumber = Int.max / 4

    /// Decodes a body of `kind`; throws `ProtocolError.malformed` naming what is missing.
    public init(_ kind: Kind, body b: JSON) throws {
        func need(_ what: String) -> ProtocolError { .malformed("\(kind.rawValue) needs \(what)") }
        func number(_ key: String) -> Int? { b[key].int.flatMap { $0 >= 0 && $0 <= Self.maxNumber ? $0 : nil } }
        guard let term = number("term") else { throw need("a term") }
        switch kind {
        case .append:
            guard let prev = number("prev"), let prevTerm = b["prev_term"].int, let commit = number("commit"),
                  let round = b["round"].int else { throw need("prev, prev_term, commit and round") }
            var entries: [RaftEntry] = [], bad = false
            b["entries"].forEachElement { e in
                if let entry = RaftEntry(json: e), entry.term <= term { entries.append(entry) } else { bad = true }
            }
            if bad { throw need("well-formed entries of terms up to its own") }
            var reads: [ReadIndex] = []
            b["reads"].forEachElement { r in
                if let seq = r[0].int, let index = r[1].int, index >= 0 { reads.append(ReadIndex(seq: seq, index: min(index, Self.maxNumber))) }
            }
            self = .append(Append(term: term, prev: prev, prevTerm: prevTerm, entries: entries, commit: commit,
                                  quorum: number("quorum") ?? 0, round: round, inc: b["inc"].int ?? 0,
                                  ack: b["ack"].bool ?? false, reads: reads))
        case .appended:
            guard let ok = b["ok"].bool, let match = number("match"), let round = b["round"].int else {
                throw need("ok, match and round")
            }
            var requests: [Request] = []
            b["requests"].forEachElement { r in
                guard let seq = r[0].int else { return }
                if r[1].isNull { requests.append(Request(seq: seq, command: nil)) } else if let c = r[1].value {
                    requests.append(Request(seq: seq, command: c))
                }
            }
            self = .appended(Appended(term: term, ok: ok, match: match, round: round, inc: b["inc"].int ?? 0,
                                      amnesiac: b["amnesiac"].bool == true, requests: requests))
        case .vote:
            guard let lastIndex = b["last_index"].int, let lastTerm = b["last_term"].int, let pre = b["pre"].bool else {
                throw need("last_index, last_term and pre")
            }
            self = .vote(Vote(term: term, lastIndex: lastIndex, lastTerm: lastTerm, pre: pre, inc: b["inc"].int ?? 0))
        case .voted:
            guard let granted = b["granted"].bool, let pre = b["pre"].bool else { throw need("granted and pre") }
            self = .voted(Voted(term: term, granted: granted, pre: pre, inc: b["inc"].int, amnesiac: b["amnesiac"].bool == true))
        }
    }

    /// Writes the body's fields, `type` first (`prefix` names the workload's Raft).
    public func write(into w: inout JSONWriter, prefix: String) {
        w.field("type", prefix + "_" + kind.rawValue)
        w.field("term", term)
        switch self {
        case .append(let a):
            w.field("prev", a.prev)
            w.field("prev_term", a.prevTerm)
            w.arrayField("entries") { arr in for e in a.entries { e.write(into: &arr) } }
            w.field("commit", a.commit)
            if a.quorum > 0 { w.field("quorum", a.quorum) }
            w.field("round", a.round)
            w.field("inc", a.inc)
            if a.ack { w.field("ack", true) }
            if !a.reads.isEmpty {
                w.arrayField("reads") { arr in for r in a.reads { arr.arrayElement { e in e.element(r.seq); e.element(r.index) } } }
            }
        case .appended(let a):
            w.field("ok", a.ok)
            w.field("match", a.match)
            w.field("round", a.round)
            w.field("inc", a.inc)
            if a.amnesiac { w.field("amnesiac", true) }
            if !a.requests.isEmpty {
                w.arrayField("requests") { arr in
                    for r in a.requests {
                        arr.arrayElement { e in
                            e.element(r.seq)
                            if let c = r.command { e.element(c) } else { e.elementNull() }
                        }
                    }
                }
            }
        case .vote(let v):
            w.field("last_index", v.lastIndex)
            w.field("last_term", v.lastTerm)
            w.field("pre", v.pre)
            w.field("inc", v.inc)
        case .voted(let v):
            w.field("granted", v.granted)
            w.field("pre", v.pre)
            if let inc = v.inc { w.field("inc", inc) }
            if v.amnesiac { w.field("amnesiac", true) }
        }
    }
}
