import EVCore

/// The g-counter / pn-counter checker (protocol reference §9.4): only final reads count. With
/// S = the sum of acknowledged deltas and U = the deltas of adds with unknown outcome, every final
/// read must equal S plus the sum of some subset of U. Definitely failed adds count for nothing;
/// reads before the final phase are not checked.
///
/// Beyond Maelstrom, when the nodes' value changes are given (the model records them by watching the nodes
/// in the nodes) it reports `convergence-ms`: the virtual time from the completion of the last add
/// until every node's value stood at the final value for good.
public enum GCounterChecker {
    /// node → (time, value) of every change of its counter value, in time order.
    public typealias ValueChanges = [String: [(at: Micros, value: Int)]]

    public static func check(_ history: [Operation], valueChanges: ValueChanges? = nil) -> CheckResult {
        var acknowledged = 0
        var unknown: [Int] = []
        var lastAdd: Micros?
        for op in history where op.f == "add" {
            guard let delta = op.value.int else { continue }
            switch op.outcome {
            case .ok?: acknowledged += delta
            case .info?, nil: unknown.append(delta)
            case .fail?: continue
            }
            if delta != 0, let t = op.completedAt { lastAdd = max(lastAdd ?? t, t) }
        }
        let reachable = subsetSums(unknown)
        let acceptable = reachable.map { [acknowledged + $0.lowerBound, acknowledged + $0.upperBound] }

        var finalReads: [(node: String, value: Int)] = []
        var errors: [JSONValue] = []
        for op in history where op.f == "read" && op.isFinal {
            guard let v = op.outcome?.okValue?.int else { continue }
            finalReads.append((op.node, v))
            if !reachable.contains(where: { $0.contains(v - acknowledged) }) {
                errors.append(["node": .string(op.node), "value": .int(v),
                               "expected": .array(acceptable.prefix(8).map { .array($0.map(JSONValue.int)) })])
            }
        }
        let validity: Validity = !errors.isEmpty ? .invalid : (finalReads.isEmpty ? .unknown : .valid)

        var members: [(String, JSONValue)] = [("valid?", validity.json)]
        members.append(("final-reads", .array(finalReads.map { .int($0.value) })))
        members.append(("acceptable", .array(acceptable.prefix(16).map { .array($0.map(JSONValue.int)) })))
        members.append(("errors", .array(errors)))
        members.append(("acknowledged-sum", .int(acknowledged)))
        members.append(("indeterminate-add-count", .int(unknown.count)))
        if let valueChanges {
            let nodes = Set(history.map(\.node)).union(valueChanges.keys).sorted()
            members.append(("convergence-ms", convergence(nodes: nodes, finalReads: finalReads.map(\.value),
                                                         lastAdd: lastAdd, changes: valueChanges)))
        }
        return CheckResult(validity: validity, details: .object(members))
    }

    /// Time from the last add's completion until all nodes settled on the final value, in ms;
    /// "not-converged" if the final reads disagree or some node's value ended elsewhere.
    static func convergence(nodes: [String], finalReads: [Int], lastAdd: Micros?, changes: ValueChanges) -> JSONValue {
        let endValues = nodes.map { changes[$0]?.last?.value ?? 0 }
        guard let target = finalReads.first ?? endValues.first,
              finalReads.allSatisfy({ $0 == target }), endValues.allSatisfy({ $0 == target }) else {
            return "not-converged"
        }
        guard let lastAdd else { return .double(0) }
        var allSettled: Micros = 0
        for node in nodes {
            let at = changes[node].map { settled($0, at: target) ?? .max } ?? 0
            allSettled = max(allSettled, at)
        }
        return .double(Double(max(allSettled - lastAdd, 0)) / 1000)
    }

    /// The first time from which a node's value stayed `value` to the end of its record; nil if
    /// it did not end there.
    static func settled(_ list: [(at: Micros, value: Int)], at value: Int) -> Micros? {
        guard let last = list.last, last.value == value else { return nil }
        var since = last.at
        for change in list.reversed() {
            guard change.value == value else { break }
            since = change.at
        }
        return since
    }

    /// The sums of all subsets of `deltas`, as sorted disjoint closed ranges.
    static func subsetSums(_ deltas: [Int]) -> [ClosedRange<Int>] {
        let low = deltas.filter { $0 < 0 }.reduce(0, +)
        let high = deltas.filter { $0 > 0 }.reduce(0, +)
        var reachable = [Bool](repeating: false, count: high - low + 1)
        reachable[-low] = true
        for d in deltas where d != 0 {
            if d > 0 {
                for i in stride(from: reachable.count - 1 - d, through: 0, by: -1) where reachable[i] { reachable[i + d] = true }
            } else {
                for i in -d..<reachable.count where reachable[i] { reachable[i + d] = true }
            }
        }
        var ranges: [ClosedRange<Int>] = []
        var start: Int?
        for i in 0..<reachable.count {
            if reachable[i] {
                if start == nil { start = i }
            } else if let s = start {
                ranges.append((s + low)...(i - 1 + low))
                start = nil
            }
        }
        if let s = start { ranges.append((s + low)...(reachable.count - 1 + low)) }
        return ranges
    }
}
