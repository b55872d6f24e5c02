import EVCore

public extension WorkloadKind { static let linKV = WorkloadKind("lin-kv") }

/// Maelstrom's lin-kv (the Raft chapter): `read {key}`, `write {key, value}`, `cas {key, from, to}`
/// on a linearizable map, served by the nodes' own consensus (`ConsensusService` over `Raft`,
/// docs/linkv.md), not by Maelstrom's lin-kv service. Writes and cas are log entries; reads go by
/// read index. This file holds the client handlers and the map (`KVMachine`), nothing else.
public final class LinearizableKV: ConsensusWorkload {
    public static let kind = WorkloadKind.linKV
    public static let consensusPrefix = "lk"

    public static let handlers = Handlers<LinearizableKV> { h in
        h.on("read", when: .has("key"), example: ["key": 1]) { kv, m in try kv.read(m) }
        h.on("write", example: ["key": 1, "value": 3]) { kv, m in try kv.write(m) }
        h.on("cas", example: ["key": 1, "from": 3, "to": 4]) { kv, m in try kv.cas(m) }
        h.consensus(exampleCommand: ["w", 1, 3])
    }

    public struct Config: Sendable {
        public var service: ConsensusService<KVMachine>.Config = {
            var c = ConsensusService<KVMachine>.Config()
            c.refuseAfter = .ms(600)
            return c
        }()
        /// Maelstrom's lin-kv client gives up after max(10 × latency, 1 s), and a reply after that
        /// silences the node. A request's age is known to within `stallThreshold` (a shorter stop
        /// goes unnoticed, docs/faults.md), so no reply leaves after stallThreshold + deadline ≤
        /// 0.95 s, and a request not served after refuseAfter + stallThreshold ≤ 0.9 s is refused
        /// if it can no longer take effect.
        public var stallThreshold: Micros = .ms(300)
        public var clientReplyDeadline: Micros = .ms(650)
        public init() {}
    }

    public let service: ConsensusService<KVMachine>

    /// Set from the first request on: one held for the start record is refused (error 11) only
    /// while its client still waits.
    public static func prepare(_ node: Node, config: WorkloadConfig) {
        node.clientReplyDeadline = min(node.clientReplyDeadline, config.linKV.clientReplyDeadline)
        node.stallThreshold = min(node.stallThreshold, config.linKV.stallThreshold)
    }

    public init(node: Node, config: WorkloadConfig) {
        service = ConsensusService(node: node, prefix: Self.consensusPrefix, config: config.linKV.service, durability: config.durability)
    }

    public var raft: Raft { service.raft }

    /// The map as this node has applied it (for the simulator's checks).
    public var state: [JSONValue: JSONValue] { service.machine.map }

    private func read(_ m: Message) throws {
        service.query(try m.requireRequest(), try key(m))
    }

    private func write(_ m: Message) throws {
        let req = try m.requireRequest()
        let key = try key(m)
        guard let value = m.body["value"].value else { throw ProtocolError.malformed("write needs a field 'value'") }
        service.submit(req, command: ["w", key, value])
    }

    private func cas(_ m: Message) throws {
        let req = try m.requireRequest()
        let key = try key(m)
        guard let from = m.body["from"].value, let to = m.body["to"].value else {
            throw ProtocolError.malformed("cas needs fields 'from' and 'to'")
        }
        service.submit(req, command: ["c", key, from, to])
    }

    private func key(_ m: Message) throws -> JSONValue {
        guard let key = m.body["key"].value else { throw ProtocolError.malformed("\(m.type) needs a field 'key'") }
        return key
    }
}

/// lin-kv's state: a map. Commands `["w", key, value]` and `["c", key, from, to]`; a query is a key.
public struct KVMachine: ReplicatedStateMachine {
    public private(set) var map: [JSONValue: JSONValue] = [:]

    public init() {}

    public mutating func apply(_ command: JSONValue) -> Answer {
        guard case .array(let op) = command, let f = op.first?.string else { return .error(.crash, "unknown command") }
        switch (f, op.count) {
        case ("w", 3):
            map[op[1]] = op[2]
            return .ok(type: "write_ok", fields: [:])
        case ("c", 4):
            guard let current = map[op[1]] else { return .error(.keyDoesNotExist, "key \(op[1].text) does not exist") }
            guard current == op[2] else { return .error(.preconditionFailed, "expected \(op[2].text), found \(current.text)") }
            map[op[1]] = op[3]
            return .ok(type: "cas_ok", fields: [:])
        default:
            return .error(.crash, "unknown command \(command.text)")
        }
    }

    public func query(_ key: JSONValue) -> Answer {
        guard let value = map[key] else { return .error(.keyDoesNotExist, "key \(key.text) does not exist") }
        return .ok(type: "read_ok", fields: ["value": value])
    }
}
