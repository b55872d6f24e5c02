import EVCore

/// Challenges 3a–3e: every value broadcast to any node ends up on every node, with few messages.
///
/// A hub (the first of `node_ids`) relays everything; the given topology is ignored. A leaf sends
/// its clients' new values to the hub at once; the hub sends each leaf, every `hubFlushInterval`,
/// one message with all values that leaf does not have yet (never those that came from it). The
/// traffic runs over `PeerLinks` (sequence numbers, piggybacked cumulative acks, go-back-N resends
/// after a timeout), so partitions lose nothing and nothing is sent twice while none occur.
/// Client requests are answered at once; nothing waits on peers.
public final class Broadcast: Workload {
    public static let messageTypes = ["topology", "broadcast", "read", dataType, ackType]
    static let dataType = "bc_batch"
    static let ackType = "bc_ack"

    public struct Config: Sendable {
        /// How often the hub sends each leaf what it has not got (T_h). The main trade-off:
        /// messages ≈ 24 / T_h per second against latency ≈ 100 ms + up to T_h (docs/broadcast.md).
        public var hubFlushInterval: Micros = .ms(250)
        /// How long a leaf gathers its clients' values before sending them to the hub (0: as soon
        /// as the values of the current instant are in).
        public var leafFlushInterval: Micros = 0
        /// Acks and resends.
        public var link = PeerLinkConfig()

        public init() {}
    }

    public let config: Config
    public let values = BroadcastValues()
    public let links: PeerLinks<BroadcastValues>
    public let hub: String
    public let isHub: Bool
    private unowned let node: Node
    private let selfIndex: Int

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        self.config = config.broadcast
        selfIndex = node.nodeIDs.firstIndex(of: node.id) ?? -1
        hub = node.nodeIDs.first ?? node.id
        isHub = hub == node.id
        links = PeerLinks(node: node, log: values, dataType: Self.dataType, ackType: Self.ackType,
                          config: config.broadcast.link)
        if isHub {
            for peer in node.peers { links.open(to: peer, flushInterval: self.config.hubFlushInterval) }
        } else {
            links.open(to: hub, flushInterval: self.config.leafFlushInterval)
        }
    }

    public func handle(_ m: Message) {
        switch m.type {
        case "broadcast":
            guard let req = m.request else { return }
            guard let value = m.body["message"].int else {
                node.replyError(to: req, code: .malformedRequest, text: "broadcast needs an integer 'message'")
                return
            }
            let isNew = values.add(value, origin: selfIndex)
            node.reply(to: req, type: "broadcast_ok")
            if isNew { links.logDidGrow() }
        case "read":
            guard let req = m.request else { return }
            let all = values.values
            node.reply(to: req) { w in
                w.field("type", "read_ok")
                w.field("messages", ints: all)
            }
        case "topology":
            // The hub layout replaces the suggested topology (allowed by the challenge).
            guard let req = m.request else { return }
            node.reply(to: req, type: "topology_ok")
        default:
            links.handle(m, defaultFlushInterval: isHub ? config.hubFlushInterval : config.leafFlushInterval)
        }
    }
}
