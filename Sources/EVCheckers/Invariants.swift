import EVCore

/// A promise of our designs that Maelstrom's checkers do not look at (docs/evsim.md,
/// "Invariants"). A run that breaks one fails, whatever Maelstrom's verdict.
public struct InvariantResult: Sendable, Equatable {
    public let name: String
    public let holds: Bool
    /// What was checked, or the first violations when it broke.
    public let detail: String

    public init(_ name: String, holds: Bool, detail: String) {
        self.name = name
        self.holds = holds
        self.detail = detail
    }
}

/// The invariant checks, one per workload that promises more than Maelstrom checks.
public enum Invariants {
    /// Broadcast and g-set: after the final phase every node holds every acknowledged value (`add`
    /// names the adding function). Each node's last successful final read must contain them all; a
    /// node without one is a violation (nothing shows it holds them). Set-full alone misses a node
    /// that never got a value when another node's later read has it.
    public static func everyNodeHoldsEveryAck(_ history: [Operation], nodes: [String], add: String = "broadcast") -> InvariantResult {
        let name = "every node's final read holds every acknowledged \(add)"
        let acked = Set(history.compactMap { $0.f == add && $0.outcome?.isOK == true ? $0.value.int : nil })
        var problems: [String] = []
        for node in nodes {
            let finalRead = history.filter { $0.f == "read" && $0.isFinal && $0.node == node && $0.outcome?.isOK == true }
                .max { ordered($0, $1) }
            guard let read = finalRead?.outcome?.okValue?.array else {
                problems.append("\(node): no successful final read")
                continue
            }
            let missing = acked.subtracting(read.compactMap(\.int)).sorted()
            if !missing.isEmpty {
                problems.append("\(node): final read lacks \(missing.count) acknowledged value(s) \(preview(missing))")
            }
        }
        return result(name, problems, checked: "\(acked.count) acknowledged values on \(nodes.count) nodes")
    }

    /// g-counter: a node's reads never go down (pn-counter's may, and are not checked). For two successful reads on one node, the one
    /// invoked after the other completed must not return less.
    public static func gCounterReadsMonotonicPerNode(_ history: [Operation]) -> InvariantResult {
        let reads = history.filter { $0.f == "read" && $0.outcome?.okValue?.int != nil }
        let problems = realTimeRegressions(reads) { earlier, later in
            let a = earlier.outcome!.okValue!.int!, b = later.outcome!.okValue!.int!
            return b < a ? "\(later.node): read \(b) at \(seconds(later.invokedAt)) after \(a) at \(seconds(earlier.completedAt!))" : nil
        }
        return result("g-counter reads never go down on a node", problems, checked: "\(reads.count) reads")
    }

    /// Kafka: a committed offset never goes backwards on a node. For two successful
    /// list_committed_offsets on one node (the `offsets` of an `assign`), the one invoked after the
    /// other completed must report at least as much for every key the first reported.
    public static func kafkaCommittedOffsetsMonotonicPerNode(_ history: [Operation]) -> InvariantResult {
        let lists = history.filter { $0.f == "assign" && $0.outcome?.okValue?["offsets"]?.members != nil }
        let problems = realTimeRegressions(lists) { earlier, later in
            let before = earlier.outcome!.okValue!["offsets"]!, after = later.outcome!.okValue!["offsets"]!
            for (key, value) in before.members ?? [] {
                guard let was = value.int else { continue }
                let now = after[key]?.int
                if now == nil && !(later.value["keys"]?.array?.contains(.string(key)) ?? false) { continue }
                if (now ?? -1) < was {
                    return "\(later.node): key \(key) committed \(now.map(String.init) ?? "nothing") at "
                        + "\(seconds(later.invokedAt)) after \(was) at \(seconds(earlier.completedAt!))"
                }
            }
            return nil
        }
        return result("kafka committed offsets never go backwards on a node", problems,
                      checked: "\(lists.count) list_committed_offsets")
    }

    /// Txn: after the heal (and the recovery wait) every node holds the same value for every key.
    /// `snapshots` maps each node to its registers; a node that cannot report one is a violation.
    public static func txnNodesConverged(_ snapshots: [(node: String, registers: [JSONValue: JSONValue]?)]) -> InvariantResult {
        let name = "after the heal every node holds the same value for every key"
        var problems = snapshots.filter { $0.registers == nil }.map { "\($0.node): no txn state to compare" }
        let known = snapshots.compactMap { s in s.registers.map { (s.node, $0) } }
        let keys = Set(known.flatMap { $0.1.keys }).sorted { $0.text < $1.text }
        for key in keys {
            let values = known.map { ($0.0, $0.1[key]) }
            guard Set(values.map { $0.1?.text ?? "missing" }).count > 1 else { continue }
            problems.append("key \(key.text): " + values.map { "\($0.0)=\($0.1?.text ?? "missing")" }.joined(separator: " "))
        }
        return result(name, problems, checked: "\(keys.count) keys on \(snapshots.count) nodes")
    }

    // MARK: helpers

    /// Pairs of operations on one node where `later` was invoked after `earlier` completed, in
    /// history order; `regression` describes a violation or returns nil.
    static func realTimeRegressions(_ ops: [Operation], _ regression: (Operation, Operation) -> String?) -> [String] {
        var problems: [String] = []
        for node in Set(ops.map(\.node)).sorted() {
            let mine = ops.filter { $0.node == node }.sorted { ($0.invokedAt, $0.invokeIndex) < ($1.invokedAt, $1.invokeIndex) }
            // Every completed predecessor: exact, and a node has at most a few thousand such ops.
            for (i, later) in mine.enumerated() {
                for earlier in mine[..<i] where completedBefore(earlier, later) {
                    if let p = regression(earlier, later) { problems.append(p); break }
                }
                if problems.count >= 8 { return problems }
            }
        }
        return problems
    }

    /// `a` completed before `b` was invoked (event indices when the runner set them, else times).
    static func completedBefore(_ a: Operation, _ b: Operation) -> Bool {
        guard let done = a.completedAt else { return false }
        if a.completeIndex >= 0, b.invokeIndex >= 0 { return a.completeIndex < b.invokeIndex }
        return done <= b.invokedAt
    }

    /// History order: by event index when set, else by invocation time.
    static func ordered(_ a: Operation, _ b: Operation) -> Bool {
        a.invokeIndex >= 0 && b.invokeIndex >= 0 ? a.invokeIndex < b.invokeIndex : a.invokedAt < b.invokedAt
    }

    static func result(_ name: String, _ problems: [String], checked: String) -> InvariantResult {
        problems.isEmpty ? InvariantResult(name, holds: true, detail: checked)
            : InvariantResult(name, holds: false, detail: problems.prefix(8).joined(separator: "; ")
                + (problems.count > 8 ? "; …" : ""))
    }

    static func preview(_ values: [Int]) -> String {
        values.count <= 8 ? "\(values)" : "\(Array(values.prefix(8))) …"
    }

    static func seconds(_ t: Micros) -> String { "\(Double(t / 1000) / 1000) s" }
}
