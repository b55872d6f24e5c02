import EVCore

/// A workload whose state is replicated as a stream of entries: broadcast, g-set, the counters,
/// txn-rw-register and kafka. The workload says what its state is (`merge`, `snapshot`); its
/// `ReplicatedState` says how that state travels (docs/replication.md), so the workload's file
/// holds its client handlers and its merge, nothing else.
public protocol ReplicatedWorkload: Workload {
    associatedtype Entry: ReplicatedEntry
    /// Names the channel (`<name>_data`, `<name>_ack`) and the durable log (`evnode/<name>/…`).
    static var replicationName: String { get }
    var replicated: ReplicatedState<Self> { get }
    /// Merges an entry from a peer or from the durable store into the state; true if it changed
    /// it (only those are relayed by a hub). Must be idempotent and order-insensitive where the
    /// workload says so: entries arrive late, twice after restarts, and from every node's store.
    func merge(_ entry: Entry) -> Bool
    /// Everything a restarted peer should hold.
    func snapshot() -> [Entry]
}

public extension ReplicatedWorkload {
    static var channel: ReplicationChannel { ReplicationChannel(prefix: replicationName) }

    /// A restarted process greets every peer, so each notices the new incarnation and resends.
    func joined(restarted: Bool) { replicated.joined(restarted: restarted) }
}

/// How a replicated state's entries travel between the nodes.
public enum ReplicationTopology: Sendable {
    /// Every node sends its own new entries to every other node, each link at most once per
    /// interval; what a node receives it does not pass on.
    case mesh(flushInterval: Micros)
    /// The first node of `node_ids` relays: a leaf sends its new entries to the hub (at most once
    /// per `leafFlush`), the hub sends each leaf, at most once per `hubFlush`, the entries that
    /// changed its state and did not come from that leaf. Each entry crosses N−1 links.
    case hub(hubFlush: Micros, leafFlush: Micros)
}

/// A workload's replication, in one place: the channel and its `Replicator` (links per the
/// topology, relaying at a hub), the snapshot a restarted peer is sent, the restart handshake, and
/// durable mode's `DurableLog`.
///
/// Durable mode's rule: an entry becomes visible, locally and to peers, only once it is stored
/// (`publish`), and a restarted process serves nothing that depends on the state before it has
/// recovered every node's stored entries (`whenRecovered`). So whatever a client was shown (an
/// acknowledgement or a read) is in the store, and after a restart of every node at once no read
/// can show less than one before the kill.
public final class ReplicatedState<W: ReplicatedWorkload> {
    public let links: Replicator<W.Entry>
    /// Durable mode's store of this node's entries (nil when off).
    public private(set) var durable: DurableLog<W.Entry>?
    private unowned let node: Node
    private let relays: Bool
    private let durability: DurabilityConfig
    /// Work that waits for recovery, in arrival order.
    private var waiting: [() -> Void] = []

    /// Opens the links of `topology`. The workload then calls `attach` once it is initialized.
    public init(node: Node, topology: ReplicationTopology, link: ReplicationConfig, durability: DurabilityConfig) {
        self.node = node
        self.durability = durability
        links = Replicator(node: node, channel: W.channel, config: link)
        switch topology {
        case .mesh(let interval):
            links.openToAllPeers(flushInterval: interval)
            relays = false
        case .hub(let hubFlush, let leafFlush):
            let hub = node.nodeIDs.first ?? node.id
            relays = hub == node.id
            if relays {
                links.openToAllPeers(flushInterval: hubFlush)
            } else {
                links.open(to: hub, flushInterval: leafFlush)
                links.defaultFlushInterval = leafFlush
            }
        }
    }

    /// Connects the workload's state: entries delivered by peers merge into it (and a hub relays
    /// those that changed it), restarted peers get its snapshot, and durable mode starts recovering.
    public func attach(_ owner: W) {
        precondition(durable == nil, "attached twice")
        links.snapshot = { [unowned owner] _ in owner.snapshot() }
        let relays = self.relays
        links.onDeliver { [unowned self, unowned owner] entries, peer in
            for e in entries where owner.merge(e) && relays { self.links.append(e, except: peer) }
        }
        durable = DurableLog.open(node: node, name: W.replicationName, config: durability) { [unowned self, unowned owner] stored in
            for e in stored where owner.merge(e) { self.links.append(e) }
            let ready = self.waiting
            self.waiting.removeAll()
            for action in ready { action() }
        }
        durable?.snapshot = { [unowned owner] in owner.snapshot() }
    }

    /// Whether the state holds everything stored before this process (always, outside durable mode).
    public var isRecovered: Bool { durable?.isRecovered ?? true }

    /// Runs `action` now, or once recovery is done: for answers that read the state.
    public func whenRecovered(_ action: @escaping () -> Void) {
        if isRecovered { action() } else { waiting.append(action) }
    }

    /// Makes this node's new `entries` public: stored first in durable mode, then queued for the
    /// peers; `then` runs after both (at once outside durable mode). Workloads apply an entry to
    /// their own state in `then`, so nothing a client can see is missing from the store.
    public func publish(_ entries: [W.Entry], then: @escaping () -> Void) {
        guard let durable else {
            for e in entries { links.append(e) }
            return then()
        }
        durable.store(entries) { [unowned self] in
            for e in entries { self.links.append(e) }
            then()
        }
    }

    public func joined(restarted: Bool) {
        if restarted { links.startHandshake() }
    }
}

public extension Handlers where W: ReplicatedWorkload {
    /// Registers the workload's replication data and ack types, both peer-only; `example` is a
    /// list of entries as they travel.
    mutating func replicated(example entries: JSONValue) {
        on(W.channel.dataType, from: .peers, example: ["from": 0, "v": entries, "ack": 0, "i": 1_700_000_000_000_000, "ri": 0]) { w, m in
            try w.replicated.links.receive(m)
        }
        on(W.channel.ackType, from: .peers, example: ["ack": 1, "i": 1_700_000_000_000_000, "ri": 0]) { w, m in
            try w.replicated.links.receive(m)
        }
    }
}
