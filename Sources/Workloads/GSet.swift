import EVCore

public extension WorkloadKind { static let gSet = WorkloadKind("g-set") }

/// Maelstrom's g-set: `add {element}` and `read` → all elements, available under partitions.
/// A grow-only set of integers replicated through a hub, the layout broadcast uses
/// (docs/replication.md), with a longer flush: Maelstrom's g-set test reads far less often.
public final class GSet: GrowOnlySetWorkload {
    public static let kind = WorkloadKind.gSet
    public static let replicationName = "gs"

    public static let handlers = Handlers<GSet> { h in
        h.on("add", when: .has("element"), example: ["element": 5]) { g, m in try g.add(m) }
        h.on("read", example: [:]) { g, m in try g.read(m) }
        h.replicated(example: [4, 5, 6])
    }

    public struct Config: Sendable {
        /// The hub's flush to each leaf (T_h, swept in docs/gset.md) and a leaf's to the hub (0: at once).
        public var hubFlushInterval: Micros = .ms(1500)
        public var leafFlushInterval: Micros = 0
        /// The ack delay exceeds T_h, so the hub's acks ride on its flushes.
        public var link = ReplicationConfig(ackDelay: .ms(2000), retransmitTimeout: .ms(4000), maxBackoff: 2)
        public init() {}
    }

    public let set = GrowOnlySet()
    public let replicated: ReplicatedState<GSet>
    unowned let node: Node

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        let c = config.gSet
        replicated = ReplicatedState(node: node,
                                     topology: .hub(hubFlush: c.hubFlushInterval, leafFlush: c.leafFlushInterval),
                                     link: c.link, durability: config.durability)
        replicated.attach(self)
    }

    public func merge(_ element: Int) -> Bool { set.add(element) }

    public func snapshot() -> [Int] { set.elements }

    private func add(_ m: Message) throws {
        let req = try m.requireRequest()
        add(try m.int("element"), answering: req, with: "add_ok")
    }

    private func read(_ m: Message) throws {
        readAll(answering: try m.requireRequest(), in: "value")
    }
}
