import EVCore

/// The local log that `PeerLinks` replicates: an append-only sequence of entries, each learned
/// from a client of this node or from one peer. Every outgoing link walks this same log, so a
/// link's pending state is a cursor, not a copy of the entries.
public protocol ReplicatedLog: AnyObject {
    associatedtype Entry
    /// Number of entries. The log only grows.
    var count: Int { get }
    /// Whether the entry at `index` goes to the peer with this index in `node.nodeIDs` (false for
    /// entries learned from that peer). Must not change once the entry exists.
    func shouldSend(_ index: Int, to peer: Int) -> Bool
    /// Writes the entry at `index` as one array element.
    func write(_ index: Int, into array: inout JSONWriter)
    /// Reads one element of a peer's batch; nil rejects the whole batch as malformed.
    func decode(_ element: JSON) -> Entry?
    /// Entries from `peer`, each exactly once. The log appends those it did not have.
    func apply(_ entries: ArraySlice<Entry>, from peer: Int)
}

/// Timing of the links. Flush intervals are per link (`PeerLinks.open`).
public struct PeerLinkConfig: Sendable {
    /// A received batch that no outgoing data message has acknowledged after this long gets a
    /// standalone ack. Longer means fewer messages but longer-lived in-flight records.
    public var ackDelay: Micros = .ms(1500)
    /// Data unacknowledged this long is resent from the acknowledged point (go-back-N); while a
    /// link is in that state it sends only such full resends, one per timeout. Must exceed
    /// ackDelay + round trip + the peer's flush interval, or healthy links resend for nothing.
    public var retransmitTimeout: Micros = .ms(3000)
    /// Cap on entries held from batches that arrived ahead of a gap (reordered or after a loss);
    /// beyond it such batches are dropped and come again with the next resend.
    public var maxBufferedEntries = 10_000

    public init() {}
}

/// Reliable, batched, ordered replication of a `ReplicatedLog` to chosen peers over Maelstrom's
/// lossy-under-partition network, with as few messages as possible:
///
/// - Each link direction numbers the entries it carries (sequence = position in the stream of
///   log entries this peer should get). A data message carries `from` (sequence of its first
///   entry), the entries `v`, and `ack`: how many entries of the reverse direction this node has
///   received in order. Acks ride on data; a standalone ack is sent only when a received batch
///   would otherwise wait longer than `ackDelay`, or at once for a resend (its sender is waiting).
/// - The sender keeps two cursors into the log (acked, sent) and the send times of messages in
///   flight, never a copy of the entries: memory per link is O(messages in flight).
/// - Data unacknowledged for `retransmitTimeout` is resent from the acked cursor in one message,
///   then once per timeout until acknowledged; nothing the peer acknowledged is ever resent.
/// - The receiver delivers each entry exactly once: duplicates are skipped by sequence, batches
///   beyond a gap wait in a bounded buffer until the gap is filled.
public final class PeerLinks<Log: ReplicatedLog> {
    public let dataType: String
    public let ackType: String
    public var messageTypes: [String] { [dataType, ackType] }
    public let config: PeerLinkConfig
    public private(set) var stats = Stats()

    private unowned let node: Node
    private let log: Log
    private var links: [String: Link] = [:]
    private var order: [Link] = [] // deterministic iteration

    public struct Stats: Sendable, Equatable {
        public var dataSent = 0, acksSent = 0, resends = 0
        /// Entries sent again by resends (0 while no message is lost).
        public var entriesResent = 0
        public var duplicateEntriesReceived = 0, batchesBuffered = 0, batchesDropped = 0, malformed = 0
    }

    /// A link's cursors, for tests and logs.
    public struct LinkState: Sendable, Equatable {
        public var acked: Int, sent: Int, received: Int, inFlight: Int, resending: Bool, buffered: Int
    }

    /// `dataType` and `ackType` are the message types of this instance (prefixed by the workload).
    public init(node: Node, log: Log, dataType: String, ackType: String, config: PeerLinkConfig) {
        self.node = node
        self.log = log
        self.dataType = dataType
        self.ackType = ackType
        self.config = config
    }

    /// Opens a link to `peer` (no-op if open). With `flushInterval` 0 new entries leave as soon
    /// as the current instant's work is done; otherwise at the next multiple of the interval on
    /// the node's clock, so all links with the same interval flush together.
    public func open(to peer: String, flushInterval: Micros) {
        guard links[peer] == nil, peer != node.id else { return }
        let link = Link(peer: peer, peerIndex: node.nodeIDs.firstIndex(of: peer) ?? -1, flushInterval: flushInterval)
        links[peer] = link
        order.append(link)
        scheduleFlush(link)
    }

    public var peers: [String] { order.map(\.peer) }

    public func state(of peer: String) -> LinkState? {
        links[peer].map {
            LinkState(acked: $0.acked.seq, sent: $0.sent.seq, received: $0.received, inFlight: $0.flights.count,
                      resending: $0.resending, buffered: $0.buffered.reduce(0) { $0 + $1.entries.count })
        }
    }

    /// The log gained entries: schedule a flush on every link (except towards `origin`, which
    /// cannot want them).
    public func logDidGrow(learnedFrom origin: String? = nil) {
        for link in order where link.peer != origin { scheduleFlush(link) }
    }

    // MARK: receiving

    /// Handles a message of `dataType` or `ackType`. `defaultFlushInterval` opens a link to a
    /// sender that has none yet (so its data is acknowledged rather than resent forever).
    public func handle(_ m: Message, defaultFlushInterval: Micros) {
        guard node.nodeIDs.contains(m.src) else {
            stats.malformed += 1
            node.logger.warning("\(m.type) from \(m.src), which is not a node; dropped")
            if let req = m.request {
                node.replyError(to: req, code: .notSupported, text: "\(m.type) is internal to the cluster")
            }
            return
        }
        if links[m.src] == nil { open(to: m.src, flushInterval: defaultFlushInterval) }
        guard let link = links[m.src] else { return }

        if m.type == dataType {
            guard let from = m.body["from"].int, from >= 0, m.body["v"].isArray else {
                stats.malformed += 1
                node.logger.error("\(m.type) from \(m.src) without integer 'from' or array 'v'; dropped")
                return
            }
            var entries: [Log.Entry] = []
            entries.reserveCapacity(m.body["v"].count)
            var bad = false
            m.body["v"].forEachElement { e in
                if let entry = log.decode(e) { entries.append(entry) } else { bad = true }
            }
            if bad {
                stats.malformed += 1
                node.logger.error("\(m.type) from \(m.src) with an undecodable entry; dropped")
                return
            }
            if let ack = m.body["ack"].int { receiveAck(ack, on: link) }
            receiveData(from: from, entries, resend: m.body["r"].bool ?? false, on: link)
        } else if let ack = m.body["ack"].int {
            receiveAck(ack, on: link)
        } else {
            stats.malformed += 1
            node.logger.error("\(m.type) from \(m.src) without integer 'ack'; dropped")
        }
    }

    private func receiveData(from: Int, _ entries: [Log.Entry], resend: Bool, on link: Link) {
        let end = from + entries.count
        if from > link.received {
            // Something before this batch is missing: hold it until the gap is filled.
            let held = link.buffered.reduce(0) { $0 + $1.entries.count }
            if held + entries.count > config.maxBufferedEntries || link.buffered.contains(where: { $0.from == from }) {
                stats.batchesDropped += 1
            } else if !entries.isEmpty {
                link.buffered.append((from, entries))
                stats.batchesBuffered += 1
            }
            if resend { sendAck(link) }
            return
        }
        if end <= link.received {
            // Already have all of it: our ack was lost or is late, and the sender is waiting.
            stats.duplicateEntriesReceived += entries.count
            sendAck(link)
            return
        }
        stats.duplicateEntriesReceived += link.received - from
        deliver(entries[(link.received - from)...], on: link)
        drainBuffered(link)
        if resend { sendAck(link) } else { owe(ackOn: link) }
    }

    private func deliver(_ entries: ArraySlice<Log.Entry>, on link: Link) {
        let before = log.count
        link.received += entries.count
        log.apply(entries, from: link.peerIndex)
        if log.count > before { logDidGrow(learnedFrom: link.peer) }
    }

    /// Delivers held batches that the in-order prefix has reached.
    private func drainBuffered(_ link: Link) {
        while let i = link.buffered.firstIndex(where: { $0.from <= link.received }) {
            let (from, entries) = link.buffered.remove(at: i)
            let end = from + entries.count
            if end > link.received {
                stats.duplicateEntriesReceived += link.received - from
                deliver(entries[(link.received - from)...], on: link)
            } else {
                stats.duplicateEntriesReceived += entries.count
            }
        }
    }

    private func owe(ackOn link: Link) {
        guard !link.ackOwed else { return }
        link.ackOwed = true
        link.ackTimer = node.after(config.ackDelay) { [weak self, weak link] in
            guard let self, let link else { return }
            link.ackTimer = nil
            guard link.ackOwed else { return }
            self.sendAck(link)
        }
    }

    private func sendAck(_ link: Link) {
        clearOwedAck(link)
        stats.acksSent += 1
        let received = link.received
        node.send(to: link.peer) { w in
            w.field("type", ackType)
            w.field("ack", received)
        }
    }

    private func clearOwedAck(_ link: Link) {
        link.ackOwed = false
        if let t = link.ackTimer { node.cancel(t); link.ackTimer = nil }
    }

    /// The peer has every entry with sequence < `ack`.
    private func receiveAck(_ ack: Int, on link: Link) {
        guard ack > link.acked.seq else { return } // old news
        guard ack <= link.sent.seq else {
            stats.malformed += 1
            node.logger.error("ack \(ack) from \(link.peer) beyond what was sent (\(link.sent.seq)); ignored")
            return
        }
        link.acked = advance(link.acked, toSeq: ack, for: link)
        let done = link.flights.prefix { $0.end <= ack }.count
        link.flights.removeFirst(done)
        if link.flights.isEmpty && link.resending {
            link.resending = false
            scheduleFlush(link) // what arrived during the outage
        }
    }

    /// Walks the log from `cursor` to the position of sequence `seq` of this link's stream.
    private func advance(_ cursor: Cursor, toSeq seq: Int, for link: Link) -> Cursor {
        var c = cursor
        while c.seq < seq && c.index < log.count {
            if log.shouldSend(c.index, to: link.peerIndex) { c.seq += 1 }
            c.index += 1
        }
        return c
    }

    // MARK: sending

    private func scheduleFlush(_ link: Link) {
        guard !link.flushScheduled, !link.resending else { return }
        link.flushScheduled = true
        let now = node.now
        let interval = link.flushInterval
        let at = interval <= 0 ? now : (now / interval + 1) * interval
        node.after(at - now) { [weak self, weak link] in
            guard let self, let link else { return }
            link.flushScheduled = false
            guard !link.resending else { return }
            self.sendData(on: link, from: link.sent, resend: false)
        }
    }

    /// Sends every entry from `start` to the end of the log that the peer should get, as one
    /// message (nothing if there is none), and records it as in flight.
    private func sendData(on link: Link, from start: Cursor, resend: Bool) {
        let end = log.count
        var n = 0
        for i in start.index..<end where log.shouldSend(i, to: link.peerIndex) { n += 1 }
        guard n > 0 else {
            // Nothing for this peer; skip the entries it does not want for good.
            if start == link.sent { link.sent.index = end }
            return
        }
        let log = self.log, peer = link.peerIndex, received = link.received
        node.send(to: link.peer) { w in
            w.field("type", dataType)
            w.field("from", start.seq)
            w.arrayField("v") { a in
                for i in start.index..<end where log.shouldSend(i, to: peer) { log.write(i, into: &a) }
            }
            w.field("ack", received)
            if resend { w.field("r", true) }
        }
        clearOwedAck(link)
        stats.dataSent += 1
        if resend {
            stats.resends += 1
            stats.entriesResent += min(n, max(0, link.sent.seq - start.seq))
        }
        link.sent = Cursor(seq: start.seq + n, index: end)
        link.flights.append(Flight(end: link.sent.seq, sentAt: node.now))
        armRetransmit(link)
    }

    private func armRetransmit(_ link: Link) {
        guard !link.retransmitArmed, let oldest = link.flights.first else { return }
        link.retransmitArmed = true
        node.after(oldest.sentAt + config.retransmitTimeout - node.now) { [weak self, weak link] in
            guard let self, let link else { return }
            link.retransmitArmed = false
            self.checkRetransmit(link)
        }
    }

    private func checkRetransmit(_ link: Link) {
        guard let oldest = link.flights.first else { return }
        if node.now < oldest.sentAt + config.retransmitTimeout {
            armRetransmit(link) // acks came in meanwhile; wait for the new oldest
            return
        }
        // Go back to what the peer is known to have and send it all again, then only this
        // (refreshed) resend until the peer acknowledges.
        link.resending = true
        link.flights.removeAll()
        sendData(on: link, from: link.acked, resend: true)
        if link.flights.isEmpty { link.resending = false } // nothing was outstanding after all
    }

    // MARK: state

    struct Cursor: Equatable {
        var seq = 0   // position in this link's stream
        var index = 0 // position in the log
    }

    struct Flight {
        let end: Int // sequence after the message's last entry
        let sentAt: Micros
    }

    final class Link {
        let peer: String
        let peerIndex: Int
        let flushInterval: Micros
        // outgoing
        var acked = Cursor()
        var sent = Cursor()
        var flights: [Flight] = []
        var resending = false
        var flushScheduled = false
        var retransmitArmed = false
        // incoming
        var received = 0
        var ackOwed = false
        var ackTimer: TimerID?
        var buffered: [(from: Int, entries: [Log.Entry])] = []

        init(peer: String, peerIndex: Int, flushInterval: Micros) {
            self.peer = peer
            self.peerIndex = peerIndex
            self.flushInterval = flushInterval
        }
    }
}
