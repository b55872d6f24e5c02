/// The result of a key-value service call.
public enum KVResult: Equatable {
    case ok(JSONValue?) // the value for read, nil for write/cas
    case error(code: ErrorCode, text: String)
    case timeout
}

/// Client for Maelstrom's key-value services (lin-kv, seq-kv, lww-kv; protocol reference §10).
public struct KVClient {
    public let service: String
    public unowned let node: Node
    public var timeout: Micros

    public static let linKV = "lin-kv", seqKV = "seq-kv", lwwKV = "lww-kv"

    public init(node: Node, service: String, timeout: Micros = .ms(1000)) {
        self.node = node
        self.service = service
        self.timeout = timeout
    }

    public func read(_ key: JSONValue, _ done: @escaping (KVResult) -> Void) {
        node.rpc(to: service, timeout: timeout, { w in
            w.field("type", "read")
            w.field("key", key)
        }, callback: { r in done(Self.convert(r, valueField: true)) })
    }

    public func write(_ key: JSONValue, _ value: JSONValue, _ done: @escaping (KVResult) -> Void) {
        node.rpc(to: service, timeout: timeout, { w in
            w.field("type", "write")
            w.field("key", key)
            w.field("value", value)
        }, callback: { r in done(Self.convert(r, valueField: false)) })
    }

    public func cas(_ key: JSONValue, from: JSONValue, to: JSONValue, createIfMissing: Bool = false,
                    _ done: @escaping (KVResult) -> Void) {
        node.rpc(to: service, timeout: timeout, { w in
            w.field("type", "cas")
            w.field("key", key)
            w.field("from", from)
            w.field("to", to)
            if createIfMissing { w.field("create_if_not_exists", true) }
        }, callback: { r in done(Self.convert(r, valueField: false)) })
    }

    private static func convert(_ r: RPCResult, valueField: Bool) -> KVResult {
        switch r {
        case .ok(let m): return .ok(valueField ? m.body["value"].value : nil)
        case .error(let code, let text): return .error(code: code, text: text)
        case .timeout: return .timeout
        }
    }
}
