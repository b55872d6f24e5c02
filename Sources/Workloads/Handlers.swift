import EVCore
import Maelstrom

/// A request the node refuses, with the Maelstrom error it answers: the library's error type
/// (`MaelstromError`), so evnode's handlers and a library user's throw the same thing. The router
/// turns it into the error reply (when the message carries a msg_id) and a log line.
public typealias ProtocolError = MaelstromError

/// Who may send a message type: anyone (clients and peers), or only nodes of the cluster
/// (replication traffic; from a client it is refused with error 10).
public enum Senders: Sendable {
    case anyone
    case peers
}

/// Whether a message belongs to a workload, judged from its body: how the router tells apart the
/// workloads that share a type (`add` of g-set and of the counters, `read`, `txn`).
public enum BodyMatch: Sendable {
    case yes, no, maybe
}

/// How a route judges bodies (see `BodyMatch`).
public enum BodyMatcher {
    /// Any body may be this workload's (`maybe`): the router decides by what is running.
    case always
    /// A body with this field is this workload's; one without is not.
    case has(String)
    /// Decided by the body's content; `requirement` says what a body must be, for the error a
    /// body no workload accepts gets.
    case custom(requirement: String, (JSON) -> BodyMatch)

    func match(_ body: JSON) -> BodyMatch {
        switch self {
        case .always: return .maybe
        case .has(let field): return body[field].exists ? .yes : .no
        case .custom(_, let judge): return judge(body)
        }
    }

    /// What a body must hold to be this workload's, in words.
    var requirement: String {
        switch self {
        case .always: return "any body"
        case .has(let field): return "a field '\(field)'"
        case .custom(let requirement, _): return requirement
        }
    }
}

/// One workload's message types and what each does: the single place a type is declared.
/// The router is built from these tables, so nothing else lists a workload's types.
public struct Handlers<W: Workload> {
    struct Route {
        let type: String
        let senders: Senders
        let matcher: BodyMatcher
        /// The reply a body gets from a cluster where nothing has happened yet (nil: no such
        /// reply, or none for this body). See `Router` on messages held too long.
        let emptyStateReply: ((JSONValue) -> JSONValue?)?
        /// A valid body of this route (with its type, without msg_id): a fuzzer seed and a
        /// documentation example.
        let example: JSONValue
        let run: (W, Message) throws -> Void
    }

    private(set) var routes: [Route] = []

    public init(_ build: (inout Handlers<W>) -> Void) { build(&self) }

    /// Registers `run` for messages of `type` (whose body `when` accepts, where several
    /// workloads serve the type). `example` holds the fields of one valid body besides type and
    /// msg_id.
    public mutating func on(_ type: String, from senders: Senders = .anyone, when matcher: BodyMatcher = .always,
                            emptyStateReply: ((JSONValue) -> JSONValue?)? = nil, example: JSONValue,
                            _ run: @escaping (W, Message) throws -> Void) {
        precondition(!routes.contains { $0.type == type }, "\(W.self) registers \(type) twice")
        precondition(example.members != nil, "\(W.self)'s example of \(type) is not an object")
        let body = JSONValue.object([("type", .string(type))] + (example.members ?? []))
        routes.append(Route(type: type, senders: senders, matcher: matcher, emptyStateReply: emptyStateReply, example: body, run: run))
    }
}

// MARK: typed access to request fields

public extension Message {
    /// The request to answer; throws if the message has no msg_id (there is no one to answer).
    func requireRequest() throws -> RequestRef {
        guard let req = request else { throw ProtocolError.malformed("\(type) without an integer msg_id") }
        return req
    }

    /// An integer field, or a malformed-request error naming it.
    func int(_ key: String) throws -> Int {
        guard let v = body[key].int else { throw ProtocolError.malformed("\(type) needs an integer field '\(key)'") }
        return v
    }

    /// A non-negative integer field.
    func count(_ key: String) throws -> Int {
        guard let v = body[key].int, v >= 0 else {
            throw ProtocolError.malformed("\(type) needs a non-negative integer field '\(key)'")
        }
        return v
    }

    func string(_ key: String) throws -> String {
        guard let v = body[key].string else { throw ProtocolError.malformed("\(type) needs a string field '\(key)'") }
        return v
    }

    func object(_ key: String) throws -> JSON {
        let v = body[key]
        guard v.isObject else { throw ProtocolError.malformed("\(type) needs an object field '\(key)'") }
        return v
    }

    func array(_ key: String) throws -> JSON {
        let v = body[key]
        guard v.isArray else { throw ProtocolError.malformed("\(type) needs an array field '\(key)'") }
        return v
    }
}
