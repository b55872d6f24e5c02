import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Challenge 3's workload (protocol reference §9.3): a `topology` to every node before load, then a
/// random 50/50 mix of `broadcast` (values 0, 1, 2, … in order) and `read`; after heal + 10 s one
/// final read per worker. Checked with set-full. Only `read` is idempotent.
public final class BroadcastModel: WorkloadModel {
    public let kind = WorkloadKind.broadcast
    public var hasFinalPhase: Bool { true }
    public let topology: Topology
    private var nextValue = 0

    static let broadcastSchema = ReplySchema(type: "broadcast_ok")
    static let readSchema = ReplySchema(type: "read_ok", fields: [("messages", .intArray)])

    public init(topology: Topology = .grid) {
        self.topology = topology
    }

    public func setupRequests(nodeIDs: [String]) -> [(node: String, body: JSONValue)] {
        let map = topology.json(for: nodeIDs)
        return nodeIDs.map { ($0, ["type": "topology", "topology": map]) }
    }

    public func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        if rng.unit() < 0.5 {
            defer { nextValue += 1 }
            return ("broadcast", .int(nextValue))
        }
        return ("read", .null)
    }

    public func finalOperations(worker: Int) -> [(f: String, value: JSONValue)] { [("read", .null)] }

    public func execute(f: String, value: JSONValue, worker: Int,
                        call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void) {
        if f == "broadcast" {
            call(["type": "broadcast", "message": value]) { reply in
                complete(classify(reply, schema: Self.broadcastSchema) { _ in value })
            }
        } else {
            call(["type": "read"]) { reply in
                complete(classify(reply, schema: Self.readSchema, idempotent: true) { $0["messages"] ?? [] })
            }
        }
    }

    public func check(_ history: [Operation]) -> CheckResult { SetFullChecker.check(history) }

    public func lost(_ result: TestResult) -> Int? { lostFromFinalReads(result.history, addedBy: "broadcast") }

    public func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult] {
        [Invariants.everyNodeHoldsEveryAck(history, nodes: cluster.nodeIDs)]
    }
}
