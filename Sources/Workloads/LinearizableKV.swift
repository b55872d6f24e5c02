import EVCore

/// Maelstrom's lin-kv (the Raft chapter): `read {key}`, `write {key, value}`, `cas {key, from, to}`
/// on a linearizable map, served by the nodes' own consensus (`Raft`, docs/linkv.md), not by
/// Maelstrom's lin-kv service.
///
/// Writes and cas are log entries, applied in log order by every node; the node that took the
/// request answers it when it applies the entry (error 20 for a missing key, 22 for a cas whose
/// `from` does not match). Reads go by read index: answered from this node's state once it has
/// applied everything committed when the leader confirmed the read.
///
/// What is never answered wrongly: a request that cannot be served within `refuseAfter` gets error
/// 11 only if it can no longer take effect (a read, or a write still on this node); a write or cas
/// that has left for the leader stays unanswered (the client's timeout makes it indefinite), since
/// it may yet be committed.
public final class LinearizableKV: Workload {
    public static let handlers = Handlers<LinearizableKV> { h in
        h.on("read", when: .has("key")) { kv, m in try kv.read(m) }
        h.on("write") { kv, m in try kv.write(m) }
        h.on("cas") { kv, m in try kv.cas(m) }
        for type in ["lk_append", "lk_appended", "lk_vote", "lk_voted"] {
            h.on(type, from: .peers) { kv, m in try kv.raft.receive(m) }
        }
    }

    public struct Config: Sendable {
        public var raft = Raft.Config()
        /// Maelstrom's lin-kv client gives up after max(10 × latency, 1 s), and a reply after that
        /// silences the node. A request's age is known to within `stallThreshold` (a shorter stop
        /// goes unnoticed, docs/faults.md), so no reply leaves after stallThreshold + deadline ≤
        /// 0.95 s, and a request not served after refuseAfter + stallThreshold ≤ 0.9 s is refused
        /// if it can no longer take effect.
        public var stallThreshold: Micros = .ms(300)
        public var clientReplyDeadline: Micros = .ms(650)
        public var refuseAfter: Micros = .ms(600)
        /// How long a request that left this node is remembered, waiting for its entry.
        public var forgetAfter: Micros = .seconds(30)
        public init() {}
    }

    public let raft: Raft
    private unowned let node: Node
    private let config: Config
    private let me: Int
    private var map: [JSONValue: JSONValue] = [:]
    private var nextSeq = 0
    private var pending: [Int: (req: RequestRef, key: JSONValue?)] = [:]
    private let durable: Bool

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        self.config = config.linKV
        me = node.nodeIDs.firstIndex(of: node.id) ?? 0
        // Request numbers go into log entries that outlive this process: starting from the wall
        // clock in µs, a restarted process never reuses one of its predecessor's.
        nextSeq = Int(node.wallClock)
        node.clientReplyDeadline = min(node.clientReplyDeadline, config.linKV.clientReplyDeadline)
        node.stallThreshold = min(node.stallThreshold, config.linKV.stallThreshold)
        raft = Raft(node: node, prefix: "lk", config: config.linKV.raft, durability: config.durability)
        durable = config.durability.enabled
        raft.apply = { [unowned self] entry in self.apply(entry) }
        raft.readIndexReady = { [unowned self] seq, index in
            // Only for a read still waiting here: a peer's stray or repeated index queues nothing.
            guard self.pending[seq]?.key != nil else { return }
            self.raft.afterApplied(index) { [unowned self] in self.answerRead(seq) }
        }
    }

    /// In default mode a restarted process lost its log and vote (docs/linkv.md); in durable
    /// mode it replays them.
    public func joined(restarted: Bool) {
        if restarted && !durable { raft.amnesiac = true }
    }

    /// The map as this node has applied it (for the simulator's checks).
    public var state: [JSONValue: JSONValue] { map }

    // MARK: client requests

    private func read(_ m: Message) throws {
        let seq = begin(try m.requireRequest(), key: try key(m))
        raft.read(seq: seq)
    }

    private func write(_ m: Message) throws {
        let req = try m.requireRequest()
        let key = try key(m)
        guard let value = m.body["value"].value else { throw ProtocolError.malformed("write needs a field 'value'") }
        raft.submit(seq: begin(req, key: nil), ["w", key, value])
    }

    private func cas(_ m: Message) throws {
        let req = try m.requireRequest()
        let key = try key(m)
        guard let from = m.body["from"].value, let to = m.body["to"].value else {
            throw ProtocolError.malformed("cas needs fields 'from' and 'to'")
        }
        raft.submit(seq: begin(req, key: nil), ["c", key, from, to])
    }

    private func key(_ m: Message) throws -> JSONValue {
        guard let key = m.body["key"].value else { throw ProtocolError.malformed("\(m.type) needs a field 'key'") }
        return key
    }

    /// Numbers a request and arms its refusal; `key` is set for reads.
    private func begin(_ req: RequestRef, key: JSONValue?) -> Int {
        nextSeq += 1
        let seq = nextSeq
        pending[seq] = (req, key)
        node.after(config.refuseAfter) { [weak self] in self?.refuseIfUnserved(seq) }
        return seq
    }

    private func refuseIfUnserved(_ seq: Int) {
        guard let p = pending[seq] else { return }
        let isRead = p.key != nil
        if isRead || raft.withdraw(seq: seq) {
            pending[seq] = nil
            _ = raft.withdraw(seq: seq)
            node.replyError(to: p.req, code: .temporarilyUnavailable,
                            text: "no leader confirmed this request in time (leader: \(raft.leader.map { node.nodeIDs[$0] } ?? "unknown"))")
            return
        }
        node.after(config.forgetAfter) { [weak self] in self?.pending[seq] = nil }
    }

    private func answerRead(_ seq: Int) {
        guard let p = pending.removeValue(forKey: seq), let key = p.key else { return }
        guard let value = map[key] else {
            return node.replyError(to: p.req, code: .keyDoesNotExist, text: "key \(key.text) does not exist")
        }
        node.reply(to: p.req) { w in
            w.field("type", "read_ok")
            w.field("value", value)
        }
    }

    // MARK: the state machine

    /// Applies a committed entry; answers it if this node took the request.
    private func apply(_ entry: RaftEntry) {
        let c = entry.command
        guard case .array(let op) = c, let f = op.first?.string, op.count >= 3 else { return } // the no-op
        let key = op[1]
        var error: (ErrorCode, String)?
        switch (f, op.count) {
        case ("w", 3):
            map[key] = op[2]
        case ("c", 4):
            if let current = map[key] {
                if current == op[2] { map[key] = op[3] } else { error = (.preconditionFailed, "expected \(op[2].text), found \(current.text)") }
            } else {
                error = (.keyDoesNotExist, "key \(key.text) does not exist")
            }
        default:
            node.logger.error("log entry with an unknown command \(c.text); skipped")
            return
        }
        guard entry.origin == me, let p = pending.removeValue(forKey: entry.seq) else { return }
        if let (code, text) = error { return node.replyError(to: p.req, code: code, text: text) }
        node.reply(to: p.req, type: f == "w" ? "write_ok" : "cas_ok")
    }
}
