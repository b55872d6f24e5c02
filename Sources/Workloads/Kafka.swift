import EVCore

public extension WorkloadKind { static let kafka = WorkloadKind("kafka") }

/// Challenges 5a–5c: a replicated append-only log per key, with consumer offsets.
///
/// Design (docs/kafka.md):
/// - **One owner per key** (FNV-1a hash of the key over `node_ids`) assigns its offsets 0, 1, 2, …
///   from a local counter, so offsets are dense, never reused, and per-client increasing without
///   any coordination. A `send` that reaches another node is forwarded to the owner (one
///   request/reply between nodes); the owner answers at once from memory (in durable mode once the
///   message is stored; offsets in flight are reserved, so the log stays dense).
/// - **Asynchronous batched replication** over the `Replicator`: each owner queues its new entries
///   and every committed offset for every other node, flushed at most once per
///   `replicationInterval`, acknowledged and resent until acknowledged. A replica keeps a hole-free
///   prefix per key, so every node answers `poll` locally and can never skip an offset.
/// - **Committed offsets** are a max-register per key: `commit_offsets` raises the local value and
///   is answered at once (durable mode: once stored); `list_committed_offsets` asks every other
///   node and answers with the maximum, so a list never returns less than any commit or list that
///   completed before it began (a restarted durable process refuses lists until it has recovered).
/// - **Restarts.** A node hands out offsets of its own keys once it knows it starts with a fresh
///   cluster (`joined(restarted:)`); a restarted process first greets every peer (the replicator's
///   handshake) and recovers what they hold of every key, so an offset is never used twice. Sends to
///   its keys wait for that, up to `recoveryWait`, then get error 11.
public final class Kafka: ReplicatedWorkload {
    public static let kind = WorkloadKind.kafka
    public static let replicationName = "kf"

    /// The node-to-node RPCs besides replication: a send forwarded to its key's owner, and a
    /// list of committed offsets asked of every peer (with their replies).
    enum PeerType {
        static let send = "kf_send", sendOK = "kf_send_ok", list = "kf_list", listOK = "kf_list_ok"
    }

    public static let handlers = Handlers<Kafka> { h in
        h.on("send", example: ["key": "k1", "msg": 123]) { k, m in try k.send(m) }
        h.on("poll", example: ["offsets": ["k1": 0, "k2": 3]]) { k, m in try k.poll(m) }
        h.on("commit_offsets", example: ["offsets": ["k1": 0]]) { k, m in try k.commit(m) }
        h.on("list_committed_offsets", example: ["keys": ["k1", "k2"]]) { k, m in try k.list(m) }
        h.on(PeerType.send, from: .peers, example: ["key": "k2", "msg": 7]) { k, m in try k.forwardedSend(m) }
        h.on(PeerType.list, from: .peers, example: ["keys": ["k1"]]) { k, m in try k.peerList(m) }
        h.replicated(example: [["m", "k3", 0, 10], ["m", "k3", 1, 11], ["c", "k3", 1]])
    }

    public struct Config: Sendable {
        /// Least time between two replication messages to one peer: sends in between are batched.
        public var replicationInterval: Micros = .ms(100)
        public var link = ReplicationConfig(ackDelay: .ms(500), retransmitTimeout: .ms(1000), maxEntriesPerMessage: 20_000)
        /// How long a forwarded send waits for the owner before the client gets an indefinite error.
        public var forwardTimeout: Micros = .ms(2000)
        /// How long list_committed_offsets waits for the other nodes.
        public var listTimeout: Micros = .ms(1000)
        /// How long a send waits for the node to hear from its peers at start before error 11.
        public var recoveryWait: Micros = .ms(1000)
        /// Most messages one poll reply carries (a longer backlog is returned over several polls).
        public var maxMessagesPerPoll = 100_000
        public init() {}
    }

    private unowned let node: Node
    private let config: Config
    private let ids: [String]
    private var logs: [String: KafkaKeyLog] = [:]
    private var committed: [String: Int] = [:]
    public let replicated: ReplicatedState<Kafka>
    /// Set once the node may hand out offsets of its own keys (see Restarts above).
    private var recovered = false
    /// nil until the node knows whether this process is a restart.
    private var restarted: Bool?
    /// Sends to own keys that arrived before `recovered`, in arrival order.
    private var waiting: [(req: RequestRef, replyType: String, key: String, msg: Int)] = []
    private var recoveryPoll: TimerID?
    /// Per own key, offsets handed to sends not yet published (stored, in durable mode).
    private var reserved: [String: Int] = [:]

    /// Counters for tests and the simulator's reports.
    public private(set) var stats = Stats()
    public struct Stats: Sendable {
        public var localSends = 0, forwardedSends = 0, inconsistentReplicas = 0
    }

    public var replicationStats: Replicator<KafkaEntry>.Stats { replicated.links.stats }

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        self.config = config.kafka
        ids = node.nodeIDs
        replicated = ReplicatedState(node: node, topology: .mesh(flushInterval: config.kafka.replicationInterval),
                                     link: config.kafka.link, durability: config.durability)
        replicated.attach(self)
    }

    public func joined(restarted: Bool) {
        self.restarted = restarted
        replicated.joined(restarted: restarted)
        if !waiting.isEmpty { recoveryTick() } // a fresh cluster: the waiting sends go now
    }

    private func owner(of key: String) -> String {
        ids[KafkaOwnership.ownerIndex(of: key, nodeCount: ids.count)]
    }

    private func log(_ key: String) -> KafkaKeyLog {
        if let l = logs[key] { return l }
        let l = KafkaKeyLog()
        logs[key] = l
        return l
    }

    // MARK: send

    private func send(_ m: Message) throws {
        let req = try m.requireRequest()
        let key = try m.string("key"), msg = try m.int("msg")
        let owner = owner(of: key)
        if owner == node.id {
            stats.localSends += 1
            return appendAsOwner(req, replyType: "send_ok", key, msg)
        }
        stats.forwardedSends += 1
        node.rpc(to: owner, timeout: config.forwardTimeout, { w in
            w.field("type", PeerType.send)
            w.field("key", key)
            w.field("msg", msg)
        }, callback: { [weak self] result in
            guard let self else { return }
            switch result {
            case .ok(let reply):
                guard let offset = reply.body["offset"].int, offset >= 0 else {
                    return self.node.replyError(to: req, code: .crash, text: "owner \(owner) replied without an offset")
                }
                self.log(key).apply(start: offset, [msg]) // the replica learns it early
                self.replySendOK(req, type: "send_ok", offset: offset)
            case .error(let code, let text):
                // Pass the owner's verdict on: a definite code from it means it did nothing.
                self.node.replyError(to: req, code: code, text: "owner \(owner): \(text)")
            case .timeout:
                self.node.replyError(to: req, code: .crash,
                                     text: "owner \(owner) did not answer in time; the message may or may not be stored")
            }
        })
    }

    private func replySendOK(_ req: RequestRef, type: String, offset: Int) {
        node.reply(to: req) { w in
            w.field("type", type)
            w.field("offset", offset)
        }
    }

    private func forwardedSend(_ m: Message) throws {
        let req = try m.requireRequest()
        let key = try m.string("key"), msg = try m.int("msg")
        guard owner(of: key) == node.id else {
            throw ProtocolError(code: .temporarilyUnavailable, text: "\(node.id) does not own key \(key)")
        }
        stats.localSends += 1
        appendAsOwner(req, replyType: PeerType.sendOK, key, msg)
    }

    /// Assigns the next offset of an own key and answers, or waits until the node has recovered.
    private func appendAsOwner(_ req: RequestRef, replyType: String, _ key: String, _ msg: Int) {
        guard recovered || checkRecovered() else {
            waiting.append((req, replyType, key, msg))
            if recoveryPoll == nil {
                recoveryPoll = node.every(.ms(5)) { [weak self] in self?.recoveryTick() }
            }
            return
        }
        // Visible (to polls and peers) only once published; publications complete in order, so
        // the log stays dense.
        let offset = log(key).count + reserved[key, default: 0]
        reserved[key, default: 0] += 1
        let entry = KafkaEntry.message(key: key, offset: offset, msg: msg)
        replicated.publish([entry]) { [unowned self] in
            self.reserved[key]! -= 1
            _ = self.merge(entry)
            self.replySendOK(req, type: replyType, offset: offset)
        }
    }

    private func checkRecovered() -> Bool {
        guard let restarted, replicated.isRecovered else { return false }
        recovered = !restarted || node.peers.allSatisfy { replicated.links.isCaughtUp(with: $0) }
        return recovered
    }

    /// While recovering: answer the waiting sends once recovered, refuse those waiting too long.
    private func recoveryTick() {
        if checkRecovered() {
            if let t = recoveryPoll { node.cancel(t); recoveryPoll = nil }
            let ready = waiting
            waiting.removeAll()
            for w in ready { appendAsOwner(w.req, replyType: w.replyType, w.key, w.msg) }
            return
        }
        let now = node.now
        while let w = waiting.first, now - w.req.receivedAt >= config.recoveryWait {
            waiting.removeFirst()
            node.replyError(to: w.req, code: .temporarilyUnavailable, text: "\(node.id) has not heard from every peer yet")
        }
    }

    // MARK: poll

    private func poll(_ m: Message) throws {
        let req = try m.requireRequest()
        let offsets = try m.object("offsets")
        var wanted: [(key: String, log: KafkaKeyLog, from: Int)] = []
        var problem: String?
        offsets.forEachMember { key, value in
            guard problem == nil else { return }
            guard let from = value.int, from >= 0 else {
                problem = "poll offset for key \(key) must be a non-negative integer, got \(value.value?.text ?? "nothing")"
                return
            }
            if let log = logs[key], from < log.count { wanted.append((key, log, from)) }
        }
        if let problem { throw ProtocolError.malformed(problem) }
        var budget = max(config.maxMessagesPerPoll, 1)
        node.reply(to: req) { w in
            w.field("type", "poll_ok")
            w.objectField("msgs") { o in
                for (key, log, from) in wanted where budget > 0 {
                    let to = min(log.count, from + budget)
                    budget -= to - from
                    o.arrayField(key) { a in
                        for offset in from..<to {
                            a.arrayElement { e in
                                e.element(offset)
                                e.element(log.messages[offset])
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: committed offsets

    private func commit(_ m: Message) throws {
        let req = try m.requireRequest()
        let offsets = try m.object("offsets")
        var updates: [(String, Int)] = []
        var problem: String?
        offsets.forEachMember { key, value in
            guard problem == nil else { return }
            guard let offset = value.int, offset >= 0 else {
                problem = "committed offset for key \(key) must be a non-negative integer, got \(value.value?.text ?? "nothing")"
                return
            }
            updates.append((key, offset))
        }
        if let problem { throw ProtocolError.malformed(problem) }
        // All or nothing: nothing is applied before every offset was validated.
        let raised = updates.filter { $0.1 > committed[$0.0] ?? -1 }.map { KafkaEntry.commit(key: $0.0, offset: $0.1) }
        guard !raised.isEmpty else { return node.reply(to: req, type: "commit_offsets_ok") }
        replicated.publish(raised) { [unowned self] in
            for e in raised { _ = self.merge(e) }
            self.node.reply(to: req, type: "commit_offsets_ok")
        }
    }

    /// Raises the committed offset of `key`; false if it was already at least that.
    private func raiseCommitted(_ key: String, _ offset: Int) -> Bool {
        guard offset > committed[key] ?? -1 else { return false }
        committed[key] = offset
        return true
    }

    /// The `keys` array of a list request.
    private func requestedKeys(_ m: Message) throws -> [String] {
        let keys = try m.array("keys")
        var out: [String] = []
        var ok = true
        keys.forEachElement { k in
            if let s = k.string { out.append(s) } else { ok = false }
        }
        guard ok else { throw ProtocolError.malformed("\(m.type) needs an array of strings field 'keys'") }
        return out
    }

    private func list(_ m: Message) throws {
        let req = try m.requireRequest()
        let keys = try requestedKeys(m)
        // A restarted node's own commits may not be back yet: its answer could go backwards.
        guard replicated.isRecovered else {
            throw ProtocolError(code: .temporarilyUnavailable, text: "\(node.id) is recovering its committed offsets")
        }
        var merged: [String: Int] = [:]
        for key in keys { if let c = committed[key] { merged[key] = c } }
        guard !node.peers.isEmpty else { return replyOffsets(req, type: "list_committed_offsets_ok", keys: keys, merged) }

        // Commits land on whichever node the client uses: ask every other node for its values.
        var outstanding = node.peers.count
        var failure: String?
        for peer in node.peers {
            node.rpc(to: peer, timeout: config.listTimeout, { w in
                w.field("type", PeerType.list)
                w.arrayField("keys") { a in for k in keys { a.element(k) } }
            }, callback: { [weak self] result in
                guard let self else { return }
                switch result {
                case .ok(let reply):
                    reply.body["offsets"].forEachMember { key, value in
                        if let v = value.int, v > merged[key] ?? -1 { merged[key] = v }
                    }
                case .error(_, let text): failure = failure ?? "\(peer): \(text)"
                case .timeout: failure = failure ?? "\(peer) did not answer"
                }
                outstanding -= 1
                guard outstanding == 0 else { return }
                if let failure {
                    // A list changes nothing, so failing it is definite; answering from part of
                    // the cluster could report an offset older than one already acknowledged.
                    self.node.replyError(to: req, code: .temporarilyUnavailable,
                                         text: "could not read committed offsets from every node (\(failure))")
                } else {
                    self.replyOffsets(req, type: "list_committed_offsets_ok", keys: keys, merged)
                }
            })
        }
    }

    /// Answers with `{"offsets": {key: offset}}` for the requested keys that have one, each once.
    private func replyOffsets(_ req: RequestRef, type: String, keys: [String], _ values: [String: Int]) {
        node.reply(to: req) { w in
            w.field("type", type)
            w.objectField("offsets") { o in
                var written = Set<String>()
                for key in keys where written.insert(key).inserted {
                    if let v = values[key] { o.field(key, v) }
                }
            }
        }
    }

    private func peerList(_ m: Message) throws {
        replyOffsets(try m.requireRequest(), type: PeerType.listOK, keys: try requestedKeys(m), committed)
    }

    // MARK: replication

    /// Applies a message at its offset or a committed offset (own, a peer's, or stored).
    public func merge(_ entry: KafkaEntry) -> Bool {
        switch entry {
        case .message(let key, let offset, let msg):
            let log = log(key)
            let before = log.count
            if !log.apply(start: offset, [msg]) {
                stats.inconsistentReplicas += 1
                node.logger.error("offset \(offset) of key \(key) came with a message that contradicts the one held")
            }
            return log.count != before
        case .commit(let key, let offset):
            return raiseCommitted(key, offset)
        }
    }

    /// Every message and committed offset this node holds, for a restarted peer.
    public func snapshot() -> [KafkaEntry] {
        var out: [KafkaEntry] = []
        for key in logs.keys.sorted() {
            for (offset, msg) in logs[key]!.messages.enumerated() { out.append(.message(key: key, offset: offset, msg: msg)) }
        }
        for key in committed.keys.sorted() { out.append(.commit(key: key, offset: committed[key]!)) }
        return out
    }
}

/// What kafka replicates: `["m", key, offset, msg]` (a message at its offset) or
/// `["c", key, offset]` (a committed offset).
public enum KafkaEntry: ReplicatedEntry {
    case message(key: String, offset: Int, msg: Int)
    case commit(key: String, offset: Int)

    public func write(into array: inout JSONWriter) {
        array.arrayElement { e in
            switch self {
            case .message(let key, let offset, let msg):
                e.element("m"); e.element(key); e.element(offset); e.element(msg)
            case .commit(let key, let offset):
                e.element("c"); e.element(key); e.element(offset)
            }
        }
    }

    public init?(json: JSON) {
        guard json.isArray, let tag = json[0].string, let key = json[1].string,
              let offset = json[2].int, offset >= 0 else { return nil }
        switch (tag, json.count) {
        case ("m", 4):
            guard let msg = json[3].int else { return nil }
            self = .message(key: key, offset: offset, msg: msg)
        case ("c", 3):
            self = .commit(key: key, offset: offset)
        default:
            return nil
        }
    }
}
