/// A key-value store's state and the read/write/cas semantics of Maelstrom's kv services
/// (protocol reference §10): the simulator's lin-kv, seq-kv and lww-kv are built on it, and test
/// doubles answer a node's kv requests with it.
public struct KVState {
    public private(set) var map: [JSONValue: JSONValue] = [:]

    public enum Outcome {
        case reply([(String, JSONValue)])
        case change([(String, JSONValue)], KVState)
    }

    public func apply(type: String, body: JSONValue, createIfMissing: Bool = true) -> Outcome {
        let key = body["key"] ?? .null
        switch type {
        case "read":
            guard let v = map[key] else { return .reply(Self.error(.keyDoesNotExist, "key does not exist")) }
            return .reply([("type", "read_ok"), ("value", v)])
        case "write":
            let v = body["value"] ?? .null
            if map[key] == v { return .reply([("type", "write_ok")]) }
            var next = self
            next.map[key] = v
            return .change([("type", "write_ok")], next)
        case "cas":
            let from = body["from"] ?? .null, to = body["to"] ?? .null
            let create = createIfMissing && (body["create_if_not_exists"] == .bool(true))
            guard let current = map[key] else {
                guard create else { return .reply(Self.error(.keyDoesNotExist, "key does not exist")) }
                var next = self
                next.map[key] = to
                return .change([("type", "cas_ok")], next)
            }
            guard current == from else {
                return .reply(Self.error(.preconditionFailed, "current value \(current) is not \(from)"))
            }
            if current == to { return .reply([("type", "cas_ok")]) }
            var next = self
            next.map[key] = to
            return .change([("type", "cas_ok")], next)
        default:
            return .reply(Self.error(.notSupported, "unsupported request \(type)"))
        }
    }

    public init() {}

    /// Applies a request and keeps its change; returns the reply's fields.
    public mutating func serve(type: String, body: JSONValue, createIfMissing: Bool = true) -> [(String, JSONValue)] {
        switch apply(type: type, body: body, createIfMissing: createIfMissing) {
        case .reply(let reply): return reply
        case .change(let reply, let next):
            self = next
            return reply
        }
    }

    /// Answers one request envelope (`{src, dest, body}`) sent to kv service `service`: the reply
    /// envelope, nil when the body has no type or msg_id (there is nothing to answer). For test
    /// doubles that play a kv service on a node's own lines.
    public mutating func reply(to request: JSONValue, as service: String) -> JSONValue? {
        guard let body = request["body"], let type = body["type"]?.string, let msgID = body["msg_id"] else { return nil }
        var fields = serve(type: type, body: body)
        fields.append(("in_reply_to", msgID))
        return .object([("src", .string(service)), ("dest", request["src"] ?? .null), ("body", .object(fields))])
    }

    /// An error reply's fields.
    public static func error(_ code: ErrorCode, _ text: String) -> [(String, JSONValue)] {
        [("type", "error"), ("code", .int(code.rawValue)), ("text", .string(text))]
    }
}
