import EVCore

public extension WorkloadKind { static let broadcast = WorkloadKind("broadcast") }

/// Challenges 3a–3e: every value broadcast to any node ends up on every node, with few messages.
///
/// The values are a grow-only set replicated through a hub (the first of `node_ids`; the given
/// topology is ignored): a leaf sends its clients' new values to the hub at once; the hub sends
/// each leaf, every `hubFlushInterval`, one message with all values that leaf does not have yet
/// (never those that came from it). The links resend until acknowledged, so partitions lose
/// nothing and nothing is sent twice while none occur (docs/broadcast.md). Client requests are
/// answered at once; nothing waits on peers (in durable mode a new value is answered once it is
/// stored, and a restarted process answers reads once it has recovered: docs/faults.md).
public final class Broadcast: GrowOnlySetWorkload {
    public static let kind = WorkloadKind.broadcast
    public static let replicationName = "bc"

    public static let handlers = Handlers<Broadcast> { h in
        h.on("broadcast", example: ["message": 1000]) { b, m in try b.broadcast(m) }
        h.on("read", example: [:]) { b, m in try b.read(m) }
        h.on("topology", example: ["topology": ["n0": ["n1"], "n1": ["n0", "n2"], "n2": ["n1"]]]) { b, m in try b.topology(m) }
        h.replicated(example: [1, 2, 3])
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

    public let set = GrowOnlySet()
    public let replicated: ReplicatedState<Broadcast>
    unowned let node: Node

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        let c = config.broadcast
        replicated = ReplicatedState(node: node,
                                     topology: .hub(hubFlush: c.hubFlushInterval, leafFlush: c.leafFlushInterval),
                                     link: c.link, durability: config.durability)
        replicated.attach(self)
    }

    /// The replication links (for tests and the simulator's figures).
    public var links: Replicator<Int> { replicated.links }

    public func merge(_ value: Int) -> Bool { set.add(value) }

    public func snapshot() -> [Int] { set.elements }

    private func broadcast(_ m: Message) throws {
        let req = try m.requireRequest()
        add(try m.int("message"), answering: req, with: "broadcast_ok")
    }

    private func read(_ m: Message) throws {
        readAll(answering: try m.requireRequest(), in: "messages")
    }

    /// The hub layout replaces the suggested topology (allowed by the challenge).
    private func topology(_ m: Message) throws {
        node.reply(to: try m.requireRequest(), type: "topology_ok")
    }
}
