import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Challenge 4's workload, g-counter (protocol reference §9.4): a random 50/50 mix of `add` (delta
/// 0–4) and `read`; after heal + 10 s, one final `read` per worker. Only the final reads are
/// checked (`GCounterChecker`). Errors are not translated for this workload: any error or timeout
/// is :info. A probe installed in the nodes measures how fast they converge.
public final class GCounterModel: WorkloadModel {
    public let kind = WorkloadKind.gCounter
    public var hasFinalPhase: Bool { true }
    /// Largest delta drawn (the g-counter generator draws 0…4).
    public let maxDelta: Int
    /// Installed into every node's `GCounter.Config` by `configure(_:)`.
    public let probe = GCounterProbe()

    static let addSchema = ReplySchema(type: "add_ok")
    static let readSchema = ReplySchema(type: "read_ok", fields: [("value", .int)])

    public init(maxDelta: Int = 4) {
        self.maxDelta = maxDelta
    }

    public func configure(_ workloads: inout WorkloadConfig) {
        workloads.gCounter.probe = probe
    }

    public func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        rng.unit() < 0.5 ? ("add", .int(rng.int(0...maxDelta))) : ("read", .null)
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

    public func check(_ history: [Operation]) -> CheckResult {
        GCounterChecker.check(history, valueChanges: probe.changes)
    }

    public func invariants(_ history: [Operation], cluster: Cluster) -> [InvariantResult] {
        [Invariants.gCounterReadsMonotonicPerNode(history)]
    }
}
