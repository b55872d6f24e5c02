import EVCore

public extension WorkloadKind {
    static let gCounter = WorkloadKind("g-counter")
    static let pnCounter = WorkloadKind("pn-counter")
}

/// Challenge 4 (g-counter) and Maelstrom's pn-counter: a counter every node can add to (deltas of
/// either sign) and read while cut off.
///
/// Design (docs/gcounter.md): a state-based counter CRDT. Each node process is one replica with
/// one entry (the sums of its positive and of its negative deltas); entries only grow, so merging
/// is a per-replica max and an entry learned twice, late or out of order does no harm. Reads and
/// adds are answered from local state at once, so partitions never block a client (in durable
/// mode an add is answered once stored, and a restarted process reads once it has recovered).
///
/// A replica is named after its node and its process's incarnation, so a restarted node starts a
/// fresh entry instead of counting up again from zero under its old name (which peers would ignore,
/// their max being higher): adds are never hidden, whatever order a restart and its recovery take.
///
/// Every change of the own entry is published to the peers (the newest state of an entry replaces
/// an unsent older one), at most once per flush interval, so the adds in between ride along.
public final class Counter: ReplicatedWorkload {
    public static let kind = WorkloadKind.gCounter
    public static let replicationName = "gc"

    public static let handlers = Handlers<Counter> { h in
        h.on("add", when: .has("delta"), example: ["delta": 5]) { g, m in try g.add(m) }
        h.on("read", example: [:]) { g, m in try g.read(m) }
        h.replicated(example: [["n0/x", 5, 0], ["n2/y", 1, 1]])
    }

    public struct Config: Sendable {
        /// How entries travel; each link flushes at most once per interval, batching the adds in between.
        public var topology = ReplicationTopology.hub(hubFlush: .ms(1500), leafFlush: .ms(250))
        // No backoff: resends are one small entry per replica, and a partition that ends with the load
        // must not delay agreement by more than a retransmit timeout.
        public var link = ReplicationConfig(ackDelay: .ms(2000), retransmitTimeout: .ms(3000), maxBackoff: 1)
        public init() {}
    }

    private unowned let node: Node
    /// Every replica's entry this node knows, own included once published.
    private var counts: [String: Entry] = [:]
    public let replicated: ReplicatedState<Counter>
    /// This process's replica, advanced by each add before it is published.
    private lazy var own = Entry(replica: "\(node.id)/\(String(replicated.links.incarnation, radix: 36))")

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        replicated = ReplicatedState(node: node, topology: config.gCounter.topology,
                                     link: config.gCounter.link, durability: config.durability)
        replicated.attach(self)
    }

    /// The counter's value as this node knows it (what a read answers).
    public var value: Int { counts.values.reduce(0) { $0 &+ $1.value } }

    public func merge(_ e: Entry) -> Bool {
        guard let held = counts[e.replica] else {
            counts[e.replica] = e
            return true
        }
        let merged = Entry(replica: e.replica, up: max(held.up, e.up), down: max(held.down, e.down))
        counts[e.replica] = merged
        return merged.up != held.up || merged.down != held.down
    }

    public func snapshot() -> [Entry] { counts.keys.sorted().map { counts[$0]! } }

    private func add(_ m: Message) throws {
        let req = try m.requireRequest()
        let delta = try m.int("delta")
        guard own.add(delta) else { throw ProtocolError.malformed("delta \(delta) would overflow the counter") }
        guard delta != 0 else { return node.reply(to: req, type: "add_ok") }
        let entry = own
        replicated.publish([entry]) { [unowned self] in
            _ = self.merge(entry)
            self.node.reply(to: req, type: "add_ok")
        }
    }

    private func read(_ m: Message) throws {
        let req = try m.requireRequest()
        replicated.whenRecovered { [unowned self] in
            let v = self.value
            self.node.reply(to: req) { w in
                w.field("type", "read_ok")
                w.field("value", v)
            }
        }
    }
}

extension Counter {
    /// One replica's entry: the sums of its positive and of its negative deltas. Both only grow,
    /// which is what makes max a correct merge. On the wire: `[replica, up, down]`.
    public struct Entry: ReplicatedEntry {
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
        public func supersedes(_ older: Entry) -> Bool {
            replica == older.replica && up >= older.up && down >= older.down
        }

        public func write(into array: inout JSONWriter) {
            array.arrayElement { e in
                e.element(replica)
                e.element(up)
                e.element(down)
            }
        }

        public init?(json: JSON) {
            guard json.isArray, json.count == 3, let replica = json[0].string, !replica.isEmpty,
                  let up = json[1].int, let down = json[2].int, up >= 0, down >= 0 else { return nil }
            self.init(replica: replica, up: up, down: down)
        }
    }
}
