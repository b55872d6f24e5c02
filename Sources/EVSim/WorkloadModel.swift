import EVCore
import Workloads

/// What happened to one client operation (Jepsen's :ok / :fail / :info; reference §4.4).
public enum Outcome: Equatable, Sendable {
    /// Succeeded; the value as the client saw it (e.g. a read's messages, a txn with reads filled in).
    case ok(JSONValue)
    /// Definitely did not happen (definite error code, or an idempotent op that timed out).
    case fail(String)
    /// Unknown: may have happened (timeout, indefinite error).
    case info(String)

    public var isOK: Bool { if case .ok = self { return true }; return false }
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

/// A workload as Maelstrom's test harness sees it: the load it generates, how a client performs
/// an operation, and the checker. One type per workload; the runner drives it.
public protocol WorkloadModel: AnyObject {
    var kind: WorkloadKind { get }
    /// Broadcast, g-counter and kafka have a final phase after the partitions heal.
    var hasFinalPhase: Bool { get }
    /// unique-ids and txn clients survive a timeout; the others are replaced (reference §6.3).
    var reusableClients: Bool { get }

    /// Requests sent once to each node after init, before the load starts (e.g. topology).
    func setupRequests(nodeIDs: [String]) -> [(node: String, body: JSONValue)]

    /// Adjusts the node tunables of this run before the cluster starts (e.g. installs a probe
    /// the checker reads). Default: nothing.
    func configure(_ workloads: inout WorkloadConfig)

    /// The next operation for a free worker: its function and invocation value.
    func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue)

    /// The final-phase operations of a worker (empty without a final phase).
    func finalOperations(worker: Int) -> [(f: String, value: JSONValue)]

    /// The final-phase operation a worker runs after `completed` of them, with the pause before
    /// it, or nil when the worker is done; lets a model decide as it goes (kafka polls until it
    /// has caught up). Default: `finalOperations(worker:)` in order, without pauses.
    func nextFinalOperation(worker: Int, completed: Int) -> (f: String, value: JSONValue, after: Micros)?

    /// Performs one operation with `call` (one RPC to the worker's node; a nil reply is a
    /// timeout) and reports its outcome exactly once through `complete`.
    func execute(f: String, value: JSONValue, worker: Int,
                 call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                 complete: @escaping (Outcome) -> Void)

    /// Checks a finished history.
    func check(_ history: [Operation]) -> CheckResult
}

public extension WorkloadModel {
    var hasFinalPhase: Bool { false }
    var reusableClients: Bool { false }
    func setupRequests(nodeIDs: [String]) -> [(node: String, body: JSONValue)] { [] }
    func configure(_ workloads: inout WorkloadConfig) {}
    func finalOperations(worker: Int) -> [(f: String, value: JSONValue)] { [] }
    func nextFinalOperation(worker: Int, completed: Int) -> (f: String, value: JSONValue, after: Micros)? {
        let ops = finalOperations(worker: worker)
        return completed < ops.count ? (ops[completed].f, ops[completed].value, 0) : nil
    }
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
