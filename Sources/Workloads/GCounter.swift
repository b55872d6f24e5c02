import EVCore

/// Challenge 4 (and Maelstrom's pn-counter): a counter every node can add to and read while cut off.
///
/// Design (docs/gcounter.md): a state-based counter CRDT. Each node owns one entry of a vector
/// (its own positive and negative deltas); entries only grow, so merging is an element-wise max and
/// a value learned twice, late or out of order does no harm. Reads and adds are answered from local
/// state at once, so partitions never block a client.
///
/// Peers learn the whole vector (a few numbers) by gossip sent only when something changed, at most
/// one message per `gossipInterval` per peer, so the adds in between ride along. Each message
/// carries a sequence number and acknowledges the peer's latest one: a node keeps sending news
/// until the peer acknowledges it (every `retransmitInterval` while the peer is silent, so a
/// partition delays but never loses an add) and answers a peer's news with its own state, which is
/// the acknowledgement. An acknowledgement only needs answering if it brings news itself, so a quiet
/// cluster falls silent after one exchange.
///
/// seq-kv is the side channel for peers that stay silent past `suspectAfter` (cut off): the node
/// writes its own entry under `gc-<node>` and reads the silent peers' entries, so even an isolated
/// node's reads move. seq-kv is never partitioned; its reads may be stale (reference §10.2), which
/// is harmless here because a stale entry is only smaller and max ignores it, and the own write
/// just before the reads moves this node's seq-kv position to the newest state.
public final class GCounter: Workload {
    public static let messageTypes = ["add", "read", "gc_state"]

    public struct Config: Sendable {
        /// Least time between two gossip messages to one peer; adds in between are batched.
        public var gossipInterval: Micros = .ms(250)
        /// Resend period to a peer that has not answered since our last message.
        public var retransmitInterval: Micros = .ms(1000)
        /// A peer that has owed an answer this long is treated as cut off (seq-kv side channel).
        public var suspectAfter: Micros = .ms(1500)
        /// Exchange entries with cut-off peers through seq-kv (false: gossip only).
        public var seqKVSideChannel = true
        /// Period of seq-kv exchanges while some peer is cut off.
        public var seqKVInterval: Micros = .ms(1000)
        public var seqKVTimeout: Micros = .ms(1000)
        /// Observes value changes (the simulator measures convergence with it).
        public var probe: GCounterProbe?
        public init() {}
    }

    private unowned let node: Node
    private let config: Config
    /// Node ids in `node.nodeIDs` order; entries of every vector follow this order.
    private let ids: [String]
    private let indexOf: [String: Int]
    private let me: Int
    private var counts: [Entry]
    private var links: [Int: PeerLink] = [:]
    private let kv: KVClient
    /// Own entry as last written to seq-kv.
    private var writtenToSeqKV = Entry()
    private var seqKVExchangeRunning = false

    /// Counters for tests and the simulator's reports.
    public private(set) var stats = Stats()
    public struct Stats: Sendable {
        public var gossipSent = 0, gossipReceived = 0, seqKVWrites = 0, seqKVReads = 0, malformedGossip = 0
    }

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        self.config = config.gCounter
        ids = node.nodeIDs
        indexOf = Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        me = indexOf[node.id]!
        counts = Array(repeating: Entry(), count: ids.count)
        kv = KVClient(node: node, service: KVClient.seqKV, timeout: config.gCounter.seqKVTimeout)
        for (i, id) in ids.enumerated() where id != node.id {
            links[i] = PeerLink(count: ids.count)
        }
        if self.config.seqKVSideChannel && !links.isEmpty {
            node.every(self.config.seqKVInterval) { [weak self] in self?.exchangeThroughSeqKV() }
        }
    }

    /// The counter's value as this node knows it.
    public var value: Int { counts.reduce(0) { $0 &+ $1.value } }

    private var lastReportedValue = 0

    private func valueMayHaveChanged() {
        guard let probe = config.probe else { return }
        let v = value
        if v != lastReportedValue {
            lastReportedValue = v
            probe.valueChanged(on: node.id, at: node.now, to: v)
        }
    }

    public func handle(_ m: Message) {
        switch m.type {
        case "add": handleAdd(m)
        case "read": handleRead(m)
        case "gc_state": handleGossip(m)
        default:
            if let req = m.request { node.replyError(to: req, code: .notSupported, text: "g-counter does not handle \(m.type)") }
        }
    }

    // MARK: client requests

    private func handleAdd(_ m: Message) {
        guard let req = m.request else { return }
        guard let delta = m.body["delta"].int else {
            node.replyError(to: req, code: .malformedRequest, text: "add needs an integer field 'delta'")
            return
        }
        guard counts[me].add(delta) else {
            node.replyError(to: req, code: .malformedRequest, text: "delta \(delta) would overflow the counter")
            return
        }
        node.reply(to: req, type: "add_ok")
        valueMayHaveChanged()
        for peer in links.keys.sorted() { flush(peer) }
    }

    private func handleRead(_ m: Message) {
        guard let req = m.request else { return }
        let v = value
        node.reply(to: req) { w in
            w.field("type", "read_ok")
            w.field("value", v)
        }
    }

    // MARK: gossip

    private func handleGossip(_ m: Message) {
        guard let peer = indexOf[m.src], peer != me, let link = links[peer] else { return }
        guard let vector = decodeVector(m.body["c"]), let seq = m.body["s"].int, let ack = m.body["a"].int else {
            stats.malformedGossip += 1
            node.logger.warning("ignoring malformed gc_state from \(m.src)")
            return
        }
        stats.gossipReceived += 1
        link.received(vector: vector, seq: seq, ack: ack, now: node.now)
        if Entry.merge(&counts, vector) {
            valueMayHaveChanged()
            for p in links.keys.sorted() { flush(p) }
        } else {
            flush(peer) // perhaps only an acknowledgement is owed
        }
    }

    /// A live peer answers within its gossip interval; twice that without a word means trouble.
    /// Returns since when our news has waited for the silent peer (nil: the peer is not silent).
    private func silentSince(_ link: PeerLink) -> Micros? {
        link.silentSince(now: node.now, threshold: 2 * config.gossipInterval)
    }

    /// Sends to `peer` now if it is owed something and the rate limit allows, else arms its timer.
    private func flush(_ peer: Int) {
        guard let link = links[peer] else { return }
        guard link.ackOwed || link.lacks(counts) else {
            if let t = link.timer { node.cancel(t); link.timer = nil }
            return
        }
        // New content goes out after the gossip interval; a mere resend of what the peer has not
        // acknowledged, or anything to a peer that has gone silent, waits the retransmit interval.
        let fresh = link.ackOwed || link.hasUnsent(counts)
        let wait = fresh && silentSince(link) == nil ? config.gossipInterval : config.retransmitInterval
        let earliest = link.lastSentAt.map { $0 + max(wait, 1) } ?? node.now
        if earliest <= node.now {
            sendGossip(peer, link)
        } else if link.timer == nil || link.timerAt > earliest {
            if let t = link.timer { node.cancel(t) }
            link.timerAt = earliest
            link.timer = node.after(earliest - node.now) { [weak self, weak link] in
                link?.timer = nil
                self?.flush(peer)
            }
        }
    }

    private func sendGossip(_ peer: Int, _ link: PeerLink) {
        if let t = link.timer { node.cancel(t); link.timer = nil }
        let snapshot = counts
        let ids = self.ids
        let (seq, ack) = link.willSend(snapshot, now: node.now)
        node.send(to: ids[peer]) { w in
            w.field("type", "gc_state")
            w.field("s", seq)
            w.field("a", ack)
            w.objectField("c") { o in
                for (i, c) in snapshot.enumerated() where !c.isZero {
                    o.arrayField(ids[i]) { a in a.element(c.up); a.element(c.down) }
                }
            }
        }
        stats.gossipSent += 1
        flush(peer) // arms the resend in case this message is lost
    }

    /// `{"n0":[up,down],…}`; unknown node ids are skipped. nil if the shape is wrong.
    private func decodeVector(_ json: JSON) -> [Entry]? {
        guard json.isObject else { return nil }
        var vector = Array(repeating: Entry(), count: ids.count)
        var ok = true
        json.forEachMember { id, entry in
            guard let up = entry[0].int, let down = entry[1].int, up >= 0, down >= 0 else { ok = false; return }
            if let i = indexOf[id] { vector[i] = Entry(up: up, down: down) }
        }
        return ok ? vector : nil
    }

    // MARK: seq-kv side channel

    private static func seqKVKey(_ id: String) -> JSONValue { .string("gc-\(id)") }

    /// While some peer is silent, publish our own entry and fetch the silent peers' entries.
    private func exchangeThroughSeqKV() {
        guard !seqKVExchangeRunning else { return }
        let now = node.now
        let silent = links.keys.sorted().filter { p in
            links[p].flatMap(silentSince).map { now - $0 >= config.suspectAfter } ?? false
        }
        guard !silent.isEmpty else { return }
        seqKVExchangeRunning = true
        let own = counts[me]
        if own != writtenToSeqKV {
            stats.seqKVWrites += 1
            kv.write(Self.seqKVKey(ids[me]), [.int(own.up), .int(own.down)]) { [weak self] result in
                guard let self else { return }
                if case .ok = result { Entry.merge(&self.writtenToSeqKV, own) }
                self.readFromSeqKV(silent)
            }
        } else {
            readFromSeqKV(silent)
        }
    }

    private func readFromSeqKV(_ peers: [Int]) {
        var outstanding = peers.count
        for p in peers {
            stats.seqKVReads += 1
            kv.read(Self.seqKVKey(ids[p])) { [weak self] result in
                guard let self else { return }
                if case .ok(let v) = result, let up = v?[0]?.int, let down = v?[1]?.int, up >= 0, down >= 0 {
                    var learned = self.counts
                    learned[p] = Entry(up: up, down: down)
                    if Entry.merge(&self.counts, learned) {
                        self.valueMayHaveChanged()
                        for peer in self.links.keys.sorted() { self.flush(peer) }
                    }
                }
                outstanding -= 1
                if outstanding == 0 { self.seqKVExchangeRunning = false }
            }
        }
    }
}

extension GCounter {
    /// One node's entry of the counter vector: the sums of its positive and of its negative deltas.
    /// Both only grow, which is what makes max a correct merge.
    fileprivate struct Entry: Equatable {
        var up = 0, down = 0

        var value: Int { up &- down }
        var isZero: Bool { up == 0 && down == 0 }

        /// Adds a delta; false (and no change) if a sum would overflow.
        mutating func add(_ delta: Int) -> Bool {
            if delta >= 0 {
                let (sum, overflow) = up.addingReportingOverflow(delta)
                if overflow { return false }
                up = sum
            } else {
                guard delta != .min else { return false }
                let (sum, overflow) = down.addingReportingOverflow(-delta)
                if overflow { return false }
                down = sum
            }
            return true
        }

        /// Element-wise max; returns whether `a` changed.
        @discardableResult
        static func merge(_ a: inout Entry, _ b: Entry) -> Bool {
            let next = Entry(up: max(a.up, b.up), down: max(a.down, b.down))
            defer { a = next }
            return next != a
        }

        @discardableResult
        static func merge(_ a: inout [Entry], _ b: [Entry]) -> Bool {
            var changed = false
            for i in a.indices where i < b.count {
                if merge(&a[i], b[i]) { changed = true }
            }
            return changed
        }

        static func dominated(_ a: [Entry], by b: [Entry]) -> Bool {
            zip(a, b).allSatisfy { $0.up <= $1.up && $0.down <= $1.down }
        }
    }

    /// This node's side of the gossip link to one peer. Every message carries a sequence number
    /// `s` and `a`, the highest sequence number received from the peer, so each side knows which
    /// of its vectors the other holds without the other echoing them, and acknowledgements never
    /// need acknowledging.
    fileprivate final class PeerLink {
        /// What the peer surely has: the vectors it sent us merged with ours it acknowledged.
        private(set) var known: [Entry]
        /// Vectors we sent, by sequence number, until the peer acknowledges them.
        private var sent: [Int: [Entry]] = [:]
        /// Sequence numbers of sent messages that carried news for the peer, with their send times.
        private var news: [(seq: Int, at: Micros)] = []
        private var nextSeq = 1
        private var highestAckReceived = 0
        /// Highest sequence number received from the peer (our acknowledgement).
        private var highestSeqReceived = 0
        /// The peer sent us something it does not know we hold: it resends until we acknowledge.
        private(set) var ackOwed = false
        private(set) var lastSentAt: Micros?
        private var lastSentVector: [Entry]
        var timer: TimerID?
        var timerAt: Micros = 0

        private(set) var lastHeardAt: Micros?

        init(count: Int) {
            known = Array(repeating: Entry(), count: count)
            lastSentVector = known
        }

        /// Since when news we sent is unacknowledged (nil: the peer is up to date as far as we know).
        var awaitingSince: Micros? { news.first?.at }

        /// News is unacknowledged and the peer has not sent anything for `threshold`. (A live peer
        /// answers news within its own gossip interval; messages that cross each other acknowledge
        /// only the round before, so "nothing since our news" would misjudge a live peer.)
        /// Returns `awaitingSince` if so, else nil.
        func silentSince(now: Micros, threshold: Micros) -> Micros? {
            guard let since = awaitingSince else { return nil }
            guard let heard = lastHeardAt else { return since }
            return now - heard > threshold ? since : nil
        }

        /// Whether the peer may lack something of `counts`.
        func lacks(_ counts: [Entry]) -> Bool { !Entry.dominated(counts, by: known) }

        /// Whether `counts` holds something our last message did not carry.
        func hasUnsent(_ counts: [Entry]) -> Bool { !Entry.dominated(counts, by: lastSentVector) }

        func received(vector: [Entry], seq: Int, ack: Int, now: Micros) {
            lastHeardAt = now
            Entry.merge(&known, vector)
            // Our vector the peer acknowledges (nil for ack 0, or an ack overtaken by a later one).
            let acknowledged = sent[ack]
            if let acknowledged { Entry.merge(&known, acknowledged) }
            if ack > highestAckReceived {
                highestAckReceived = ack
                sent = sent.filter { $0.key >= ack }
                news.removeAll { $0.seq <= ack }
            }
            // The peer resends until it learns we hold its vector; if what it acknowledges of ours
            // does not cover its vector, it does not know yet.
            if !Entry.dominated(vector, by: acknowledged ?? Array(repeating: Entry(), count: vector.count)) {
                ackOwed = true
            }
            highestSeqReceived = max(highestSeqReceived, seq)
        }

        /// Records a message about to be sent; returns its sequence number and acknowledgement.
        func willSend(_ counts: [Entry], now: Micros) -> (seq: Int, ack: Int) {
            let seq = nextSeq
            nextSeq += 1
            if lacks(counts) { news.append((seq, now)) }
            sent[seq] = counts
            lastSentVector = counts
            ackOwed = false
            lastSentAt = now
            return (seq, highestSeqReceived)
        }
    }
}
