import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Challenge 4's workload, g-counter, and pn-counter (protocol reference §9.4, §9.8): a random
/// 50/50 mix of `add` (delta 0–4; pn-counter −5–4) and `read`; after heal + 10 s, one final `read`
/// per worker. Only the final reads are checked (`GCounterChecker`). Errors are not translated for
/// this workload: any error or timeout is :info. A value log watching the nodes measures how fast
/// they converge.
public final class GCounterModel: WorkloadModel {
    public let kind: WorkloadKind
    public var hasFinalPhase: Bool { true }
    /// The deltas drawn.
    public let deltas: ClosedRange<Int>
    /// Every node's value over time, watched by `watch(_:)`.
    public let valueLog = GCounterValueLog()

    static let addSchema = ReplySchema(type: "add_ok")
    static let readSchema = ReplySchema(type: "read_ok", fields: [("value", .int)])

    /// `kind`: .gCounter or .pnCounter.
    public init(_ kind: WorkloadKind = .gCounter) {
        precondition(kind == .gCounter || kind == .pnCounter)
        self.kind = kind
        deltas = kind == .gCounter ? 0...4 : -5...4
    }

    public func watch(_ cluster: Cluster) { valueLog.watch(cluster) }

    public func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        rng.unit() < 0.5 ? ("add", .int(rng.int(deltas))) : ("read", .null)
    }

    public func finalOperations(worker: Int) -> [(f: String, value: JSONValue)] { [("read", .null)] }

    public func execute(f: String, value: JSONValue, worker: Int,
                        call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void) {
        if f == "add" {
            call(["type": "add", "delta": value]) { reply in
                complete(Self.untranslated(classify(reply, schema: Self.addSchema) { _ in value }))
            }
        } else {
            call(["type": "read"]) { reply in
                complete(Self.untranslated(classify(reply, schema: Self.readSchema) { $0["value"] ?? .null }))
            }
        }
    }

    /// g-counter clients record every error as :info, definite or not (reference §4.4).
    static func untranslated(_ outcome: Outcome) -> Outcome {
        if case .fail(let why) = outcome { return .info(why) }
        return outcome
    }

    /// Final reads outside what the acknowledged and unknown adds allow.
    public func lost(_ result: TestResult) -> Int? { result.results["workload"]?["errors"]?.array?.count ?? 0 }

    public func check(_ history: [Operation]) -> CheckResult {
        GCounterChecker.check(history, valueChanges: valueLog.changes)
    }

    public func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult] {
        kind == .gCounter ? [Invariants.gCounterReadsMonotonicPerNode(history)] : []
    }
}
