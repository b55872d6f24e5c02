import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Challenge 2's workload (protocol reference §9.2): `generate` requests; no id may be
/// acknowledged twice. Clients are reusable: a timeout does not replace the client id.
public final class UniqueIDsModel: WorkloadModel {
    public let kind = WorkloadKind.uniqueIDs
    public var reusableClients: Bool { true }
    static let schema = ReplySchema(type: "generate_ok", fields: [("id", .any)])

    public init() {}

    public func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        ("generate", .null)
    }

    public func execute(f: String, value: JSONValue, worker: Int,
                        call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void) {
        call(["type": "generate"]) { reply in
            complete(classify(reply, schema: Self.schema) { $0["id"] ?? .null })
        }
    }

    /// Valid iff no id was acknowledged twice. Reports counts and the min/max `range`; ids of
    /// mixed or non-comparable types make the range (and so the verdict) unknown, as they break
    /// Maelstrom's checker.
    public func check(_ history: [Operation]) -> CheckResult {
        var seen: [JSONValue: Int] = [:]
        var acknowledged: [JSONValue] = []
        for op in history {
            guard let id = op.outcome?.okValue else { continue }
            acknowledged.append(id)
            seen[id, default: 0] += 1
        }
        let duplicated = seen.filter { $0.value > 1 }
            .sorted { ($0.value, $0.key.text) > ($1.value, $1.key.text) }
        var members: [(String, JSONValue)] = []
        let rangeResult = Self.range(acknowledged)
        let validity: Validity = !duplicated.isEmpty ? .invalid : (rangeResult == nil && !acknowledged.isEmpty ? .unknown : .valid)
        members.append(("valid?", validity.json))
        members.append(("attempted-count", .int(history.count)))
        members.append(("acknowledged-count", .int(acknowledged.count)))
        members.append(("duplicated-count", .int(duplicated.count)))
        members.append(("duplicated", .object(duplicated.prefix(48).map { ($0.key.text, .int($0.value)) })))
        if let r = rangeResult {
            members.append(("range", .array([r.min, r.max])))
        } else if !acknowledged.isEmpty {
            members.append(("range", "ids are not all integers or all strings"))
        } else {
            members.append(("range", .array([])))
        }
        return CheckResult(validity: validity, details: .object(members))
    }

    /// Smallest and largest id when all are integers or all are strings; nil otherwise.
    static func range(_ ids: [JSONValue]) -> (min: JSONValue, max: JSONValue)? {
        guard !ids.isEmpty else { return nil }
        let ints = ids.compactMap(\.int)
        if ints.count == ids.count, let lo = ints.min(), let hi = ints.max() { return (.int(lo), .int(hi)) }
        let strings = ids.compactMap(\.string)
        if strings.count == ids.count, let lo = strings.min(), let hi = strings.max() { return (.string(lo), .string(hi)) }
        return nil
    }
}
