import EVCore

public extension WorkloadKind { static let txn = WorkloadKind("txn-rw-register") }

/// Challenges 6a–6c: totally-available transactions over a map of registers (txn-rw-register).
///
/// Every transaction runs at once against this node's own copy of the map and is answered
/// immediately (in durable mode once its writes are stored), partitioned or not; nothing ever aborts. Isolation comes from three rules:
/// - a transaction executes atomically (one handler call) and only its final write per key
///   becomes visible, so no one sees intermediate or uncommitted state (no G1a, G1b);
/// - every committed transaction gets a stamp (counter, node index) above everything this node
///   has applied, and a register keeps the write with the highest stamp (last writer wins), so all
///   write-write and write-read dependencies point forward in stamp order (no G0, G1c). The counter
///   is a hybrid clock, at least the wall clock in µs, so a restarted node (which lost its counter)
///   still stamps above everything it wrote before;
/// - committed writes go to every peer over the `Replicator`, applied atomically per transaction
///   there, resent until acknowledged: after a partition heals every node holds every write and
///   all nodes converge on the same map. A restarted peer gets the whole map.
///
/// Keys and values may be any JSON (Maelstrom sends integers). Bad input gets error 12.
public final class RWRegister: ReplicatedWorkload {
    public static let kind = WorkloadKind.txn
    public static let replicationName = "tx"

    public static let handlers = Handlers<RWRegister> { h in
        h.on("txn", when: .custom(requirement: "micro-ops r and w", TransactionGrammar.rwRegister.match), emptyStateReply: RWRegister.readsOfNothing,
             example: ["txn": [["r", 1, nil], ["w", 1, 6], ["w", 2, 9]]]) { t, m in try t.transact(m) }
        h.replicated(example: [[1, 0, [[1, 5], [2, 6]]]])
    }

    public struct Config: Sendable {
        /// How often committed writes are shipped to each peer: at most one message per peer per
        /// interval. Longer means fewer messages and later visibility on the other nodes.
        public var replicationInterval: Micros = .ms(10)
        public var link = ReplicationConfig(ackDelay: .ms(50), retransmitTimeout: .ms(500), maxEntriesPerMessage: 400)

        public init() {}
    }

    /// Stamp of a committed transaction: the counter, then the origin's index in `node_ids` to
    /// break ties. Total order, identical on every node.
    struct Stamp: Comparable, Hashable {
        var counter: Int
        var origin: Int
        static func < (a: Stamp, b: Stamp) -> Bool {
            a.counter != b.counter ? a.counter < b.counter : a.origin < b.origin
        }
    }

    private struct Register {
        var value: JSONValue
        var stamp: Stamp
    }

    private unowned let node: Node
    private let config: Config
    private var registers: [JSONValue: Register] = [:]
    /// The hybrid clock: the highest counter applied here (own or received), and at least the
    /// wall clock in µs when this node commits.
    private var clock = 0
    public let replicated: ReplicatedState<RWRegister>
    /// Own write transactions committed so far, and per origin (index in `node_ids`) how many of
    /// its transactions were merged here: how the simulator measures visibility.
    public private(set) var commits = 0
    public private(set) var merged: [Int: Int] = [:]

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        self.config = config.txn
        replicated = ReplicatedState(node: node, topology: .mesh(flushInterval: config.txn.replicationInterval),
                                     link: config.txn.link, durability: config.durability)
        replicated.attach(self)
    }

    /// The current map (for the simulator's convergence checks).
    public var map: [JSONValue: JSONValue] { registers.mapValues(\.value) }

    /// Replication counters (for tests and logs).
    public var replicationStats: Replicator<TxnEntry>.Stats { replicated.links.stats }

    /// Own committed write transactions some peer has not acknowledged yet.
    public var unconfirmedEntries: Int {
        node.peers.compactMap { replicated.links.state(of: $0)?.unacknowledged }.max() ?? 0
    }

    // MARK: client transactions

    private func transact(_ m: Message) throws {
        let req = try m.requireRequest()
        let ops = try TransactionGrammar.rwRegister.parse(m.body["txn"])
        // Durable mode: a restarted process reads and stamps only once it holds what was stored.
        replicated.whenRecovered { [unowned self] in self.execute(req, ops) }
    }

    private func execute(_ req: RequestRef, _ ops: [MicroOp]) {
        // Execute against the committed map plus this transaction's own earlier writes; collect
        // the final write of each key (order of first write kept, so replication is stable).
        var results: [JSONValue?] = []
        results.reserveCapacity(ops.count)
        var own: [JSONValue: Int] = [:] // key → index into finalWrites
        var finalWrites: [(key: JSONValue, value: JSONValue)] = []
        for op in ops {
            switch op {
            case .read(let key):
                if let i = own[key] { results.append(finalWrites[i].value) } else { results.append(registers[key]?.value) }
            case .write(let key, let value):
                if let i = own[key] { finalWrites[i].value = value } else {
                    own[key] = finalWrites.count
                    finalWrites.append((key, value))
                }
                results.append(nil)
            }
        }

        guard !finalWrites.isEmpty else { return answer(req, ops, results) }
        // Commit: all final writes at once, with a stamp above everything applied here.
        clock = max(clock + 1, Int(node.wallClock))
        let entry = TxnEntry(stamp: Stamp(counter: clock, origin: node.index), writes: finalWrites)
        replicated.publish([entry]) { [unowned self] in
            self.commits += 1
            _ = self.merge(entry)
            self.answer(req, ops, results)
        }
    }

    private func answer(_ req: RequestRef, _ ops: [MicroOp], _ results: [JSONValue?]) {
        node.reply(to: req) { w in
            w.field("type", "txn_ok")
            w.arrayField("txn") { a in
                for (op, read) in zip(ops, results) {
                    a.arrayElement { e in
                        switch op {
                        case .read(let key):
                            e.element("r"); e.element(key)
                            if let read { e.element(read) } else { e.elementNull() }
                        case .write(let key, let value):
                            e.element("w"); e.element(key); e.element(value)
                        }
                    }
                }
            }
        }
    }

    /// A read-only transaction's reply from a cluster where nothing was written: every read null.
    /// The same for txn-rw-register and txn-list-append (see `Router` on held messages).
    static func readsOfNothing(_ body: JSONValue) -> JSONValue? {
        guard case .array(let ops)? = body["txn"], !ops.isEmpty,
              ops.allSatisfy({ op in op.array.map { $0.count == 3 && $0[0] == "r" && $0[2].isNull } ?? false }) else { return nil }
        return ["type": "txn_ok", "txn": .array(ops)]
    }

    // MARK: replication

    /// Applies a committed transaction atomically: each key takes the write if its stamp is newer
    /// than the one held (last writer wins), so every node ends with the same map; the counter
    /// moves past the entry's.
    public func merge(_ entry: TxnEntry) -> Bool {
        guard entry.stamp.origin < node.nodeIDs.count else {
            node.logger.error("a replicated transaction names origin \(entry.stamp.origin), which is not a node; ignored")
            return false
        }
        clock = max(clock, entry.stamp.counter)
        merged[entry.stamp.origin, default: 0] += 1
        var changed = false
        for (key, value) in entry.writes {
            if let held = registers[key], !(held.stamp < entry.stamp) { continue }
            registers[key] = Register(value: value, stamp: entry.stamp)
            changed = true
        }
        return changed
    }

    /// The whole map as entries, one per stamp (the registers a transaction wrote that still hold
    /// its value), in stamp order: what a restarted peer needs.
    public func snapshot() -> [TxnEntry] {
        var byStamp: [Stamp: [(key: JSONValue, value: JSONValue)]] = [:]
        for (key, r) in registers { byStamp[r.stamp, default: []].append((key, r.value)) }
        return byStamp.keys.sorted().map { TxnEntry(stamp: $0, writes: byStamp[$0]!) }
    }
}

/// One committed transaction as replicated: `[counter, origin, [[key, value], …]]`.
public struct TxnEntry: ReplicatedEntry {
    /// Counters above this are refused, so a peer's value can never push ours into overflow.
    static let maxCounter = Int.max / 4
    let stamp: RWRegister.Stamp
    let writes: [(key: JSONValue, value: JSONValue)]

    init(stamp: RWRegister.Stamp, writes: [(key: JSONValue, value: JSONValue)]) {
        self.stamp = stamp
        self.writes = writes
    }

    public func write(into array: inout JSONWriter) {
        array.arrayElement { item in
            item.element(stamp.counter)
            item.element(stamp.origin)
            item.arrayElement { list in
                for (key, value) in writes { list.arrayElement { pair in pair.element(key); pair.element(value) } }
            }
        }
    }

    public init?(json item: JSON) {
        guard item.isArray, item.count == 3, let counter = item[0].int, counter >= 0, counter <= Self.maxCounter,
              let origin = item[1].int, origin >= 0, item[2].isArray else { return nil }
        let list = item[2]
        var writes: [(key: JSONValue, value: JSONValue)] = []
        writes.reserveCapacity(list.count)
        for j in 0..<list.count {
            let pair = list[j]
            guard pair.isArray, pair.count == 2, let key = pair[0].value, let value = pair[1].value else { return nil }
            writes.append((key, value))
        }
        self.init(stamp: RWRegister.Stamp(counter: counter, origin: origin), writes: writes)
    }
}
