import EVCore

/// Reliable, batched, acknowledged, in-order delivery of a stream of entries to chosen peers over
/// Maelstrom's network (which drops messages under partitions and loses a killed node's state).
/// The one replication mechanism of evnode: broadcast, g-set, the counters, kafka and txn all use
/// it with their own entry type, through `ReplicatedState` (docs/replication.md).
///
/// - **Streams.** Each direction of a link numbers the entries it carries from 0. A data message
///   carries `from` (sequence of its first entry), the entries `v`, and `ack`: how many entries of
///   the reverse direction this node has received in order. Acks ride on data; a standalone ack is
///   sent only when a received batch would otherwise wait longer than `ackDelay`, or at once for a
///   resend (its sender is waiting).
/// - **Sending.** A link keeps the entries its peer has not acknowledged (nothing else: memory per
///   link is what is in flight) and flushes new ones every `flushInterval`, at most
///   `maxEntriesPerMessage` per message. Data unacknowledged for `retransmitTimeout` is resent from
///   the acknowledged point (go-back-N), one window per timeout, until the peer acknowledges; what
///   the peer acknowledged is never sent again. While resends go unanswered the wait doubles, up to
///   `maxBackoff` timeouts; any message from the peer resets it and resends at once. At most
///   `maxWindowsInFlight` windows are unacknowledged (flow control). No data (flush or resend) is
///   written while the node's output is congested.
/// - **Receiving.** Each entry is delivered exactly once and in order: duplicates are skipped by
///   sequence, batches beyond a gap wait in a bounded buffer until the gap is filled.
/// - **Incarnations.** Every message carries the sender's incarnation `i` (fixed per process) and
///   the incarnation of the receiver it is meant for, `ri` (0 while unknown). A message from an
///   older incarnation than one already heard is dropped; one addressed to an earlier incarnation
///   of this node is answered with an ack that tells the peer ours. A peer seen with a newer
///   incarnation was restarted and holds nothing: both directions of the link start again from 0
///   and the workload's `snapshot` (everything that peer should hold) is queued for it; its length
///   travels as `s`. A restarted process greets every peer until each answers (`startHandshake`)
///   and knows when a peer has delivered what it owed (`isCaughtUp`).
public final class Replicator<Entry: ReplicatedEntry> {
    public let channel: ReplicationChannel
    public let config: ReplicationConfig
    /// This process's incarnation: its wall clock at start, so a restarted node has a larger one.
    public let incarnation: Int
    /// Flush interval of links opened because a peer without a link sent data.
    public var defaultFlushInterval: Micros = 0
    /// Everything a restarted peer (by index in `node_ids`) should hold. nil: only what it had not
    /// acknowledged is sent again.
    public var snapshot: ((_ peer: Int) -> [Entry])?
    public private(set) var stats = Stats()

    private unowned let node: Node
    private var deliver: (ArraySlice<Entry>, Int) -> Void = { _, _ in }
    private var links: [String: Link] = [:]
    private var order: [Link] = [] // deterministic iteration
    /// Position of each node in `node_ids` (opening every link stays linear in the node count).
    private lazy var nodeIndex: [String: Int] = Dictionary(node.nodeIDs.enumerated().map { ($1, $0) },
                                                            uniquingKeysWith: { first, _ in first })

    public struct Stats: Sendable, Equatable {
        public var dataSent = 0, acksSent = 0, resends = 0
        /// Entries sent again by resends (0 while no message is lost).
        public var entriesResent = 0
        public var duplicateEntriesReceived = 0, batchesBuffered = 0, batchesDropped = 0, malformed = 0
        /// Peers seen restarted, and messages dropped because they belonged to another incarnation.
        public var peerRestarts = 0, staleIncarnation = 0
    }

    /// A link's cursors, for tests and logs.
    public struct LinkState: Sendable, Equatable {
        public var acked: Int, sent: Int, received: Int, inFlight: Int, resending: Bool, buffered: Int
        /// Entries kept for the peer (not yet acknowledged).
        public var unacknowledged: Int
    }

    public init(node: Node, channel: ReplicationChannel, config: ReplicationConfig) {
        self.node = node
        self.channel = channel
        self.config = config
        incarnation = Int(max(node.wallClock, 1))
    }

    /// `deliver` gets each entry a peer (by index in `node_ids`) sent, exactly once, in order.
    public func onDeliver(_ deliver: @escaping (ArraySlice<Entry>, _ peer: Int) -> Void) {
        self.deliver = deliver
    }

    /// Opens a link to `peer` (no-op if open). With `flushInterval` 0 new entries leave as soon
    /// as the current instant's work is done; otherwise at the next multiple of the interval on
    /// the node's clock, so all links with the same interval flush together.
    public func open(to peer: String, flushInterval: Micros) {
        guard links[peer] == nil, peer != node.id, let index = nodeIndex[peer] else { return }
        let link = Link(peer: peer, peerIndex: index, flushInterval: flushInterval)
        links[peer] = link
        order.append(link)
    }

    /// Opens a link to every peer with one flush interval (also the interval of links opened
    /// later, for peers that write first).
    public func openToAllPeers(flushInterval: Micros) {
        defaultFlushInterval = flushInterval
        for peer in node.peers { open(to: peer, flushInterval: flushInterval) }
    }

    public var peers: [String] { order.map(\.peer) }

    public func state(of peer: String) -> LinkState? {
        links[peer].map {
            LinkState(acked: $0.acked, sent: $0.sent, received: $0.received, inFlight: $0.flights.count,
                      resending: $0.resending, buffered: $0.bufferedCount, unacknowledged: $0.unacknowledged)
        }
    }

    /// Queues `entry` for every link except the one to node index `origin` (where it came from),
    /// and schedules their flushes.
    public func append(_ entry: Entry, except origin: Int? = nil) {
        for link in order where link.peerIndex != origin {
            if link.unsent > 0, let last = link.pending.last, entry.supersedes(last) {
                link.pending[link.pending.count - 1] = entry // not sent yet: nothing to renumber
            } else {
                link.pending.append(entry)
            }
            scheduleFlush(link)
        }
    }

    // MARK: handshake

    /// Greets every peer now and, until it answers, once per `retransmitTimeout`. A peer that knew
    /// an earlier process of this node answers with our new incarnation and the snapshot it queued
    /// for us, which is how a restarted node learns what it must recover (`isCaughtUp`).
    public func startHandshake() {
        for link in order where !link.heardCurrent { sendAck(link, hello: true) }
        guard order.contains(where: { !$0.heardCurrent }) else { return }
        node.after(config.retransmitTimeout) { [weak self] in self?.startHandshake() }
    }

    /// Whether the peer has answered this process and delivered the snapshot it owed it.
    public func isCaughtUp(with peer: String) -> Bool {
        guard let link = links[peer] else { return true }
        return link.heardCurrent && link.received >= link.peerSnapshotEnd
    }

    // MARK: receiving

    /// Handles a message of the channel's data or ack type. Throws for a malformed one.
    public func receive(_ m: Message) throws {
        if links[m.src] == nil { open(to: m.src, flushInterval: defaultFlushInterval) }
        guard let link = links[m.src] else { throw ProtocolError.notSupported("\(m.type) from \(m.src), which is not a peer") }
        guard let inc = m.body["i"].int, inc > 0 else { throw malformed(m, "a positive incarnation 'i'") }
        let addressed = m.body["ri"].int ?? 0

        if link.peerIncarnation == 0 {
            link.peerIncarnation = inc
        } else if inc < link.peerIncarnation {
            stats.staleIncarnation += 1 // from a process of that node that has since been replaced
            return
        } else if inc > link.peerIncarnation {
            restart(link, incarnation: inc)
        }
        if addressed != 0 && addressed != incarnation {
            // Meant for an earlier process of this node: its sequence numbers are not ours. Our
            // ack carries our incarnation, so the peer starts the link again.
            stats.staleIncarnation += 1
            sendAck(link)
            return
        }

        if addressed == incarnation { link.heardCurrent = true }
        if link.resending && link.backoff > 1 { resendNow(link) } // the peer is reachable again
        if let end = m.body["s"].int, end >= 0 { link.peerSnapshotEnd = end }
        defer { if m.body["h"].bool == true { sendAck(link) } } // a hello wants an answer now

        if m.type == channel.dataType {
            guard let from = m.body["from"].int, from >= 0 else { throw malformed(m, "a non-negative integer 'from'") }
            let v = m.body["v"]
            guard v.isArray else { throw malformed(m, "an array 'v'") }
            var entries: [Entry] = []
            entries.reserveCapacity(v.count)
            var bad = false
            v.forEachElement { e in
                if let entry = Entry(json: e) { entries.append(entry) } else { bad = true }
            }
            if bad { throw malformed(m, "well-formed entries in 'v'") }
            guard from <= Int.max - entries.count else { throw malformed(m, "a 'from' that leaves room for its entries") }
            if let ack = m.body["ack"].int { receiveAck(ack, on: link) }
            receiveData(from: from, entries, resend: m.body["r"].bool ?? false, on: link)
        } else {
            guard let ack = m.body["ack"].int else { throw malformed(m, "an integer 'ack'") }
            receiveAck(ack, on: link)
        }
    }

    private func malformed(_ m: Message, _ what: String) -> ProtocolError {
        stats.malformed += 1
        return .malformed("\(m.type) needs \(what)")
    }

    /// The peer is a new process: it holds nothing we sent and numbers its stream from 0.
    private func restart(_ link: Link, incarnation inc: Int) {
        node.logger.info("\(link.peer) restarted (incarnation \(inc)); \(channel.dataType) starts again")
        stats.peerRestarts += 1
        link.peerIncarnation = inc
        clearOwedAck(link)
        link.received = 0
        link.receivedAtLastAck = 0
        link.buffered.removeAll()
        link.heardCurrent = false
        link.peerSnapshotEnd = 0
        let resend = snapshot?(link.peerIndex) ?? Array(link.pending[link.pendingStart...])
        link.snapshotEnd = resend.count
        link.pending = resend
        link.pendingStart = 0
        link.acked = 0
        link.sent = 0
        link.maxSent = 0
        link.flights.removeAll()
        link.resending = false
        link.backoff = 1
        scheduleFlush(link)
    }

    private func receiveData(from: Int, _ entries: [Entry], resend: Bool, on link: Link) {
        let end = from + entries.count
        if from > link.received {
            // Something before this batch is missing: hold it until the gap is filled.
            if link.bufferedCount + entries.count > config.maxBufferedEntries || link.buffered.contains(where: { $0.from == from }) {
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
        take(entries[(link.received - from)...], on: link)
        drainBuffered(link)
        if resend || link.received - link.receivedAtLastAck >= config.maxEntriesPerMessage {
            sendAck(link)
        } else {
            owe(ackOn: link)
        }
    }

    private func take(_ entries: ArraySlice<Entry>, on link: Link) {
        link.received += entries.count
        link.checkCursors()
        deliver(entries, link.peerIndex)
    }

    /// Delivers held batches that the in-order prefix has reached.
    private func drainBuffered(_ link: Link) {
        while let i = link.buffered.firstIndex(where: { $0.from <= link.received }) {
            let (from, entries) = link.buffered.remove(at: i)
            let end = from + entries.count
            if end > link.received {
                stats.duplicateEntriesReceived += link.received - from
                take(entries[(link.received - from)...], on: link)
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

    private func sendAck(_ link: Link, hello: Bool = false) {
        clearOwedAck(link)
        stats.acksSent += 1
        let received = link.received, inc = incarnation, peerInc = link.peerIncarnation
        let snapshotEnd = link.snapshotEnd > link.acked ? link.snapshotEnd : 0
        node.send(to: link.peer) { w in
            w.field("type", channel.ackType)
            w.field("ack", received)
            w.field("i", inc)
            w.field("ri", peerInc)
            if snapshotEnd > 0 { w.field("s", snapshotEnd) }
            if hello { w.field("h", true) }
        }
    }

    private func clearOwedAck(_ link: Link) {
        link.receivedAtLastAck = link.received
        link.ackOwed = false
        if let t = link.ackTimer { node.cancel(t); link.ackTimer = nil }
    }

    /// The peer has every entry with sequence < `ack`.
    private func receiveAck(_ ack: Int, on link: Link) {
        guard ack > link.acked else { return } // old news
        guard ack <= link.maxSent else {
            stats.malformed += 1
            node.logger.debug("ack \(ack) from \(link.peer) beyond what was sent (\(link.maxSent)); ignored")
            return
        }
        link.dropAcknowledged(through: ack)
        link.backoff = 1
        link.sent = max(link.sent, ack)
        let done = link.flights.prefix { $0.end <= ack }.count
        link.flights.removeFirst(done)
        if link.flights.isEmpty && link.resending { link.resending = false }
        link.checkCursors()
        if link.unsent > 0 { scheduleFlush(link) } // what arrived during an outage, or the next window
    }

    // MARK: sending

    private func scheduleFlush(_ link: Link, after delay: Micros? = nil) {
        guard !link.flushScheduled, !link.resending else { return }
        link.flushScheduled = true
        let now = node.now
        let interval = link.flushInterval
        let at = delay.map { now + $0 } ?? (interval <= 0 ? now : (now / interval + 1) * interval)
        node.after(at - now) { [weak self, weak link] in
            guard let self, let link else { return }
            link.flushScheduled = false
            guard !link.resending, link.unsent > 0, !self.windowFull(link) else { return }
            if self.node.outputCongested {
                self.scheduleFlush(link, after: self.config.congestionRetry)
                return
            }
            self.sendData(on: link, from: link.sent, resend: false)
            if link.unsent > 0 && !self.windowFull(link) { self.scheduleFlush(link) }
        }
    }

    /// Flow control: enough is unacknowledged; the next ack schedules the flush.
    private func windowFull(_ link: Link) -> Bool {
        link.sent - link.acked >= config.maxEntriesPerMessage * max(config.maxWindowsInFlight, 1)
    }

    /// Sends the entries from sequence `start` on (at most one window) as one message and records
    /// it as in flight.
    private func sendData(on link: Link, from start: Int, resend: Bool) {
        let n = min(link.acked + link.unacknowledged - start, config.maxEntriesPerMessage)
        guard n > 0 else { return }
        let first = link.pendingStart + (start - link.acked)
        let entries = link.pending[first..<(first + n)]
        let received = link.received, inc = incarnation, peerInc = link.peerIncarnation
        let snapshotEnd = link.snapshotEnd > start ? link.snapshotEnd : 0
        node.send(to: link.peer) { w in
            w.field("type", channel.dataType)
            w.field("from", start)
            w.arrayField("v") { a in for e in entries { e.write(into: &a) } }
            w.field("ack", received)
            w.field("i", inc)
            w.field("ri", peerInc)
            if snapshotEnd > 0 { w.field("s", snapshotEnd) }
            if resend { w.field("r", true) }
        }
        clearOwedAck(link)
        stats.dataSent += 1
        if resend {
            stats.resends += 1
            stats.entriesResent += min(n, max(0, link.maxSent - start))
        }
        link.sent = start + n
        link.maxSent = max(link.maxSent, link.sent)
        link.flights.append(Flight(end: link.sent, sentAt: node.now))
        link.checkCursors()
        armRetransmit(link)
    }

    /// The wait before resending on `link`: the timeout, times its backoff.
    private func retransmitTimeout(_ link: Link) -> Micros { config.retransmitTimeout * Micros(link.backoff) }

    private func armRetransmit(_ link: Link, after delay: Micros? = nil) {
        guard !link.retransmitArmed, let oldest = link.flights.first else { return }
        link.retransmitArmed = true
        node.after(delay ?? (oldest.sentAt + retransmitTimeout(link) - node.now)) { [weak self, weak link] in
            guard let self, let link else { return }
            link.retransmitArmed = false
            self.checkRetransmit(link)
        }
    }

    private func checkRetransmit(_ link: Link) {
        guard let oldest = link.flights.first else { return }
        if node.now < oldest.sentAt + retransmitTimeout(link) {
            armRetransmit(link) // acks came in meanwhile; wait for the new oldest
            return
        }
        if node.outputCongested {
            armRetransmit(link, after: config.congestionRetry)
            return
        }
        // A resend that went unanswered: wait longer before the next one.
        if link.resending { link.backoff = min(link.backoff * 2, max(config.maxBackoff, 1)) }
        resend(link)
    }

    /// Goes back to what the peer is known to have and sends one window again; then only this
    /// (refreshed) resend goes out until the peer acknowledges.
    private func resend(_ link: Link) {
        link.resending = true
        link.flights.removeAll()
        sendData(on: link, from: link.acked, resend: true)
        if link.flights.isEmpty { link.resending = false } // nothing was outstanding after all
    }

    /// The peer was heard while our resends backed off: resend now, with the backoff reset.
    private func resendNow(_ link: Link) {
        link.backoff = 1
        guard !node.outputCongested else { return }
        resend(link)
    }

    // MARK: state

    struct Flight {
        let end: Int // sequence after the message's last entry
        let sentAt: Micros
    }

    final class Link {
        let peer: String
        let peerIndex: Int
        let flushInterval: Micros
        var peerIncarnation = 0
        /// A message addressed to this process arrived from the peer's current incarnation.
        var heardCurrent = false
        /// After the peer restarted: the length of the snapshot that starts our stream to it.
        var snapshotEnd = 0
        /// The length of the snapshot that starts the peer's stream to us (0: none).
        var peerSnapshotEnd = 0
        // outgoing: `pending[pendingStart...]` are the entries from sequence `acked` on
        var pending: [Entry] = []
        var pendingStart = 0
        var acked = 0
        var sent = 0
        var maxSent = 0
        var flights: [Flight] = []
        var resending = false
        /// Multiplier of the retransmit timeout (doubles per unanswered resend).
        var backoff = 1
        var flushScheduled = false
        var retransmitArmed = false
        // incoming
        var received = 0
        /// `received` as last acknowledged to the peer (on data or in an ack).
        var receivedAtLastAck = 0
        var ackOwed = false
        var ackTimer: TimerID?
        var buffered: [(from: Int, entries: [Entry])] = []

        init(peer: String, peerIndex: Int, flushInterval: Micros) {
            self.peer = peer
            self.peerIndex = peerIndex
            self.flushInterval = flushInterval
        }

        /// The cursors' order (debug builds check it after every change of a cursor):
        /// acked ≤ sent ≤ maxSent, sent ≤ acked + unacknowledged, flights end in increasing order
        /// within (acked, sent], and the receive side never goes back past what it acknowledged.
        func checkCursors() {
            assert(0 <= pendingStart && pendingStart <= pending.count, "pending window out of range")
            assert(acked <= sent && sent <= maxSent, "acked \(acked) ≤ sent \(sent) ≤ maxSent \(maxSent) broken")
            assert(sent <= acked + unacknowledged, "sent \(sent) beyond what is queued")
            assert(zip(flights, flights.dropFirst()).allSatisfy { $0.end < $1.end }, "flights out of order")
            assert(flights.allSatisfy { $0.end > acked && $0.end <= sent }, "a flight outside (acked, sent]")
            assert(receivedAtLastAck <= received, "acknowledged more than received")
        }

        var unacknowledged: Int { pending.count - pendingStart }
        var unsent: Int { acked + unacknowledged - sent }
        var bufferedCount: Int { buffered.reduce(0) { $0 + $1.entries.count } }

        /// Forgets the entries before sequence `ack`; compacts the array once the dead prefix is
        /// large, so trimming costs amortized O(1) per entry.
        func dropAcknowledged(through ack: Int) {
            pendingStart += ack - acked
            acked = ack
            if pendingStart == pending.count {
                pending.removeAll(keepingCapacity: true)
                pendingStart = 0
            } else if pendingStart > 1024 && pendingStart * 2 > pending.count {
                pending.removeFirst(pendingStart)
                pendingStart = 0
            }
        }
    }
}
