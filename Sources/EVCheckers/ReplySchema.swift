import EVCore

/// The shape Maelstrom's clients require of a `*_ok` reply (protocol reference §2.3): exact `type`,
/// integer `in_reply_to`, optional integer `msg_id`, the workload's fields with the right types,
/// and nothing else (the schemas are closed maps). A reply that does not fit is "malformed" and
/// the operation becomes an indefinite failure. Error replies are not schema-checked.
public struct ReplySchema: Sendable {
    public enum FieldType: Sendable {
        case any, int, string, bool
        case intArray
        case object
        /// A JSON object whose values are all integers ({"k": 3}).
        case intMap

        func accepts(_ v: JSONValue) -> Bool {
            switch self {
            case .any: return true
            case .int: return v.int != nil
            case .string: return v.string != nil
            case .bool: if case .bool = v { return true }; return false
            case .intArray: return v.array?.allSatisfy { $0.int != nil } ?? false
            case .object: return v.members != nil
            case .intMap: return v.members?.allSatisfy { $0.1.int != nil } ?? false
            }
        }
    }

    public let type: String
    public let fields: [(name: String, type: FieldType)]

    public init(type: String, fields: [(name: String, type: FieldType)] = []) {
        self.type = type
        self.fields = fields
    }

    /// nil if the reply fits, else why it is malformed.
    public func violation(_ reply: JSONValue) -> String? {
        guard let members = reply.members else { return "reply body is not an object" }
        guard reply["type"]?.string == type else { return "expected type \(type), got \(reply["type"]?.text ?? "none")" }
        guard reply["in_reply_to"]?.int != nil else { return "in_reply_to is not an integer" }
        if let id = reply["msg_id"], id.int == nil { return "msg_id is not an integer" }
        for field in fields {
            guard let v = reply[field.name] else { return "missing key \(field.name)" }
            guard field.type.accepts(v) else { return "\(field.name) has the wrong type: \(v.text.prefix(60))" }
        }
        for (key, _) in members where !["type", "in_reply_to", "msg_id"].contains(key) {
            if !fields.contains(where: { $0.name == key }) { return "disallowed key \(key)" }
        }
        return nil
    }
}

/// `classify` with Maelstrom's reply schema check: an `*_ok` reply that does not fit `schema` is a
/// malformed response, recorded like an indefinite error (:info, or :fail when idempotent).
public func classify(_ reply: JSONValue?, schema: ReplySchema, idempotent: Bool = false,
                     okValue: (JSONValue) -> JSONValue) -> Outcome {
    if let reply, reply["type"] != "error", let problem = schema.violation(reply) {
        let text = "malformed-response: \(problem)"
        return idempotent ? .fail(text) : .info(text)
    }
    return classify(reply, idempotent: idempotent, okValue: okValue)
}

/// Maps an RPC reply to an outcome the way Maelstrom's clients do (reference §4.4): *_ok → :ok
/// with `okValue`, definite error → :fail, indefinite error or timeout → :info (or :fail when the
/// operation is idempotent).
public func classify(_ reply: JSONValue?, idempotent: Bool = false, okValue: (JSONValue) -> JSONValue) -> Outcome {
    guard let reply else { return idempotent ? .fail("net-timeout") : .info("net-timeout") }
    if reply["type"] == "error" {
        let code = reply["code"]?.int ?? ErrorCode.crash.rawValue
        let text = "error \(code): \(reply["text"]?.string ?? "")"
        let definite = ErrorCode(rawValue: code)?.isDefinite ?? false
        return definite || idempotent ? .fail(text) : .info(text)
    }
    return .ok(okValue(reply))
}
