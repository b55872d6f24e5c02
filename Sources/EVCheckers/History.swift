import EVCore

// The history a run produces and the verdict types every checker returns. They live with the
// checkers so that a checker needs nothing but EVCore and these; the runner (EVSim) fills them in.

/// What happened to one client operation (Jepsen's :ok / :fail / :info; reference §4.4).
public enum Outcome: Equatable, Sendable {
    /// Succeeded; the value as the client saw it (e.g. a read's messages, a txn with reads filled in).
    case ok(JSONValue)
    /// Definitely did not happen (definite error code, or an idempotent op that timed out).
    case fail(String)
    /// Unknown: may have happened (timeout, indefinite error).
    case info(String)

    public var isOK: Bool { if case .ok = self { return true }; return false }
    public var isInfo: Bool { if case .info = self { return true }; return false }
    public var okValue: JSONValue? { if case .ok(let v) = self { return v }; return nil }
}

/// One operation of a history: its invocation and completion together.
public struct Operation: Sendable {
    /// Logical process (Jepsen's :process): a worker gets a new one after an :info completion.
    public var process: Int
    public var worker: Int
    public var node: String
    public var client: String
    /// Function, e.g. "broadcast", "read", "add", "send", "poll", "txn".
    public var f: String
    /// Invocation value.
    public var value: JSONValue
    public var invokedAt: Micros
    public var completedAt: Micros?
    public var outcome: Outcome?
    /// Part of the final phase (after heal + recovery wait).
    public var isFinal: Bool
    /// Positions of the invocation and the completion in the run's event order (Jepsen's history
    /// :index), set by the runner; -1 in histories built by hand, where checkers order by time.
    public var invokeIndex = -1
    public var completeIndex = -1

    public init(process: Int, worker: Int, node: String, client: String, f: String, value: JSONValue,
                invokedAt: Micros, isFinal: Bool = false) {
        self.process = process
        self.worker = worker
        self.node = node
        self.client = client
        self.f = f
        self.value = value
        self.invokedAt = invokedAt
        self.isFinal = isFinal
    }
}

/// Jepsen's three-valued validity: false beats unknown beats true.
public enum Validity: String, Sendable {
    case valid = "true", invalid = "false", unknown = ":unknown"

    public static func combine(_ all: [Validity]) -> Validity {
        if all.contains(.invalid) { return .invalid }
        if all.contains(.unknown) { return .unknown }
        return .valid
    }
}

/// A checker's verdict and its result map (the figures Maelstrom's results.edn would show).
public struct CheckResult: Sendable {
    public var validity: Validity
    /// Ordered result map, e.g. ["lost-count": 0, "stable-latencies": {...}].
    public var details: JSONValue

    public init(validity: Validity, details: JSONValue) {
        self.validity = validity
        self.details = details
    }
}

public extension Validity {
    /// As results.edn shows it: true, false or :unknown.
    var json: JSONValue {
        switch self {
        case .valid: return true
        case .invalid: return false
        case .unknown: return ":unknown"
        }
    }
}
