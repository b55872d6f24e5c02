import EVCore

public extension WorkloadKind { static let txnListAppend = WorkloadKind("txn-list-append") }

/// Maelstrom's txn-list-append (the Datomic chapter): transactions of `["r", k, null]` and
/// `["append", k, v]` over lists, strict serializable. Served on the nodes' own consensus
/// (`ConsensusService` over `Raft`, docs/listappend.md): a transaction with an append is one log
/// entry, executed whole when applied, so every node runs every transaction in the one log order;
/// a read-only transaction is answered at its read index. Either way a transaction sees every
/// transaction that completed before it began, and never a partial effect: none is ever aborted
/// half-way, and one that cannot be served is refused (error 11) only if it never left this node.
public final class ListAppend: ConsensusWorkload {
    public static let kind = WorkloadKind.txnListAppend
    public static let consensusPrefix = "la"

    public static let handlers = Handlers<ListAppend> { h in
        h.on("txn", when: .custom(requirement: "micro-ops r and append", TransactionGrammar.listAppend.match), emptyStateReply: RWRegister.readsOfNothing,
             example: ["txn": [["r", 1, nil], ["append", 1, 6]]]) { la, m in try la.transact(m) }
        h.consensus(exampleCommand: [["append", 1, 3], ["r", 1, nil]])
    }

    public struct Config: Sendable {
        public var service: ConsensusService<ListMachine>.Config = {
            var c = ConsensusService<ListMachine>.Config()
            c.refuseAfter = .ms(3000) // Maelstrom's txn clients wait 5 s
            return c
        }()
        public init() {}
    }

    public let service: ConsensusService<ListMachine>
    public init(node: Node, config: WorkloadConfig) {
        service = ConsensusService(node: node, prefix: Self.consensusPrefix, config: config.listAppend.service, durability: config.durability)
    }

    /// The lists as this node has applied them (for the simulator's checks).
    public var state: [JSONValue: [JSONValue]] { service.machine.lists }

    private func transact(_ m: Message) throws {
        let req = try m.requireRequest()
        let ops = try TransactionGrammar.listAppend.parse(m.body["txn"])
        let txn = m.body["txn"].value!
        let appends = ops.contains { if case .write = $0 { true } else { false } }
        if appends { service.submit(req, command: txn) } else { service.query(req, txn) }
    }
}

/// txn-list-append's state: a list per key. A command or query is a whole transaction, executed
/// at once: reads see the transaction's own earlier appends.
public struct ListMachine: ReplicatedStateMachine {
    public private(set) var lists: [JSONValue: [JSONValue]] = [:]

    public init() {}

    public mutating func apply(_ command: JSONValue) -> Answer {
        guard case .array(let ops) = command else { return .error(.crash, "unknown command") }
        var done: [JSONValue] = []
        for op in ops {
            guard case .array(let parts) = op, parts.count == 3 else { return .error(.crash, "unknown micro-op \(op.text)") }
            if parts[0] == "append" {
                lists[parts[1], default: []].append(parts[2])
                done.append(op)
            } else {
                done.append(["r", parts[1], lists[parts[1]].map(JSONValue.array) ?? .null])
            }
        }
        return .ok(type: "txn_ok", fields: ["txn": .array(done)])
    }

    public func query(_ txn: JSONValue) -> Answer {
        var copy = self
        return copy.apply(txn)
    }
}
