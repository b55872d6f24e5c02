import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Maelstrom's txn-list-append workload (protocol reference §9.10, the Datomic chapter), which
/// runs Jepsen's list-append test with Maelstrom's client.
///
/// Generator (Elle's `list-append` generator, `TxnGenerator` with writes as appends): 1…4
/// micro-ops per transaction (`--max-txn-length`), `["r", k, null]` or `["append", k, v]` with
/// equal odds, keys from a pool of 10 (`--key-count`; Maelstrom sets no default, Elle's is 10 with
/// its exponential key choice), appended values 1, 2, 3, … per key, a key retired for a fresh one
/// after 16 appends (`--max-writes-per-key`).
///
/// Client (Maelstrom's txn-list-append client): one `txn` request per operation, recorded as f
/// "txn" with the transaction as value; `txn_ok` must carry the same micro-ops in the same order,
/// appends unchanged, each read filled with a list or null, else the reply is malformed (:info).
/// Errors follow Maelstrom's registry (`classify`): definite codes (1, 10, 11, 12, 14, 20, 21, 22,
/// 30 txn-conflict) are :fail; crash (13), unknown codes and timeouts are :info. Clients are
/// reusable; there is no final phase.
///
/// Checker: `ListAppendChecker` (Elle's list-append analysis) under `--consistency-models`
/// (default strict-serializable). txn-rw-register's other figures do not apply: the
/// sequential-keys analysis stands in for version orders that list reads give here, and the
/// replication visibility watches evnode's rw-register state. Invariants: Raft's safety
/// properties after every event (`ConsensusInvariants`).
public final class ListAppendModel: WorkloadModel {
    public let kind = WorkloadKind.txnListAppend
    public var reusableClients: Bool { true }

    public struct Options: Sendable {
        /// `--consistency-models`.
        public var consistency = ListAppendChecker.Model.strictSerializable
        /// `--max-txn-length`.
        public var maxTxnLength = 4
        /// `--max-writes-per-key`.
        public var maxWritesPerKey = 16
        /// `--key-count`.
        public var keyCount = 10
        public var keyDistribution = TxnGenerator.KeyDistribution.exponential
        public init() {}
    }

    public let options: Options
    private var generator: TxnGenerator

    public init(_ options: Options = Options()) {
        self.options = options
        generator = TxnGenerator(writeFunction: "append", keyCount: options.keyCount, maxTxnLength: options.maxTxnLength,
                                 maxWritesPerKey: options.maxWritesPerKey, keyDistribution: options.keyDistribution)
    }

    /// The key pool, slot by slot, for tests.
    public var activeKeys: [Int] { generator.activeKeys }

    // MARK: generator

    public func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        ("txn", generator.next(&rng))
    }

    // MARK: client

    public func execute(f: String, value: JSONValue, worker: Int,
                        call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void) {
        TxnModel.perform(value, call: call, complete: complete, mismatch: Self.mismatch)
    }

    /// txn-rw-register's check (`TxnModel.mismatch`), and every read filled with a list or null.
    static func mismatch(request: JSONValue, reply: JSONValue) -> String? {
        if let problem = TxnModel.mismatch(request: request, reply: reply) { return problem }
        for (i, op) in (reply.array ?? []).enumerated() where op[0] == "r" {
            if let read = op[2], !read.isNull, read.array == nil { return "read \(i) is not a list: \(op.text)" }
        }
        return nil
    }

    /// Raft's safety properties, checked after every event (docs/evsim.md, "Consensus invariants").
    public let consensus = ConsensusInvariants()

    public func watch(_ cluster: Cluster) {
        consensus.watch(cluster) { ($0.router?.active[.txnListAppend] as? ListAppend)?.service.raft }
    }

    /// The consensus invariants, watched over the whole run.
    public func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult] {
        consensus.finish(at: cluster.now)
        return consensus.results()
    }

    // MARK: checker

    /// Lost or reordered appends show as anomalies the model prohibits.
    public func lost(_ result: TestResult) -> Int? { result.results["workload"]?["prohibited-anomaly-types"]?.array?.count ?? 0 }

    /// The checker's result plus `latencies`.
    public func check(_ history: [Operation]) -> CheckResult {
        let result = ListAppendChecker.check(history, model: options.consistency)
        return CheckResult(validity: result.validity, details: .object((result.details.members ?? []) + [("latencies", OperationLatency.quantiles(history))]))
    }
}
