import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// A handler that can show its txn registers (key → value) for the convergence invariant: evnode's
/// `Router`, or a test's wrapper around one.
public protocol TxnStateReporting: AnyObject {
    /// nil when the node runs no txn workload.
    var txnRegisters: [JSONValue: JSONValue]? { get }
}

extension Router: TxnStateReporting {
    public var txnRegisters: [JSONValue: JSONValue]? {
        // A node that never saw a txn has no RWRegister yet: its registers are empty.
        (active[.txn] as? RWRegister)?.map ?? [:]
    }
}

/// Challenges 6a–6c's workload, txn-rw-register (protocol reference §9.6): the transaction
/// generator, the client (one `txn` RPC per operation, reply shape checked against the request)
/// and the checker (`TxnChecker` under the selected consistency model, plus the same analysis
/// assuming sequential keys, plus replication visibility figures from watching the nodes).
/// Clients are reusable; there is no final phase.
public final class TxnModel: WorkloadModel {
    public let kind = WorkloadKind.txn
    public var reusableClients: Bool { true }

    public struct Options: Sendable {
        /// `--consistency-models`.
        public var consistency: TxnChecker.ConsistencyModel = .readCommitted
        /// `--max-txn-length` (micro-ops per transaction: uniform in 1...max).
        public var maxTxnLength = 4
        /// `--max-writes-per-key`: a key that got this many writes is retired for a fresh one.
        public var maxWritesPerKey = 16
        /// `--key-count`: size of the active key pool.
        public var keyCount = 10
        public var keyDistribution = TxnGenerator.KeyDistribution.exponential
        /// Also make the run invalid when the sequential-keys analysis finds a prohibited anomaly
        /// (off by default: Maelstrom infers less, see `TxnChecker`).
        public var requireSequentialKeys = false
        public init() {}
    }

    public let options: Options
    /// Watches the nodes (`watch(_:)`); measures visibility.
    public let visibility = TxnVisibility()

    private var generator: TxnGenerator

    static let schema = ReplySchema(type: "txn_ok", fields: [("txn", .any)])

    public init(_ options: Options = Options()) {
        self.options = options
        generator = TxnGenerator(writeFunction: "w", keyCount: options.keyCount, maxTxnLength: options.maxTxnLength,
                                 maxWritesPerKey: options.maxWritesPerKey, keyDistribution: options.keyDistribution)
    }

    public convenience init(consistency: TxnChecker.ConsistencyModel) {
        var o = Options()
        o.consistency = consistency
        self.init(o)
    }

    public func watch(_ cluster: Cluster) { visibility.watch(cluster) }

    // MARK: generator

    public func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        ("txn", generator.next(&rng))
    }

    // MARK: client

    public func execute(f: String, value: JSONValue, worker: Int,
                        call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void) {
        Self.perform(value, call: call, complete: complete, mismatch: Self.mismatch)
    }

    /// One `txn` RPC (both txn workloads): a reply that does not answer the request is :info.
    static func perform(_ value: JSONValue, call: (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void,
                        mismatch: @escaping (_ request: JSONValue, _ reply: JSONValue) -> String?) {
        call(["type": "txn", "txn": value]) { reply in
            var outcome = classify(reply, schema: schema) { $0["txn"] ?? .null }
            if case .ok(let filled) = outcome, let problem = mismatch(value, filled) {
                outcome = .info("malformed-response: \(problem)")
            }
            complete(outcome)
        }
    }

    /// Why a txn_ok's `txn` does not answer the request (same micro-ops in the same order, writes
    /// unchanged, reads filled in), or nil if it does. Any micro-op other than "r" is a write.
    static func mismatch(request: JSONValue, reply: JSONValue) -> String? {
        guard let asked = request.array, let got = reply.array else { return "txn is not an array" }
        guard asked.count == got.count else { return "\(got.count) micro-ops for \(asked.count)" }
        for (i, (a, g)) in zip(asked, got).enumerated() {
            guard let ga = g.array, ga.count == 3, let aa = a.array else { return "micro-op \(i) is not [f, k, v]" }
            guard ga[0] == aa[0], ga[1] == aa[1] else { return "micro-op \(i) changed: \(g.text) for \(a.text)" }
            if aa[0] != "r", ga[2] != aa[2] { return "write \(i) changed: \(g.text) for \(a.text)" }
        }
        return nil
    }

    // MARK: checker

    /// Convergence is about the nodes' state once replication caught up: heal, wait, then compare.
    public var settlesBeforeInvariants: Bool { true }

    public func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult] {
        [Invariants.txnNodesConverged(cluster.nodes.map { ($0.id, ($0.handler as? TxnStateReporting)?.txnRegisters) })]
    }

    public func lost(_ result: TestResult) -> Int? { result.brokenInvariants.count }

    public func check(_ history: [Operation]) -> CheckResult {
        let report = TxnChecker(model: options.consistency).check(history)
        let strict = TxnChecker(model: options.consistency, sequentialKeys: true).check(history)
        let valid = report.isValid && (!options.requireSequentialKeys || strict.isValid)

        var members = report.json.members ?? []
        members[0] = ("valid?", .bool(valid))
        members.append(("assuming-sequential-keys", .object([
            ("valid?", .bool(strict.isValid)),
            ("anomaly-types", .array(strict.prohibitedFound.map { .string($0) })),
            ("anomalies", .object(strict.prohibitedFound.map { t in
                (t, .object([("count", .int(strict.count(t))), ("examples", .array(strict.anomalies[t]!.examples))]))
            })),
            ("allowed-anomalies", .object(strict.allowedFound.map { ($0, .int(strict.count($0))) })),
            ("version-order-edges", .int(strict.versionEdges)),
        ])))
        let nodes = Set(history.map(\.node)).union(visibility.commits.keys).sorted()
        if nodes.count > 1 { members.append(("replication-visibility", visibility(nodeIDs: nodes))) }
        return CheckResult(validity: valid ? .valid : .invalid, details: .object(members))
    }

    /// Virtual time from a write transaction's acknowledgement (= its commit on the node that ran
    /// it) to its application on each other node, in ms; `not-applied` counts (transaction, node)
    /// pairs still in flight when the run stopped.
    public func visibility(nodeIDs: [String]) -> JSONValue {
        let (lags, missing) = visibility.visibilityLags(nodeIDs: nodeIDs)
        func ms(_ q: Double) -> JSONValue {
            guard !lags.isEmpty else { return .null }
            let i = min(lags.count - 1, Int((Double(lags.count - 1) * q).rounded()))
            return .double(Double(lags[i]) / 1000)
        }
        return .object([("count", .int(lags.count)), ("not-applied", .int(missing)),
                        ("ms", .object([("0", ms(0)), ("0.5", ms(0.5)), ("0.95", ms(0.95)), ("0.99", ms(0.99)), ("1", ms(1))]))])
    }
}
