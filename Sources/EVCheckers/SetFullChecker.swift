import EVCore

/// Jepsen's "set-full" checker as Maelstrom's broadcast workload uses it (protocol reference §9.3):
/// every broadcast value is a set addition; every successful read is a full read of the set.
///
/// Per value:
/// - *known*: the completion of its ok add, or of the first ok read containing it, whichever
///   came first;
/// - *last present* / *last absent*: the latest-invoked ok read that contained / lacked it (a read
///   only counts as lacking a value whose add was invoked before the read completed);
/// - *stable*: some read contains it and the last absent read was invoked before the last present
///   one; stable latency = max(0, invoke(last absent) − known), 0 if never absent;
/// - *lost*: known, and the last absent read was invoked after the last present one and after the
///   value became known;
/// - *never read*: neither (including attempts that failed and never showed up).
///
/// Ordering uses the history's event indices when the runner set them, otherwise times (a
/// completion at the same instant as an invocation counts as earlier).
public enum SetFullChecker {
    public enum ElementOutcome: String, Sendable { case stable, lost, neverRead = "never-read" }

    public struct Element: Sendable {
        public let value: Int
        public let outcome: ElementOutcome
        public let knownTime: Micros?
        public let lastAbsentTime: Micros?
        /// µs between becoming known and the last read that still missed it (stable values only).
        public let stableLatency: Micros?
        public var stableLatencyMS: Int? { stableLatency.map { Int($0 / 1000) } }
    }

    public struct Analysis: Sendable {
        public let elements: [Element]
        /// Values some read returned more than once, with the largest multiplicity seen.
        public let duplicated: [(value: Int, times: Int)]
        /// Values reads returned that no add ever attempted.
        public let unexpected: [Int]
        public let result: CheckResult
    }

    /// One point of the history's order: an event index, or a time-derived key.
    private struct Mark {
        let key: Int64
        let time: Micros
    }

    public static func check(_ history: [Operation], add: String = "broadcast", read: String = "read") -> CheckResult {
        analyze(history, add: add, read: read).result
    }

    public static func analyze(_ history: [Operation], add addF: String = "broadcast", read readF: String = "read") -> Analysis {
        let indexed = !history.isEmpty && history.allSatisfy { $0.invokeIndex >= 0 && ($0.completedAt == nil || $0.completeIndex >= 0) }
        func invoke(_ op: Operation) -> Mark {
            Mark(key: indexed ? Int64(op.invokeIndex) : op.invokedAt * 2 + 1, time: op.invokedAt)
        }
        func completion(_ op: Operation) -> Mark? {
            guard let t = op.completedAt else { return nil }
            return Mark(key: indexed ? Int64(op.completeIndex) : t * 2, time: t)
        }

        // Adds: first invocation and, if acknowledged, the completion.
        var addInvoked: [Int: Mark] = [:]
        var known: [Int: Mark] = [:]
        var order: [Int] = [] // values in order of first attempt, for stable output
        for op in history where op.f == addF {
            guard let v = op.value.int else { continue }
            let inv = invoke(op)
            if let seen = addInvoked[v] {
                if inv.key < seen.key { addInvoked[v] = inv }
            } else {
                addInvoked[v] = inv
                order.append(v)
            }
            if op.outcome?.isOK == true, let done = completion(op), known[v].map({ done.key < $0.key }) ?? true {
                known[v] = done
            }
        }

        // Dense indices for attempted values (broadcast values are 0, 1, 2, …: an array lookup).
        var slotOf: [Int: Int] = [:]
        for (i, v) in order.enumerated() { slotOf[v] = i }
        let maxValue = order.max() ?? -1
        let denseTable: [Int]? = order.allSatisfy({ $0 >= 0 }) && maxValue < 4 * order.count + 1024
            ? { var t = [Int](repeating: -1, count: maxValue + 1); for (i, v) in order.enumerated() { t[v] = i }; return t }()
            : nil
        func slot(_ v: Int) -> Int {
            if let denseTable { return v >= 0 && v < denseTable.count ? denseTable[v] : -1 }
            return slotOf[v] ?? -1
        }
        let count = order.count
        let words = (count + 63) / 64

        // Present: known (first completion) and last present (latest invocation) per value, in one
        // pass over the reads' contents; each read's membership is kept as a bitset for "absent".
        var knownKey = order.map { known[$0]?.key ?? Int64.max }
        var knownTime = order.map { known[$0]?.time ?? -1 }
        var presentKey = [Int64](repeating: -1, count: count)
        var readInvokeKey: [Int64] = [], readInvokeTime: [Micros] = [], readCompleteKey: [Int64] = []
        var bits: [UInt64] = []
        var stamp = [Int](repeating: -1, count: count), multiplicity = [Int](repeating: 0, count: count)
        var duplicated: [Int: Int] = [:]
        var unexpected = Set<Int>()
        for op in history where op.f == readF {
            guard case .ok(let value)? = op.outcome, let done = completion(op) else { continue }
            let readNo = readInvokeKey.count
            let inv = invoke(op)
            readInvokeKey.append(inv.key)
            readInvokeTime.append(inv.time)
            readCompleteKey.append(done.key)
            bits.append(contentsOf: repeatElement(0, count: words))
            for item in value.array ?? [] {
                guard let v = item.int else { continue }
                let i = slot(v)
                guard i >= 0 else { unexpected.insert(v); continue }
                if stamp[i] == readNo {
                    multiplicity[i] += 1
                    duplicated[v] = max(duplicated[v] ?? 0, multiplicity[i])
                    continue
                }
                stamp[i] = readNo
                multiplicity[i] = 1
                bits[readNo * words + i / 64] |= 1 << UInt64(i % 64)
                if done.key < knownKey[i] { knownKey[i] = done.key; knownTime[i] = done.time }
                if inv.key > presentKey[i] { presentKey[i] = inv.key }
            }
        }

        var elements: [Element] = []
        elements.reserveCapacity(count)
        let readCount = readInvokeKey.count
        for (i, v) in order.enumerated() {
            // Last absent: the latest-invoked read lacking the value that completed after the add
            // was invoked.
            let attemptedKey = addInvoked[v]!.key
            var absentKey: Int64 = -1, absentTime: Micros = 0
            let word = i / 64, mask: UInt64 = 1 << UInt64(i % 64)
            for r in 0..<readCount where bits[r * words + word] & mask == 0 {
                if readCompleteKey[r] > attemptedKey, readInvokeKey[r] > absentKey {
                    absentKey = readInvokeKey[r]
                    absentTime = readInvokeTime[r]
                }
            }
            let isKnown = knownKey[i] != Int64.max
            let stable = presentKey[i] >= 0 && absentKey < presentKey[i]
            let lost = !stable && isKnown && absentKey >= 0 && presentKey[i] < absentKey && knownKey[i] < absentKey
            var latency: Micros?
            if stable { latency = absentKey >= 0 ? max(0, absentTime - knownTime[i]) : 0 }
            elements.append(Element(value: v, outcome: stable ? .stable : (lost ? .lost : .neverRead),
                                    knownTime: isKnown ? knownTime[i] : nil,
                                    lastAbsentTime: absentKey >= 0 ? absentTime : nil,
                                    stableLatency: latency))
        }

        let duplicatedList = duplicated.map { (value: $0.key, times: $0.value) }.sorted { $0.value < $1.value }
        let unexpectedList = unexpected.sorted()
        return Analysis(elements: elements, duplicated: duplicatedList, unexpected: unexpectedList,
                        result: summarize(elements, duplicated: duplicatedList, unexpected: unexpectedList))
    }

    private static func summarize(_ elements: [Element], duplicated: [(value: Int, times: Int)], unexpected: [Int]) -> CheckResult {
        let stable = elements.filter { $0.outcome == .stable }
        let lost = elements.filter { $0.outcome == .lost }.map(\.value).sorted()
        let neverRead = elements.filter { $0.outcome == .neverRead }.map(\.value).sorted()
        let stale = stable.filter { ($0.stableLatency ?? 0) > 0 }
        let worstStale = stale.sorted { ($0.stableLatency!, $1.value) > ($1.stableLatency!, $0.value) }.prefix(8)
        let validity: Validity
        if !lost.isEmpty || !duplicated.isEmpty || !unexpected.isEmpty {
            validity = .invalid
        } else if stable.isEmpty {
            validity = .unknown
        } else {
            validity = .valid
        }
        func ints(_ xs: [Int]) -> JSONValue { .array(xs.map { .int($0) }) }
        let worst: [JSONValue] = worstStale.map { e in
            ["element": .int(e.value), "outcome": ":stable", "stable-latency": .int(e.stableLatencyMS ?? 0),
             "known-time-ms": .int(Int((e.knownTime ?? 0) / 1000)),
             "last-absent-time-ms": .int(Int((e.lastAbsentTime ?? 0) / 1000))]
        }
        let details: JSONValue = .object([
            ("valid?", validity.json),
            ("attempt-count", .int(elements.count)),
            ("stable-count", .int(stable.count)),
            ("lost-count", .int(lost.count)),
            ("lost", ints(lost)),
            ("never-read-count", .int(neverRead.count)),
            ("never-read", ints(neverRead)),
            ("stale-count", .int(stale.count)),
            ("stale", ints(stale.map(\.value).sorted())),
            ("worst-stale", .array(worst)),
            ("stable-latencies", quantileMap(stable.compactMap(\.stableLatencyMS))),
            ("duplicated-count", .int(duplicated.count)),
            ("duplicated", .object(duplicated.map { (String($0.value), .int($0.times)) })),
            ("unexpected-count", .int(unexpected.count)),
            ("unexpected", ints(unexpected)),
        ])
        return CheckResult(validity: validity, details: details)
    }
}
