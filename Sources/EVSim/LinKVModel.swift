import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Maelstrom's lin-kv workload (protocol reference §9.9), which reuses Jepsen's
/// linearizable-register test; generator and client follow Maelstrom's source.
///
/// Generator (Jepsen's `independent/concurrent-generator`):
/// - workers form groups of 2n (n = node count): workers 0…2n−1, 2n…4n−1, …; each group works on
///   one key at a time, keys 0, 1, 2, … handed out in the order groups ask for a fresh one;
/// - in a group, the first n workers only read; the other n draw write : cas = 1 : 2, so with
///   every worker equally likely to be free, read : write : cas = 3 : 1 : 2;
/// - written values, and cas `from`/`to`, are uniform in 0…4;
/// - a group leaves its key for a fresh one when the processes it has used on the key (its 2n
///   current ones plus one per :info since, each :info burning a process) exceed 20 (Jepsen's
///   `process-limit`), and at least one operation has been generated on the key.
/// Maelstrom refuses a `--concurrency` that is not a multiple of 2n; here a last partial group
/// would simply have fewer workers.
///
/// Client (Maelstrom's lin-kv client): error codes 1, 10, 11, 20, 21, 22 are :fail; any other
/// error, a malformed reply and a timeout are :info, reads included (so a timed-out read burns
/// its process too), except that a read answered with error 20 (no such key) is recorded as an
/// :ok read of null, which the checker verifies instead of ignoring. Maelstrom's client timeout
/// is max(10 × latency, 1 s): the challenges set `TestSpec.clientTimeout` to it. Clients are not
/// reusable; there is no final phase.
///
/// Checker: `LinearizabilityChecker` (Knossos's cas-register per key), 200,000 states per key;
/// the workload results add `answered-fraction` (see `check`). Invariants: Raft's safety
/// properties after every event (`ConsensusInvariants`).
public final class LinKVModel: WorkloadModel {
    public let kind = WorkloadKind.linKV
    public let nodeCount: Int
    /// Jepsen's default `process-limit` per key.
    public static let processLimit = 20
    /// Lower than the checker's default: enough for valid runs, and an invalid or hopeless key
    /// costs a bounded fraction of a second.
    public static let maxStatesPerKey = 200_000

    /// One group's current key and the processes it has burnt on it.
    private struct Group {
        var key: Int
        var burnt = 0
        var generated = 0
    }
    private var groups: [Int: Group] = [:]
    private var nextKey = 0

    static let readSchema = ReplySchema(type: "read_ok", fields: [("value", .any)])
    static let writeSchema = ReplySchema(type: "write_ok")
    static let casSchema = ReplySchema(type: "cas_ok")
    /// Maelstrom's lin-kv `known-failure-codes`.
    static let definiteCodes: Set<Int> = [1, 10, 11, 20, 21, 22]

    public init(nodeCount: Int) {
        precondition(nodeCount > 0)
        self.nodeCount = nodeCount
    }

    /// Workers per key group.
    public var groupSize: Int { 2 * nodeCount }

    /// Raft's safety properties, checked after every event (docs/evsim.md, "Consensus invariants").
    public let consensus = ConsensusInvariants()

    /// The groups depend on the node count: the spec's must be the model's. Installs the
    /// consensus invariants.
    public func watch(_ cluster: Cluster) {
        precondition(cluster.nodeIDs.count == nodeCount, "LinKVModel(nodeCount: \(nodeCount)) in a \(cluster.nodeIDs.count)-node cluster")
        consensus.watch(cluster) { ($0.router?.active[.linKV] as? LinearizableKV)?.raft }
    }

    /// The consensus invariants, watched over the whole run.
    public func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult] {
        consensus.finish(at: cluster.now)
        return consensus.results()
    }

    // MARK: generator

    public func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        let g = worker / groupSize
        var group = groups[g] ?? freshGroup()
        if group.generated > 0 && groupSize + group.burnt > Self.processLimit { group = freshGroup() }
        group.generated += 1
        groups[g] = group
        let key = JSONValue.int(group.key)
        if worker % groupSize < nodeCount { return ("read", [key, nil]) }
        if rng.int(0...2) == 0 { return ("write", [key, .int(rng.int(0...4))]) }
        return ("cas", [key, [.int(rng.int(0...4)), .int(rng.int(0...4))]])
    }

    private func freshGroup() -> Group {
        defer { nextKey += 1 }
        return Group(key: nextKey)
    }

    /// The key a worker's group is on (nil before its first operation), for tests.
    public func currentKey(worker: Int) -> Int? { groups[worker / groupSize]?.key }

    // MARK: client

    public func execute(f: String, value: JSONValue, worker: Int,
                        call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void) {
        let args = value.array ?? [], key = args.first ?? .null, arg = args.count > 1 ? args[1] : .null
        let finish = { [weak self] (outcome: Outcome) in
            if case .info = outcome { self?.burn(worker: worker) }
            complete(outcome)
        }
        switch f {
        case "read":
            call(["type": "read", "key": key]) { reply in
                if reply?["type"] == "error", reply?["code"]?.int == ErrorCode.keyDoesNotExist.rawValue {
                    return finish(.ok([key, nil]))
                }
                finish(Self.outcome(reply, schema: Self.readSchema) { [key, $0["value"] ?? .null] })
            }
        case "write":
            call(["type": "write", "key": key, "value": arg]) { reply in
                finish(Self.outcome(reply, schema: Self.writeSchema) { _ in value })
            }
        default:
            let fromTo = arg.array ?? []
            call(["type": "cas", "key": key, "from": fromTo.first ?? .null, "to": fromTo.last ?? .null]) { reply in
                finish(Self.outcome(reply, schema: Self.casSchema) { _ in value })
            }
        }
    }

    /// An :info crashes the worker's process; the runner gives it a new one.
    private func burn(worker: Int) {
        groups[worker / groupSize]?.burnt += 1
    }

    /// Maelstrom's lin-kv classification: its own set of definite codes, the rest indefinite.
    static func outcome(_ reply: JSONValue?, schema: ReplySchema, okValue: (JSONValue) -> JSONValue) -> Outcome {
        if let reply, reply["type"] == "error" {
            let code = reply["code"]?.int ?? ErrorCode.crash.rawValue
            let text = "error \(code): \(reply["text"]?.string ?? "")"
            return definiteCodes.contains(code) ? .fail(text) : .info(text)
        }
        return classify(reply, schema: schema, okValue: okValue)
    }

    // MARK: checker

    /// The checker's result plus `latencies` and `answered-fraction`, the availability our goals use: ops answered
    /// :ok or with error 20 or 22. Maelstrom's ok-fraction cannot serve: a perfect store fails
    /// about four cas in five (`from` is drawn blindly), over a quarter of all ops.
    /// A lost or stale write shows as a key with no linearization.
    public func lost(_ result: TestResult) -> Int? { result.results["workload"]?["invalid-keys"]?.array?.count ?? 0 }

    public func check(_ history: [Operation]) -> CheckResult {
        let result = LinearizabilityChecker(maxStatesPerKey: Self.maxStatesPerKey).check(history)
        let answered = history.filter { op in
            switch op.outcome {
            case .ok?: return true
            case .fail(let why)?: return why.hasPrefix("error 20:") || why.hasPrefix("error 22:")
            default: return false
            }
        }.count
        let fraction = history.isEmpty ? 1 : Double(answered) / Double(history.count)
        let details = (result.details.members ?? []) + [("answered-fraction", .double(StandardCheckers.rounded(fraction, places: 6))),
                                                        ("latencies", OperationLatency.quantiles(history))]
        return CheckResult(validity: result.validity, details: .object(details))
    }
}
