import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Maelstrom's g-set workload (protocol reference §9.7): a random 50/50 mix of `add` (elements 0,
/// 1, 2, … in order) and `read`; after heal + 10 s one final read per worker. Checked with
/// set-full, plus the invariant that every node's final read holds every acknowledged element.
public final class GSetModel: WorkloadModel {
    public let kind = WorkloadKind.gSet
    public var hasFinalPhase: Bool { true }
    private var nextElement = 0

    static let addSchema = ReplySchema(type: "add_ok")
    static let readSchema = ReplySchema(type: "read_ok", fields: [("value", .intArray)])

    public init() {}

    public func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        guard rng.unit() < 0.5 else { return ("read", .null) }
        defer { nextElement += 1 }
        return ("add", .int(nextElement))
    }

    public func finalOperations(worker: Int) -> [(f: String, value: JSONValue)] { [("read", .null)] }

    public func execute(f: String, value: JSONValue, worker: Int,
                        call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void) {
        if f == "add" {
            call(["type": "add", "element": value]) { reply in
                complete(classify(reply, schema: Self.addSchema) { _ in value })
            }
        } else {
            call(["type": "read"]) { reply in
                complete(classify(reply, schema: Self.readSchema, idempotent: true) { $0["value"] ?? [] })
            }
        }
    }

    public func check(_ history: [Operation]) -> CheckResult { SetFullChecker.check(history, add: "add") }

    public func lost(_ result: TestResult) -> Int? { lostFromFinalReads(result.history, addedBy: "add") }

    public func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult] {
        [Invariants.everyNodeHoldsEveryAck(history, nodes: cluster.nodeIDs, add: "add")]
    }
}
