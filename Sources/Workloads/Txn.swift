import EVCore

/// Challenges 6a–6c: totally-available transactions over a map of registers (txn-rw-register).
///
/// Every transaction runs at once against this node's own copy of the map and is answered
/// immediately, partitioned or not; nothing ever aborts. Isolation comes from three rules:
/// - a transaction executes atomically (one handler call) and only its final write per key
///   becomes visible, so no one sees intermediate or uncommitted state (no G1a, G1b);
/// - every committed transaction gets a Lamport stamp (counter, node index) above everything this
///   node has applied, and a register keeps the write with the highest stamp (last writer wins),
///   so all write-write and write-read dependencies point forward in stamp order (no G0, G1c);
/// - committed writes go to every peer in batches (`TxnReplication`), applied atomically per
///   transaction there, retransmitted until acknowledged: after a partition heals every node
///   holds every write and all nodes converge on the same map.
///
/// Keys and values may be any JSON (Maelstrom sends integers). Bad input gets error 12.
public final class Txn: Workload {
    public static let messageTypes = ["txn", TxnReplication.messageType]

    public struct Config: Sendable {
        /// How often committed writes are shipped to each peer: at most one message per peer per
        /// interval. Longer means fewer messages and later visibility on the other nodes.
        public var replicationInterval: Micros = .ms(10)
        /// A peer that acknowledged nothing new for this long is taken as unreachable: the link
        /// stops streaming and probes instead (go-back-N). Must exceed `ackDelay` + round trip +
        /// the peer's replication interval, or healthy links stall for nothing.
        public var retransmitTimeout: Micros = .ms(500)
        /// While a peer is unreachable, one probe (the unconfirmed entries from the oldest on)
        /// per this interval; the first confirmed probe resumes streaming. Bounds how long a
        /// healed link stays idle and how many messages a partition costs.
        public var probeInterval: Micros = .ms(100)
        /// A node with no writes of its own acknowledges received entries on its own after this
        /// long; otherwise acks ride on its own replication messages.
        public var ackDelay: Micros = .ms(50)
        /// Cap on entries in one replication message (keeps lines small after a long partition).
        public var maxEntriesPerMessage = 400
        /// Observes commits and remote applications (the simulator measures visibility with it).
        public var probe: TxnReplicationProbe?

        public init() {}
    }

    /// Lamport stamp of a committed transaction: the counter, then the origin's index in
    /// `node_ids` to break ties. Total order, identical on every node.
    struct Stamp: Comparable {
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
    private let selfIndex: Int
    private var registers: [JSONValue: Register] = [:]
    /// Highest Lamport counter applied here (own or received).
    private var lamport = 0
    private var replication: TxnReplication!

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        self.config = config.txn
        selfIndex = node.nodeIDs.firstIndex(of: node.id) ?? 0
        replication = TxnReplication(node: node, config: config.txn) { [unowned self] entry, origin in
            self.applyRemote(entry, originIndex: origin)
        }
    }

    public func handle(_ m: Message) {
        switch m.type {
        case "txn": handleTxn(m)
        case TxnReplication.messageType: replication.receive(m)
        default:
            if let req = m.request { node.replyError(to: req, code: .notSupported, text: "unexpected \(m.type)") }
        }
    }

    /// The current map (for the simulator's convergence checks).
    public var snapshot: [JSONValue: JSONValue] { registers.mapValues(\.value) }

    /// Replication counters (for tests and logs).
    public var replicationStats: TxnReplication.Stats { replication.stats }

    /// Own committed write transactions some peer has not acknowledged yet.
    public var unconfirmedEntries: Int { replication.unconfirmedCount }

    // MARK: client transactions

    private enum MicroOp {
        case read(key: JSONValue)
        case write(key: JSONValue, value: JSONValue)
    }

    private func handleTxn(_ m: Message) {
        guard let req = m.request else { return }
        let ops: [MicroOp]
        switch Self.parse(m.body["txn"]) {
        case .success(let parsed): ops = parsed
        case .failure(let problem):
            node.replyError(to: req, code: .malformedRequest, text: problem.text)
            return
        }

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

        // Commit: all final writes at once, with a stamp above everything applied here.
        if !finalWrites.isEmpty {
            lamport += 1
            let stamp = Stamp(counter: lamport, origin: selfIndex)
            for (key, value) in finalWrites { registers[key] = Register(value: value, stamp: stamp) }
            let seq = replication.append(TxnReplication.Entry(counter: lamport, writes: finalWrites))
            config.probe?.committed(origin: node.id, seq: seq, at: node.now)
        }

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

    private struct Malformed: Error { let text: String }

    /// Validates the whole transaction before anything runs: `txn` must be an array of
    /// ["r", key, null] and ["w", key, value].
    private static func parse(_ txn: JSON) -> Result<[MicroOp], Malformed> {
        guard txn.exists else { return .failure(Malformed(text: "missing field 'txn'")) }
        guard txn.isArray else { return .failure(Malformed(text: "'txn' must be an array of micro-ops")) }
        var ops: [MicroOp] = []
        ops.reserveCapacity(txn.count)
        for i in 0..<txn.count {
            let op = txn[i]
            guard op.isArray, op.count == 3, let f = op[0].string, let key = op[1].value else {
                return .failure(Malformed(text: "micro-op \(i) must be [f, key, value]"))
            }
            switch f {
            case "r":
                guard op[2].isNull else { return .failure(Malformed(text: "read micro-op \(i) must carry null")) }
                ops.append(.read(key: key))
            case "w":
                guard let value = op[2].value else { return .failure(Malformed(text: "write micro-op \(i) has no value")) }
                ops.append(.write(key: key, value: value))
            default:
                return .failure(Malformed(text: "micro-op \(i) has unknown function '\(f)' (expected r or w)"))
            }
        }
        return .success(ops)
    }

    // MARK: replication

    /// Applies a peer's committed transaction atomically: each key takes the write if its stamp
    /// is newer than the one held (last writer wins), so every node ends with the same map.
    private func applyRemote(_ entry: TxnReplication.Entry, originIndex: Int) {
        lamport = max(lamport, entry.counter)
        let stamp = Stamp(counter: entry.counter, origin: originIndex)
        for (key, value) in entry.writes {
            if let held = registers[key], !(held.stamp < stamp) { continue }
            registers[key] = Register(value: value, stamp: stamp)
        }
    }
}
