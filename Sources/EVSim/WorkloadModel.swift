import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// A workload as Maelstrom's test harness sees it: the load it generates, how a client performs
/// an operation, and the checker. One type per workload; the runner drives it.
public protocol WorkloadModel: AnyObject {
    var kind: WorkloadKind { get }
    /// Broadcast, g-set, the counters and kafka have a final phase after the partitions heal.
    var hasFinalPhase: Bool { get }
    /// unique-ids and txn clients survive a timeout; the others are replaced (reference §6.3).
    var reusableClients: Bool { get }

    /// Requests sent once to each node after init, before the load starts (e.g. topology).
    func setupRequests(nodeIDs: [String]) -> [(node: String, body: JSONValue)]

    /// Adjusts the node tunables of this run before the cluster starts. Default: nothing.
    func configure(_ workloads: inout WorkloadConfig)

    /// Starts watching node state the checker reads (through `Cluster.addObserver`), once the
    /// cluster exists. Default: nothing.
    func watch(_ cluster: Cluster)

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

    /// Acknowledged data a finished run lost, as its checker counts it (the fault figures' "lost"
    /// column); nil for a workload that keeps no data. Default: nil.
    func lost(_ result: TestResult) -> Int?

    /// Whether the runner heals the network and waits `recoveryWait` after the run (once the
    /// result map is taken) before checking the invariants, for invariants about node state in
    /// workloads without a final phase. Default: false.
    var settlesBeforeInvariants: Bool { get }

    /// The invariants our design promises beyond Maelstrom's checker (docs/evsim.md), checked
    /// after the run against the history and, where needed, the nodes. Default: none.
    func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult]
}

public extension WorkloadModel {
    var hasFinalPhase: Bool { false }
    var reusableClients: Bool { false }
    func setupRequests(nodeIDs: [String]) -> [(node: String, body: JSONValue)] { [] }
    func configure(_ workloads: inout WorkloadConfig) {}
    func lost(_ result: TestResult) -> Int? { nil }
    func watch(_ cluster: Cluster) {}
    var settlesBeforeInvariants: Bool { false }
    func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult] { [] }
    func finalOperations(worker: Int) -> [(f: String, value: JSONValue)] { [] }
    func nextFinalOperation(worker: Int, completed: Int) -> (f: String, value: JSONValue, after: Micros)? {
        let ops = finalOperations(worker: worker)
        return completed < ops.count ? (ops[completed].f, ops[completed].value, 0) : nil
    }
}

/// Acknowledged elements missing from the last ok final read of some node (broadcast, g-set).
func lostFromFinalReads(_ history: [Operation], addedBy addF: String) -> Int {
    let acked = Set(history.compactMap { $0.f == addF && $0.outcome?.isOK == true ? $0.value.int : nil })
    var missing = Set<Int>()
    for node in Set(history.map(\.node)) {
        let last = history.filter { $0.f == "read" && $0.isFinal && $0.node == node && $0.outcome?.isOK == true }
            .max { $0.invokeIndex < $1.invokeIndex }
        guard let read = last?.outcome?.okValue?.array else { continue }
        missing.formUnion(acked.subtracting(read.compactMap(\.int)))
    }
    return missing.count
}
