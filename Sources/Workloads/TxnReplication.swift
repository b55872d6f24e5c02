import EVCore

/// Ships this node's committed transactions to every peer, reliably and in batches.
///
/// Each node numbers its own committed write transactions 1, 2, 3, … (`seq`). Per peer it keeps
/// two cursors, `acked` (the peer confirmed everything up to here) and `sent`, and per peer the
/// in-order high-water mark of what it received (`received`). Every `replicationInterval` a node
/// sends each peer at most one `tx_repl` message:
///
///     {"type":"tx_repl","ack":R,"from":S,"entries":[[counter,[[k,v],…]],…]}
///
/// carrying the entries after `sent` (their seqs are S, S+1, …) and, piggybacked, `ack` = its own
/// `received` for that peer. A node with nothing to send acknowledges on its own only after
/// `ackDelay`. When entries stay unconfirmed for `retransmitTimeout` the link is considered
/// stalled (a partition, most likely): instead of streaming into the void it then sends one probe
/// per `probeInterval`, carrying the entries from `acked` on (go-back-N). The first ack that makes
/// progress ends the stall and streaming resumes. Partitions drop messages, never entries. The
/// receiver applies entries strictly in seq order, each exactly once, each atomically; entries
/// after a gap are dropped and come again with a probe. The log keeps only entries some peer has
/// not confirmed.
public final class TxnReplication {
    public static let messageType = "tx_repl"

    /// One committed transaction: its Lamport counter and its final writes.
    public struct Entry {
        public let counter: Int
        public let writes: [(key: JSONValue, value: JSONValue)]
    }

    public struct Stats: Sendable {
        public var messagesSent = 0, standaloneAcks = 0, entriesSent = 0, goBackN = 0
        public var entriesApplied = 0, duplicatesSkipped = 0, entriesAfterGap = 0, malformed = 0
    }

    private struct Link {
        var acked = 0
        var sent = 0
        /// When entries after `acked` were (re)sent and still await confirmation.
        var waitingSince: Micros?
        var received = 0
        /// When the oldest not-yet-acknowledged receipt arrived.
        var ackOwedSince: Micros?
        /// No ack progress for `retransmitTimeout`: only probes go out until one is confirmed.
        var stalled = false
        var lastProbeAt: Micros = 0
    }

    public private(set) var stats = Stats()
    private unowned let node: Node
    private let config: Txn.Config
    private let apply: (Entry, Int) -> Void
    /// Own entries some peer has not confirmed: `log[logStart...]` hold seqs `firstSeq...`.
    private var log: [Entry] = []
    private var logStart = 0
    private var firstSeq = 1
    public private(set) var lastSeq = 0
    private var links: [String: Link] = [:]

    /// `apply` receives a peer's entry and the peer's index in `node_ids`.
    init(node: Node, config: Txn.Config, apply: @escaping (Entry, Int) -> Void) {
        self.node = node
        self.config = config
        self.apply = apply
        for peer in node.peers { links[peer] = Link() }
        if !node.peers.isEmpty {
            node.every(config.replicationInterval) { [weak self] in self?.flush() }
        }
    }

    /// Adds a committed transaction; returns its seq.
    @discardableResult
    func append(_ entry: Entry) -> Int {
        lastSeq += 1
        if !links.isEmpty { log.append(entry) } else { firstSeq = lastSeq + 1 }
        return lastSeq
    }

    private func entry(seq: Int) -> Entry { log[logStart + seq - firstSeq] }

    // MARK: sending

    private func flush() {
        let now = node.now
        for peer in node.peers {
            guard var link = links[peer] else { continue }
            if !link.stalled, let since = link.waitingSince, link.acked < link.sent, now - since >= config.retransmitTimeout {
                link.stalled = true
                link.lastProbeAt = now - config.probeInterval // probe right away
                stats.goBackN += 1
            }
            let ackDue = link.ackOwedSince.map { now - $0 >= config.ackDelay } ?? false
            let hasData: Bool
            if link.stalled {
                hasData = now - link.lastProbeAt >= config.probeInterval
                if hasData {
                    link.sent = link.acked // go back N: resend from the first unconfirmed entry
                    link.lastProbeAt = now
                }
            } else {
                hasData = link.sent < lastSeq
            }
            guard hasData || ackDue else { continue }

            let from = link.sent + 1
            let upTo = min(lastSeq, link.sent + config.maxEntriesPerMessage)
            let ack = link.received
            node.send(to: peer) { w in
                w.field("type", Self.messageType)
                w.field("ack", ack)
                guard from <= upTo else { return }
                w.field("from", from)
                w.arrayField("entries") { a in
                    for seq in from...upTo {
                        let e = entry(seq: seq)
                        a.arrayElement { item in
                            item.element(e.counter)
                            item.arrayElement { writes in
                                for (key, value) in e.writes {
                                    writes.arrayElement { pair in pair.element(key); pair.element(value) }
                                }
                            }
                        }
                    }
                }
            }
            stats.messagesSent += 1
            if hasData {
                stats.entriesSent += upTo - from + 1
                link.sent = upTo
                if link.waitingSince == nil { link.waitingSince = now }
            } else {
                stats.standaloneAcks += 1
            }
            link.ackOwedSince = nil
            links[peer] = link
        }
    }

    // MARK: receiving

    func receive(_ m: Message) {
        guard m.src != node.id, let origin = node.nodeIDs.firstIndex(of: m.src), var link = links[m.src] else {
            node.logger.warning("tx_repl from unknown peer \(m.src) ignored")
            return
        }
        if let ack = m.body["ack"].int, ack > link.acked, ack <= lastSeq {
            link.acked = ack
            link.sent = max(link.sent, ack)
            link.waitingSince = link.acked < link.sent ? node.now : nil
            link.stalled = false
        }

        let entries = m.body["entries"]
        if entries.count > 0, let from = m.body["from"].int {
            for i in 0..<entries.count {
                let seq = from + i
                if seq <= link.received { stats.duplicatesSkipped += 1; continue }
                if seq > link.received + 1 { stats.entriesAfterGap += entries.count - i; break }
                guard let entry = Self.decode(entries[i]) else {
                    stats.malformed += 1
                    node.logger.error("malformed tx_repl entry \(seq) from \(m.src); waiting for a resend")
                    break
                }
                apply(entry, origin)
                link.received = seq
                stats.entriesApplied += 1
                config.probe?.applied(origin: m.src, seq: seq, on: node.id, at: node.now)
            }
            // The sender waits for this ack (also after duplicates: its resend means ours was lost).
            if link.ackOwedSince == nil { link.ackOwedSince = node.now }
        }
        links[m.src] = link
        trimLog()
    }

    private static func decode(_ item: JSON) -> Entry? {
        guard item.isArray, item.count == 2, let counter = item[0].int, item[1].isArray else { return nil }
        let list = item[1]
        var writes: [(key: JSONValue, value: JSONValue)] = []
        writes.reserveCapacity(list.count)
        for j in 0..<list.count {
            let pair = list[j]
            guard pair.isArray, pair.count == 2, let key = pair[0].value, let value = pair[1].value else { return nil }
            writes.append((key, value))
        }
        return Entry(counter: counter, writes: writes)
    }

    /// Drops entries every peer confirmed.
    private func trimLog() {
        let confirmed = links.values.map(\.acked).min() ?? lastSeq
        guard confirmed >= firstSeq else { return }
        logStart += confirmed - firstSeq + 1
        firstSeq = confirmed + 1
        if logStart > 1024 && logStart * 2 > log.count {
            log.removeFirst(logStart)
            logStart = 0
        }
    }

    /// Own entries not yet confirmed by every peer.
    public var unconfirmedCount: Int { lastSeq - firstSeq + 1 }
}

/// Records when each replicated transaction committed and when each peer applied it, so the
/// simulator can measure visibility latency. Not used in production (the config leaves it nil).
public final class TxnReplicationProbe: @unchecked Sendable {
    /// origin → commit time of seq i+1.
    public private(set) var commits: [String: [Micros]] = [:]
    /// origin → node → seq → time applied there.
    public private(set) var applies: [String: [String: [Int: Micros]]] = [:]

    public init() {}

    func committed(origin: String, seq: Int, at time: Micros) {
        var list = commits[origin, default: []]
        if list.count == seq - 1 { list.append(time) }
        commits[origin] = list
    }

    func applied(origin: String, seq: Int, on node: String, at time: Micros) {
        applies[origin, default: [:]][node, default: [:]][seq] = time
    }

    /// For every committed write transaction and every other node: the time from its commit (and
    /// client acknowledgement, which happen together) to its application there. `missing`
    /// counts (transaction, node) pairs never applied.
    public func visibilityLags(nodeIDs: [String]) -> (lags: [Micros], missing: Int) {
        var lags: [Micros] = []
        var missing = 0
        for (origin, times) in commits {
            for other in nodeIDs where other != origin {
                let applied = applies[origin]?[other] ?? [:]
                for (i, t) in times.enumerated() {
                    if let at = applied[i + 1] { lags.append(at - t) } else { missing += 1 }
                }
            }
        }
        return (lags.sorted(), missing)
    }
}
