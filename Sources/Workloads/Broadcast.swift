import EVCore

/// Challenges 3a–3e: every value broadcast to any node ends up on every node, with few messages.
///
/// A hub (the first of `node_ids`) relays everything; the given topology is ignored. A leaf sends
/// its clients' new values to the hub at once; the hub sends each leaf, every `hubFlushInterval`,
/// one message with all values that leaf does not have yet (never those that came from it). The
/// traffic runs over the `Replicator` (sequence numbers, piggybacked cumulative acks, go-back-N
/// resends after a timeout), so partitions lose nothing and nothing is sent twice while none occur.
/// Client requests are answered at once; nothing waits on peers.
public final class Broadcast: Workload {
    public static let channel = ReplicationChannel(prefix: "bc")

    public static let handlers = Handlers<Broadcast> { h in
        h.on("broadcast") { b, m in try b.broadcast(m) }
        // A read before any broadcast message belongs to g-counter, which has no opening message.
        h.on("read", opensWorkload: false) { b, m in try b.read(m) }
        h.on("topology") { b, m in try b.topology(m) }
        h.replication(channel) { $0.links }
    }

    public struct Config: Sendable {
        /// How often the hub sends each leaf what it has not got (T_h). The main trade-off:
        /// messages ≈ 24 / T_h per second against latency ≈ 100 ms + up to T_h (docs/broadcast.md).
        public var hubFlushInterval: Micros = .ms(250)
        /// How long a leaf gathers its clients' values before sending them to the hub (0: as soon
        /// as the values of the current instant are in).
        public var leafFlushInterval: Micros = 0
        /// Acks and resends. Resends back off to at most 6 s, so after a heal both hops of the hub
        /// relay catch up well inside Maelstrom's 10 s recovery wait.
        public var link = ReplicationConfig(ackDelay: .ms(1500), retransmitTimeout: .ms(3000), maxBackoff: 2)

        public init() {}
    }

    public let config: Config
    public let values = BroadcastValues()
    public let links: Replicator<Int>
    public let hub: String
    public let isHub: Bool
    private unowned let node: Node
    /// Durable mode: every value this node acknowledges, in the kv service.
    private var durable: DurableLog<Int>?

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        self.config = config.broadcast
        hub = node.nodeIDs.first ?? node.id
        isHub = hub == node.id
        let values = self.values
        links = Replicator(node: node, channel: Self.channel, config: config.broadcast.link)
        if isHub {
            for peer in node.peers { links.open(to: peer, flushInterval: self.config.hubFlushInterval) }
        } else {
            links.open(to: hub, flushInterval: self.config.leafFlushInterval)
        }
        links.defaultFlushInterval = isHub ? self.config.hubFlushInterval : self.config.leafFlushInterval
        // A restarted peer lost every value: it gets them all again.
        links.snapshot = { _ in values.values }
        links.onDeliver { [unowned self] entries, peer in
            for v in entries where self.values.add(v) { self.links.append(v, except: peer) }
        }
        durable = DurableLog.open(node: node, name: "bc", config: config.durability) { [unowned self] stored in
            for v in stored where self.values.add(v) { self.links.append(v) }
        }
    }


    /// A restarted process greets every peer, so each notices the new incarnation and resends.
    public func joined(restarted: Bool) {
        if restarted { links.startHandshake() }
    }
    private func broadcast(_ m: Message) throws {
        let req = try m.requireRequest()
        let value = try m.int("message")
        if values.add(value) { links.append(value) }
        guard let durable else { return node.reply(to: req, type: "broadcast_ok") }
        durable.store([value]) { [unowned self] in self.node.reply(to: req, type: "broadcast_ok") }
    }

    private func read(_ m: Message) throws {
        let req = try m.requireRequest()
        let all = values.values
        node.reply(to: req) { w in
            w.field("type", "read_ok")
            w.field("messages", ints: all)
        }
    }

    /// The hub layout replaces the suggested topology (allowed by the challenge).
    private func topology(_ m: Message) throws {
        node.reply(to: try m.requireRequest(), type: "topology_ok")
    }
}
