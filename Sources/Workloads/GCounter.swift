import EVCore

/// Challenge 4 (and Maelstrom's pn-counter): a counter every node can add to and read while cut off.
///
/// Design (docs/gcounter.md): a state-based counter CRDT. Each node process is one replica with
/// one entry (the sums of its positive and of its negative deltas); entries only grow, so merging
/// is a per-replica max and an entry learned twice, late or out of order does no harm. Reads and
/// adds are answered from local state at once, so partitions never block a client.
///
/// A replica is named after its node and its process's incarnation, so a restarted node starts a
/// fresh entry instead of counting up again from zero under its old name (which peers would ignore,
/// their max being higher): adds are never hidden, whatever order a restart and its recovery take.
///
/// Every change of the own entry is queued on the `Replicator` to every peer; a link flushes at
/// most once per `gossipInterval`, so the adds in between ride along, and the peer's acks ride on
/// its own flushes. A restarted peer gets every entry this node knows (its own old ones included).
public final class GCounter: Workload {
    public static let channel = ReplicationChannel(prefix: "gc")

    public static let handlers = Handlers<GCounter> { h in
        h.on("add") { g, m in try g.add(m) }
        h.on("read") { g, m in try g.read(m) }
        h.replication(channel) { $0.links }
    }

    public struct Config: Sendable {
        /// Least time between two messages on a link; adds in between are batched.
        public var gossipInterval: Micros = .ms(250)
        // No backoff: resends are one small entry per replica, and a partition that ends with the load
        // must not delay agreement by more than a retransmit timeout.
        public var link = ReplicationConfig(ackDelay: .ms(500), retransmitTimeout: .ms(1000), maxBackoff: 1)
        /// Observes value changes (the simulator measures convergence with it).
        public var probe: GCounterProbe?
        public init() {}
    }

    private unowned let node: Node
    private let config: Config
    private let links: Replicator<Entry>
    /// This process's replica name.
    private let replica: String
    private var counts: [String: Entry] = [:]
    private var lastReportedValue = 0
    /// Durable mode: this node's replicas' entries, in the kv service.
    private var durable: DurableLog<Entry>?

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        self.config = config.gCounter
        links = Replicator(node: node, channel: Self.channel, config: config.gCounter.link)
        replica = "\(node.id)/\(String(links.incarnation, radix: 36))"
        links.openToAllPeers(flushInterval: self.config.gossipInterval)
        links.snapshot = { [unowned self] _ in self.counts.keys.sorted().map { self.counts[$0]! } }
        links.onDeliver { [unowned self] entries, _ in
            for e in entries { self.merge(e) }
            self.valueMayHaveChanged()
        }
        // Earlier processes' replicas of this node: peers may hold them, but all nodes may have
        // been killed at once.
        durable = DurableLog.open(node: node, name: "gc", config: config.durability) { [unowned self] stored in
            for e in stored { self.merge(e); self.links.append(self.counts[e.replica]!) }
            self.valueMayHaveChanged()
        }
    }

    /// The counter's value as this node knows it.
    public var value: Int { counts.values.reduce(0) { $0 &+ $1.value } }


    /// A restarted process greets every peer, so each notices the new incarnation and resends.
    public func joined(restarted: Bool) {
        if restarted { links.startHandshake() }
    }
    private func add(_ m: Message) throws {
        let req = try m.requireRequest()
        let delta = try m.int("delta")
        var own = counts[replica] ?? Entry(replica: replica)
        guard own.add(delta) else { throw ProtocolError.malformed("delta \(delta) would overflow the counter") }
        counts[replica] = own
        valueMayHaveChanged()
        guard delta != 0 else { return node.reply(to: req, type: "add_ok") }
        links.append(own)
        guard let durable else { return node.reply(to: req, type: "add_ok") }
        durable.store([own]) { [unowned self] in self.node.reply(to: req, type: "add_ok") }
    }

    private func read(_ m: Message) throws {
        let req = try m.requireRequest()
        let v = value
        node.reply(to: req) { w in
            w.field("type", "read_ok")
            w.field("value", v)
        }
    }

    private func merge(_ e: Entry) {
        guard var held = counts[e.replica] else {
            counts[e.replica] = e
            return
        }
        held.up = max(held.up, e.up)
        held.down = max(held.down, e.down)
        counts[e.replica] = held
    }

    private func valueMayHaveChanged() {
        guard let probe = config.probe else { return }
        let v = value
        if v != lastReportedValue {
            lastReportedValue = v
            probe.valueChanged(on: node.id, at: node.now, to: v)
        }
    }
}

extension GCounter {
    /// One replica's entry: the sums of its positive and of its negative deltas. Both only grow,
    /// which is what makes max a correct merge. On the wire: `[replica, up, down]`.
    struct Entry: ReplicatedEntry {
        let replica: String
        var up = 0, down = 0

        init(replica: String, up: Int = 0, down: Int = 0) {
            self.replica = replica
            self.up = up
            self.down = down
        }

        var value: Int { up &- down }

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

        /// A newer state of the same replica: only the latest needs to travel.
        func supersedes(_ older: Entry) -> Bool {
            replica == older.replica && up >= older.up && down >= older.down
        }

        func write(into array: inout JSONWriter) {
            array.arrayElement { e in
                e.element(replica)
                e.element(up)
                e.element(down)
            }
        }

        init?(json: JSON) {
            guard json.isArray, json.count == 3, let replica = json[0].string, !replica.isEmpty,
                  let up = json[1].int, let down = json[2].int, up >= 0, down >= 0 else { return nil }
            self.init(replica: replica, up: up, down: down)
        }
    }
}
