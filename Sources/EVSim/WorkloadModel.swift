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

    /// Starts watching node state the checker reads (through `Cluster.observer`), once the
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
    func watch(_ cluster: Cluster) {}
    var settlesBeforeInvariants: Bool { false }
    func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult] { [] }
    func finalOperations(worker: Int) -> [(f: String, value: JSONValue)] { [] }
    func nextFinalOperation(worker: Int, completed: Int) -> (f: String, value: JSONValue, after: Micros)? {
        let ops = finalOperations(worker: worker)
        return completed < ops.count ? (ops[completed].f, ops[completed].value, 0) : nil
    }
}
