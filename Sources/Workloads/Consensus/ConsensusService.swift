import EVCore

/// A deterministic state machine that the nodes replicate with Raft: commands change it (log
/// entries, applied in log order on every node), queries only read it (served by read index).
/// lin-kv's map and txn-list-append's lists are two of them.
public protocol ReplicatedStateMachine {
    init()
    /// Applies a committed command; the answer for the client that sent it (every node computes
    /// it; the node that took the request sends it).
    mutating func apply(_ command: JSONValue) -> Answer
    /// Answers a read-only request from the current state.
    func query(_ query: JSONValue) -> Answer
}

/// What a client is told: a reply body's fields after `type`, or an error.
public enum Answer: Equatable {
    case ok(type: String, fields: [String: JSONValue])
    case error(ErrorCode, String)
}

/// A workload served by its own `ConsensusService` (lin-kv, txn-list-append): its file holds its
/// client handlers and its state machine; registering the Raft messages (`h.consensus()`) and
/// rejoining after a restart are the service's.
public protocol ConsensusWorkload: Workload {
    associatedtype Machine: ReplicatedStateMachine
    /// Names the Raft messages (`<prefix>_append`, …) and the durable log.
    static var consensusPrefix: String { get }
    var service: ConsensusService<Machine> { get }
}

public extension ConsensusWorkload {
    func joined(restarted: Bool) { service.joined(restarted: restarted) }
}

public extension Handlers where W: ConsensusWorkload {
    /// Registers the four Raft message types, all peer-only; `exampleCommand` is a log entry's
    /// command.
    mutating func consensus(exampleCommand: JSONValue) {
        let examples: [(String, JSONValue)] = [
            ("_append", ["term": 2, "prev": 0, "prev_term": 0, "entries": [[2, -1, 0, nil], [2, 2, 7, exampleCommand]], "commit": 1,
                         "quorum": 2, "round": 5, "ack": true, "reads": [[8, 2]]]),
            ("_appended", ["term": 2, "ok": true, "match": 2, "round": 5, "requests": [[9, exampleCommand], [10, nil]]]),
            ("_vote", ["term": 3, "last_index": 2, "last_term": 2, "pre": true]),
            ("_voted", ["term": 3, "granted": true, "pre": false]),
        ]
        for (suffix, example) in examples {
            on(W.consensusPrefix + suffix, from: .peers, example: example) { w, m in try w.service.raft.receive(m) }
        }
    }
}

/// The client side of a consensus workload, shared by lin-kv and txn-list-append: numbers each
/// request, hands commands to Raft and queries to its read index, answers when the entry is
/// applied or the read index reached, and refuses (error 11) what cannot be served in time only
/// when it can no longer take effect (docs/linkv.md).
public final class ConsensusService<Machine: ReplicatedStateMachine> {
    public struct Config: Sendable {
        public var raft = Raft.Config()
        /// A request not served after this is refused, if it can no longer take effect.
        public var refuseAfter: Micros = .ms(4000)
        /// How long a request that left this node is remembered, waiting for its entry.
        public var forgetAfter: Micros = .seconds(30)
        public init() {}
    }

    public let raft: Raft
    public private(set) var machine = Machine()
    private unowned let node: Node
    private let config: Config
    private var nextSeq: Int
    private let durable: Bool
    /// Requests waiting for their answer: a query carries what it reads, a command nil.
    private var pending: [Int: (req: RequestRef, query: JSONValue?)] = [:]

    public init(node: Node, prefix: String, config: Config, durability: DurabilityConfig) {
        self.node = node
        self.config = config
        // Request numbers go into log entries that outlive this process: starting from the wall
        // clock in µs, a restarted process never reuses one of its predecessor's.
        nextSeq = Int(node.wallClock)
        durable = durability.enabled
        raft = Raft(node: node, prefix: prefix, config: config.raft, durability: durability)
        raft.apply = { [unowned self] entry in self.apply(entry) }
        raft.readIndexReady = { [unowned self] seq, index in
            // Only for a query still waiting here: a peer's stray or repeated index queues nothing.
            guard self.pending[seq]?.query != nil else { return }
            self.raft.afterApplied(index) { [unowned self] in self.answerQuery(seq) }
        }
    }

    /// In default mode a restarted process lost its log and vote (docs/linkv.md); in durable
    /// mode it replays them.
    public func joined(restarted: Bool) {
        if restarted && !durable { raft.amnesiac = true }
    }

    /// A command (a log entry) for request `req`.
    public func submit(_ req: RequestRef, command: JSONValue) {
        raft.submit(seq: begin(req, query: nil), command)
    }

    /// A read-only request, answered at its read index.
    public func query(_ req: RequestRef, _ query: JSONValue) {
        raft.read(seq: begin(req, query: query))
    }

    private func begin(_ req: RequestRef, query: JSONValue?) -> Int {
        nextSeq += 1
        let seq = nextSeq
        pending[seq] = (req, query)
        node.after(config.refuseAfter) { [weak self] in self?.refuseIfUnserved(seq) }
        return seq
    }

    private func refuseIfUnserved(_ seq: Int) {
        guard let p = pending[seq] else { return }
        // A query never takes effect; a command only once it has left this node. Either is taken
        // back if it has not left (a silent leader's followers keep their requests).
        if raft.withdraw(seq: seq) || p.query != nil {
            pending[seq] = nil
            let leader = raft.leader.map { node.nodeIDs[$0] } ?? "unknown"
            return send(.error(.temporarilyUnavailable, "no leader confirmed this request in time (leader: \(leader))"), to: p.req)
        }
        node.after(config.forgetAfter) { [weak self] in self?.pending[seq] = nil }
    }

    private func answerQuery(_ seq: Int) {
        guard let p = pending.removeValue(forKey: seq), let query = p.query else { return }
        send(machine.query(query), to: p.req)
    }

    private func apply(_ entry: RaftEntry) {
        guard !entry.command.isNull else { return } // a leader's no-op
        let answer = machine.apply(entry.command)
        guard entry.origin == node.index, let p = pending.removeValue(forKey: entry.seq) else { return }
        send(answer, to: p.req)
    }

    private func send(_ answer: Answer, to req: RequestRef) {
        switch answer {
        case .ok(let type, let fields):
            node.reply(to: req) { w in
                w.field("type", type)
                for key in fields.keys.sorted() { w.field(key, fields[key]!) }
            }
        case .error(let code, let text):
            node.replyError(to: req, code: code, text: text)
        }
    }
}
