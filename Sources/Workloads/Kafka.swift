import EVCore

/// Challenges 5a–5c: a replicated append-only log per key, with consumer offsets.
///
/// Design (docs/kafka.md):
/// - **One owner per key** (FNV-1a hash of the key over `node_ids`) assigns its offsets 0, 1, 2, …
///   from a local counter, so offsets are dense, never reused, and per-client increasing without
///   any coordination. A `send` that reaches another node is forwarded to the owner (one
///   request/reply between nodes); the owner answers at once from memory.
/// - **Asynchronous batched replication**: each owner ships new entries of its keys to every other
///   node at most once per `replicationInterval`, numbered and acknowledged, resent until
///   acknowledged. A replica keeps a hole-free prefix, so every node answers `poll` locally and
///   can never skip an offset; it may lag the owner by one interval, which polls allow.
/// - **Committed offsets** are a max-register per key: `commit_offsets` raises the local value and
///   is answered at once; `list_committed_offsets` (about 1 op in 64) asks every other node and
///   answers with the maximum. Each node's values only grow and a list sees every node, so a list
///   never returns less than any commit or list that completed before it began.
/// - No lin-kv or seq-kv at all: nothing here needs a linearizable service.
public final class Kafka: Workload {
    public static let messageTypes = ["send", "poll", "commit_offsets", "list_committed_offsets",
                                      "kf_send", "kf_repl", "kf_list"]

    public struct Config: Sendable {
        /// Least time between two replication messages to one peer: sends in between are batched.
        public var replicationInterval: Micros = .ms(100)
        /// A batch the peer has not acknowledged this long is sent again.
        public var retransmitTimeout: Micros = .ms(1000)
        /// How long a forwarded send waits for the owner before the client gets an indefinite error.
        public var forwardTimeout: Micros = .ms(2000)
        /// How long list_committed_offsets waits for the other nodes.
        public var listTimeout: Micros = .ms(1000)
        /// Most messages one poll reply carries (a longer backlog is returned over several polls).
        public var maxMessagesPerPoll = 100_000
        /// Most entries one replication message carries (the rest follows in the next ones).
        public var maxEntriesPerReplicationMessage = 20_000
        public init() {}
    }

    private unowned let node: Node
    private let config: Config
    private let ids: [String]
    private var logs: [String: KafkaKeyLog] = [:]
    private var committed: [String: Int] = [:]
    /// One link per other node, in `node_ids` order.
    private var links: [KafkaReplicationLink] = []
    private var linkByPeer: [String: KafkaReplicationLink] = [:]

    /// Counters for tests and the simulator's reports.
    public private(set) var stats = Stats()
    public struct Stats: Sendable {
        public var localSends = 0, forwardedSends = 0, replicationMessages = 0, replicatedEntriesResent = 0,
                   inconsistentReplicas = 0
    }

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        self.config = config.kafka
        ids = node.nodeIDs
        for peer in ids where peer != node.id {
            let link = KafkaReplicationLink(peer: peer)
            links.append(link)
            linkByPeer[peer] = link
        }
    }

    public func handle(_ m: Message) {
        switch m.type {
        case "send": handleSend(m)
        case "poll": handlePoll(m)
        case "commit_offsets": handleCommit(m)
        case "list_committed_offsets": handleList(m)
        case "kf_send": handleForwardedSend(m)
        case "kf_repl": handleReplication(m)
        case "kf_list": handlePeerList(m)
        default:
            if let req = m.request { node.replyError(to: req, code: .notSupported, text: "kafka does not handle \(m.type)") }
        }
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

    /// Validated `key` and `msg` of a send, or the reason they are not usable.
    private func sendFields(_ m: Message) -> Result<(String, Int), FieldError> {
        guard let key = m.body["key"].string else { return .failure(FieldError("\(m.type) needs a string field 'key'")) }
        guard let msg = m.body["msg"].int else { return .failure(FieldError("\(m.type) needs an integer field 'msg'")) }
        return .success((key, msg))
    }

    private func handleSend(_ m: Message) {
        guard let req = m.request else { return }
        let key: String, msg: Int
        switch sendFields(m) {
        case .failure(let e): return node.replyError(to: req, code: .malformedRequest, text: e.text)
        case .success(let fields): (key, msg) = fields
        }
        let owner = owner(of: key)
        if owner == node.id {
            stats.localSends += 1
            return replySendOK(req, offset: appendAsOwner(key, msg))
        }
        stats.forwardedSends += 1
        node.rpc(to: owner, timeout: config.forwardTimeout, { w in
            w.field("type", "kf_send")
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
                self.replySendOK(req, offset: offset)
            case .error(let code, let text):
                // Pass the owner's verdict on: a definite code from it means it did nothing.
                let passed = ErrorCode(rawValue: code) ?? .crash
                self.node.replyError(to: req, code: passed, text: "owner \(owner): \(text)")
            case .timeout:
                self.node.replyError(to: req, code: .crash,
                                     text: "owner \(owner) did not answer in time; the message may or may not be stored")
            }
        })
    }

    private func replySendOK(_ req: RequestRef, offset: Int) {
        node.reply(to: req) { w in
            w.field("type", "send_ok")
            w.field("offset", offset)
        }
    }

    private func handleForwardedSend(_ m: Message) {
        guard let req = m.request else { return }
        let key: String, msg: Int
        switch sendFields(m) {
        case .failure(let e): return node.replyError(to: req, code: .malformedRequest, text: e.text)
        case .success(let fields): (key, msg) = fields
        }
        guard owner(of: key) == node.id else {
            return node.replyError(to: req, code: .temporarilyUnavailable, text: "\(node.id) does not own key \(key)")
        }
        stats.localSends += 1
        let offset = appendAsOwner(key, msg)
        node.reply(to: req) { w in
            w.field("type", "kf_send_ok")
            w.field("offset", offset)
        }
    }

    private func appendAsOwner(_ key: String, _ msg: Int) -> Int {
        let offset = log(key).append(msg)
        for link in links {
            link.markDirty(key)
            scheduleReplication(link)
        }
        return offset
    }

    // MARK: poll

    private func handlePoll(_ m: Message) {
        guard let req = m.request else { return }
        let offsets = m.body["offsets"]
        guard offsets.isObject else {
            return node.replyError(to: req, code: .malformedRequest, text: "poll needs an object field 'offsets' (key → offset)")
        }
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
        if let problem { return node.replyError(to: req, code: .malformedRequest, text: problem) }
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

    private func handleCommit(_ m: Message) {
        guard let req = m.request else { return }
        let offsets = m.body["offsets"]
        guard offsets.isObject else {
            return node.replyError(to: req, code: .malformedRequest,
                                   text: "commit_offsets needs an object field 'offsets' (key → offset)")
        }
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
        if let problem { return node.replyError(to: req, code: .malformedRequest, text: problem) }
        // All or nothing: nothing is applied before every offset was validated.
        for (key, offset) in updates where offset > committed[key] ?? -1 { committed[key] = offset }
        node.reply(to: req, type: "commit_offsets_ok")
    }

    /// The `keys` array of a list request, or nil if it is not an array of strings.
    private func requestedKeys(_ m: Message) -> [String]? {
        let keys = m.body["keys"]
        guard keys.isArray else { return nil }
        var out: [String] = []
        var ok = true
        keys.forEachElement { k in
            if let s = k.string { out.append(s) } else { ok = false }
        }
        return ok ? out : nil
    }

    private func handleList(_ m: Message) {
        guard let req = m.request else { return }
        guard let keys = requestedKeys(m) else {
            return node.replyError(to: req, code: .malformedRequest,
                                   text: "list_committed_offsets needs an array of strings field 'keys'")
        }
        var merged: [String: Int] = [:]
        for key in keys { if let c = committed[key] { merged[key] = c } }
        guard !links.isEmpty else { return replyList(req, keys: keys, merged) }

        // Commits land on whichever node the client uses: ask every other node for its values.
        var outstanding = links.count
        var failure: String?
        for link in links {
            node.rpc(to: link.peer, timeout: config.listTimeout, { w in
                w.field("type", "kf_list")
                w.arrayField("keys") { a in for k in keys { a.element(k) } }
            }, callback: { [weak self] result in
                guard let self else { return }
                switch result {
                case .ok(let reply):
                    reply.body["offsets"].forEachMember { key, value in
                        if let v = value.int, v > merged[key] ?? -1 { merged[key] = v }
                    }
                case .error(_, let text): failure = failure ?? "\(link.peer): \(text)"
                case .timeout: failure = failure ?? "\(link.peer) did not answer"
                }
                outstanding -= 1
                guard outstanding == 0 else { return }
                if let failure {
                    // A list changes nothing, so failing it is definite; answering from part of
                    // the cluster could report an offset older than one already acknowledged.
                    self.node.replyError(to: req, code: .temporarilyUnavailable,
                                         text: "could not read committed offsets from every node (\(failure))")
                } else {
                    self.replyList(req, keys: keys, merged)
                }
            })
        }
    }

    private func replyList(_ req: RequestRef, keys: [String], _ values: [String: Int]) {
        replyOffsets(req, type: "list_committed_offsets_ok", keys: keys, values)
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

    private func handlePeerList(_ m: Message) {
        guard let req = m.request else { return }
        guard let keys = requestedKeys(m) else {
            return node.replyError(to: req, code: .malformedRequest, text: "kf_list needs an array of strings field 'keys'")
        }
        replyOffsets(req, type: "kf_list_ok", keys: keys, committed)
    }

    // MARK: replication

    private func scheduleReplication(_ link: KafkaReplicationLink) {
        guard let due = link.nextSendTime(interval: config.replicationInterval,
                                          retransmitTimeout: config.retransmitTimeout) else { return }
        if due <= node.now {
            sendReplication(link)
            return
        }
        if let timer = link.timer {
            if link.timerAt <= due { return }
            node.cancel(timer)
        }
        link.timerAt = due
        link.timer = node.after(due - node.now) { [weak self, weak link] in
            guard let self, let link else { return }
            link.timer = nil
            self.scheduleReplication(link)
        }
    }

    private func sendReplication(_ link: KafkaReplicationLink) {
        if let timer = link.timer { node.cancel(timer); link.timer = nil }
        let resentBefore = link.unacked.filter { $0.lastSentAt + config.retransmitTimeout <= node.now }
        stats.replicatedEntriesResent += resentBefore.reduce(0) { $0 + $1.entryCount }
        let (ack, batches) = link.takeMessage(now: node.now, retransmitTimeout: config.retransmitTimeout,
                                              maxEntries: max(config.maxEntriesPerReplicationMessage, 1), logs: logs)
        stats.replicationMessages += 1
        node.send(to: link.peer) { w in
            w.field("type", "kf_repl")
            w.field("ack", ack)
            guard !batches.isEmpty else { return }
            w.arrayField("b") { a in
                for batch in batches {
                    a.arrayElement { b in
                        b.element(batch.seq)
                        b.arrayElement { runs in
                            for run in batch.runs {
                                runs.arrayElement { r in
                                    r.element(run.key)
                                    r.element(run.start)
                                    r.arrayElement { msgs in for msg in run.messages { msgs.element(msg) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        scheduleReplication(link) // more dirty keys than fit, or resends still pending
    }

    private func handleReplication(_ m: Message) {
        guard let link = linkByPeer[m.src] else { return }
        if let ack = m.body["ack"].int { link.acknowledged(through: ack) }
        m.body["b"].forEachElement { batch in
            guard let seq = batch[0].int else { return }
            guard link.receive(batch: seq) else { return }
            batch[1].forEachElement { run in
                guard let key = run[0].string, let start = run[1].int, let msgs = run[2].ints, start >= 0 else {
                    node.logger.warning("ignoring malformed replication run from \(m.src)")
                    return
                }
                guard owner(of: key) == m.src else {
                    node.logger.error("\(m.src) replicated key \(key), which it does not own; ignored")
                    return
                }
                if !log(key).apply(start: start, msgs) {
                    stats.inconsistentReplicas += 1
                    node.logger.error("replicated entries of key \(key) from \(start) contradict stored ones")
                }
            }
        }
        scheduleReplication(link)
    }
}

private struct FieldError: Error {
    let text: String
    init(_ text: String) { self.text = text }
}
