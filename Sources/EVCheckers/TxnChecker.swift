import EVCore

/// Checks a txn-rw-register history for transactional anomalies, in the manner of Elle's
/// rw-register analysis (protocol reference §9.6).
///
/// What it finds:
/// - `internal`: a read inside a transaction that disagrees with the transaction's own earlier
///   write or read of the key;
/// - `G1a` (aborted read): a committed transaction read a value written by a failed one;
/// - `G1b` (intermediate read): it read a value its writer overwrote later in the same txn;
/// - `G0` (write cycle): a cycle of ww edges; `G1c` (circular information flow): a cycle of
///   ww ∪ wr edges with at least one wr edge;
/// - reported but allowed by read committed: `fractured-read` (T saw one write of W and, for
///   another key W wrote, a version the inferred order puts before W's: a read-atomicity
///   violation), `G-single` (a cycle with exactly one rw edge), `G2-item` (cycles with rw edges),
///   `lost-update` (two committed transactions read one version and both overwrote it);
/// - structural problems that make any history invalid: `duplicate-write` (two writes of one
///   value to one key), `garbage-read` (a value nobody wrote), `future-read` (a transaction read
///   its own later write), `cyclic-versions` (the inferred version order of a key has a cycle).
///
/// Writes are unique per key, so wr edges are exact. The per-key version order is inferred from
/// (1) `null` preceding every written value and (2) writes following reads: a committed
/// transaction that read x = a and then wrote x = b puts a before b. That is all Maelstrom infers.
/// With `sequentialKeys` it also assumes each process observes each key's versions in order (a
/// per-key sequential-consistency assumption, Elle's :sequential-keys): the value a process saw
/// in one transaction precedes a different value it sees in a later one. evnode satisfies that
/// assumption (a client talks to one node; a node's register only moves to higher stamps), so
/// the stronger mode is sound for it, but it is an assumption, not a consequence of read committed.
/// ww edges connect the writers of consecutive versions, rw edges connect the readers of a
/// version to the writers of its successors.
public struct TxnChecker {
    public enum ConsistencyModel: String, CaseIterable, Sendable {
        case readUncommitted = "read-uncommitted"
        case readCommitted = "read-committed"
        /// Conflict serializability, without real-time edges (a stress setting, not a challenge).
        case serializable

        /// Anomaly types that make a history invalid under this model.
        public var prohibited: Set<String> {
            let structural: Set<String> = ["internal", "duplicate-write", "garbage-read", "cyclic-versions"]
            switch self {
            case .readUncommitted: return structural.union(["G0"])
            case .readCommitted: return structural.union(["G0", "G1a", "G1b", "G1c", "future-read"])
            case .serializable:
                return ConsistencyModel.readCommitted.prohibited.union(["G-single", "G2-item", "lost-update", "fractured-read"])
            }
        }
    }

    public var model: ConsistencyModel
    /// Also infer version order from each process's successive observations (see above).
    public var sequentialKeys = false
    /// Examples kept per anomaly type.
    public var maxExamples = 3
    /// Vertices the G-single / G2 searches may visit in total before giving up (reported as
    /// `cycle-search-timeout`, which like in Maelstrom never decides validity).
    public var searchBudget = 5_000_000

    public init(model: ConsistencyModel, sequentialKeys: Bool = false) {
        self.model = model
        self.sequentialKeys = sequentialKeys
    }

    // MARK: the history, decoded

    enum Status { case ok, info, fail }

    struct MicroOp {
        let isWrite: Bool
        let key: JSONValue
        /// A write's value, or what a read observed (nil: unknown, the txn did not complete ok).
        let value: JSONValue?
    }

    struct Txn {
        let historyIndex: Int
        let status: Status
        let process: Int
        let node: String
        let invokedAt: Micros
        let ops: [MicroOp]
        let display: JSONValue
        /// First access of a key was a read: the value it observed (committed txns only).
        var externalReads: [(key: JSONValue, value: JSONValue)] = []
        /// The last write of each key, in order of first write.
        var finalWrites: [(key: JSONValue, value: JSONValue)] = []

        var name: String { "T\(historyIndex)" }
    }

    struct KeyValue: Hashable {
        let key: JSONValue
        let value: JSONValue
    }

    struct WriteRef {
        let txn: Int
        let isFinal: Bool
    }

    /// One anomaly type's findings.
    public struct Finding: Sendable {
        public var count = 0
        public var examples: [JSONValue] = []
    }

    /// The verdict: anomalies found (by type), which of them the model prohibits, and figures.
    public struct Report: Sendable {
        public var model: ConsistencyModel
        public var anomalies: [String: Finding] = [:]
        public var txnCount = 0, okCount = 0, infoCount = 0, failCount = 0, unparseable = 0
        public var edgeCounts: [String: Int] = [:]
        public var versionEdges = 0
        public var inference: [String] = []
        public var searchExhausted = false

        public var prohibitedFound: [String] { anomalies.keys.filter { model.prohibited.contains($0) }.sorted() }
        public var allowedFound: [String] { anomalies.keys.filter { !model.prohibited.contains($0) }.sorted() }
        public var isValid: Bool { prohibitedFound.isEmpty }
        public func count(_ type: String) -> Int { anomalies[type]?.count ?? 0 }

        /// Result map in the spirit of Elle's: prohibited anomalies decide validity, the others
        /// are listed separately.
        public var json: JSONValue {
            func section(_ types: [String]) -> JSONValue {
                .object(types.map { t in
                    (t, .object([("count", .int(anomalies[t]!.count)), ("examples", .array(anomalies[t]!.examples))]))
                })
            }
            var members: [(String, JSONValue)] = [
                ("valid?", .bool(isValid)),
                ("consistency-model", .string(model.rawValue)),
                ("anomaly-types", .array(prohibitedFound.map { .string($0) })),
                ("anomalies", section(prohibitedFound)),
                ("allowed-anomaly-types", .array(allowedFound.map { .string($0) })),
                ("allowed-anomalies", section(allowedFound)),
                ("version-order-inference", .array(inference.map { .string($0) })),
                ("txn-count", .int(txnCount)), ("ok-count", .int(okCount)),
                ("info-count", .int(infoCount)), ("fail-count", .int(failCount)),
                ("dependency-edges", .object(edgeCounts.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
                ("version-order-edges", .int(versionEdges)),
            ]
            if unparseable > 0 { members.append(("unparseable-ops", .int(unparseable))) }
            if searchExhausted { members.append(("cycle-search-timeout", .bool(true))) }
            return .object(members)
        }
    }

    // MARK: checking

    public func check(_ history: [Operation]) -> Report {
        var report = Report(model: model)
        report.inference = ["initial null precedes every write", "writes follow reads within a transaction"]
        if sequentialKeys { report.inference.append("sequential keys: each process observes versions in order") }

        var txns: [Txn] = []
        for (i, op) in history.enumerated() where op.f == "txn" {
            guard let outcome = op.outcome else { continue } // never completed: nothing known
            let status: Status
            let source: JSONValue
            switch outcome {
            case .ok(let v): status = .ok; source = v
            case .info: status = .info; source = op.value
            case .fail: status = .fail; source = op.value
            }
            guard let ops = Self.decode(source, readsKnown: status == .ok) else {
                report.unparseable += 1
                continue
            }
            txns.append(Txn(historyIndex: i, status: status, process: op.process, node: op.node,
                            invokedAt: op.invokedAt, ops: ops, display: source))
        }
        report.txnCount = txns.count
        report.okCount = txns.filter { $0.status == .ok }.count
        report.infoCount = txns.filter { $0.status == .info }.count
        report.failCount = txns.filter { $0.status == .fail }.count

        func record(_ type: String, _ example: @autoclosure () -> JSONValue) {
            var f = report.anomalies[type] ?? Finding()
            f.count += 1
            if f.examples.count < maxExamples { f.examples.append(example()) }
            report.anomalies[type] = f
        }

        // Per transaction: internal consistency, external reads, final writes.
        for t in txns.indices {
            var known: [JSONValue: JSONValue] = [:]
            var touched: Set<JSONValue> = []
            var finalIndex: [JSONValue: Int] = [:]
            for op in txns[t].ops {
                if op.isWrite {
                    if let i = finalIndex[op.key] { txns[t].finalWrites[i].value = op.value! } else {
                        finalIndex[op.key] = txns[t].finalWrites.count
                        txns[t].finalWrites.append((op.key, op.value!))
                    }
                    known[op.key] = op.value!
                } else if let observed = op.value {
                    if let expected = known[op.key], expected != observed {
                        record("internal", .object([("txn", describe(txns[t])), ("key", op.key),
                                                    ("expected", expected), ("read", observed)]))
                    }
                    if !touched.contains(op.key) {
                        txns[t].externalReads.append((op.key, observed))
                    }
                    known[op.key] = observed
                }
                touched.insert(op.key)
            }
        }

        // Who wrote each (key, value).
        var writers: [KeyValue: WriteRef] = [:]
        for (t, txn) in txns.enumerated() {
            let finals = Set(txn.finalWrites.map { KeyValue(key: $0.key, value: $0.value) })
            for op in txn.ops where op.isWrite {
                let kv = KeyValue(key: op.key, value: op.value!)
                if let other = writers[kv] {
                    if other.txn != t {
                        record("duplicate-write", .object([("key", op.key), ("value", op.value!),
                                                           ("writers", .array([describe(txns[other.txn]), describe(txn)]))]))
                    }
                    continue
                }
                writers[kv] = WriteRef(txn: t, isFinal: finals.contains(kv))
            }
        }

        // Reads of committed transactions: where each observed value came from.
        var readers: [KeyValue: [Int]] = [:]
        for (t, txn) in txns.enumerated() where txn.status == .ok {
            for (key, value) in txn.externalReads where !value.isNull {
                let kv = KeyValue(key: key, value: value)
                guard let w = writers[kv] else {
                    record("garbage-read", .object([("txn", describe(txn)), ("key", key), ("value", value)]))
                    continue
                }
                if w.txn == t {
                    record("future-read", .object([("txn", describe(txn)), ("key", key), ("value", value)]))
                    continue
                }
                let writer = txns[w.txn]
                if writer.status == .fail {
                    record("G1a", .object([("reader", describe(txn)), ("writer", describe(writer)),
                                           ("key", key), ("value", value)]))
                }
                if !w.isFinal {
                    record("G1b", .object([("reader", describe(txn)), ("writer", describe(writer)),
                                           ("key", key), ("value", value)]))
                }
                readers[kv, default: []].append(t)
            }
        }
        // Readers of the initial state, for rw edges out of it.
        var nullReaders: [JSONValue: [Int]] = [:]
        for (t, txn) in txns.enumerated() where txn.status == .ok {
            for (key, value) in txn.externalReads where value.isNull { nullReaders[key, default: []].append(t) }
        }

        // Version order per key: direct edges "a precedes b".
        var versionOrder: [JSONValue: [JSONValue: Set<JSONValue>]] = [:]
        func precedes(_ key: JSONValue, _ a: JSONValue, _ b: JSONValue) {
            guard a != b else { return }
            versionOrder[key, default: [:]][a, default: []].insert(b)
        }
        for kv in writers.keys where writers[kv]!.isFinal { precedes(kv.key, .null, kv.value) }
        for txn in txns where txn.status == .ok {
            let finals = Dictionary(txn.finalWrites.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            for (key, read) in txn.externalReads { if let w = finals[key] { precedes(key, read, w) } }
        }
        if sequentialKeys {
            let byProcess = Dictionary(grouping: txns.indices.filter { txns[$0].status == .ok }, by: { txns[$0].process })
            for (_, list) in byProcess {
                var lastSeen: [JSONValue: JSONValue] = [:]
                for t in list.sorted(by: { (txns[$0].invokedAt, $0) < (txns[$1].invokedAt, $1) }) {
                    let txn = txns[t]
                    let finals = Dictionary(txn.finalWrites.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
                    let reads = Dictionary(txn.externalReads.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
                    for key in Set(finals.keys).union(reads.keys) {
                        let first = reads[key] ?? finals[key]!
                        if let previous = lastSeen[key] { precedes(key, previous, first) }
                        lastSeen[key] = finals[key] ?? first
                    }
                }
            }
        }
        report.versionEdges = versionOrder.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count } }

        // Fractured reads (read atomicity, which read committed does not promise): T saw one
        // write of W but, for another key W wrote, a version that precedes W's.
        var precedence: [KeyValue: Set<JSONValue>] = [:] // (key, a) → every version after a
        func isBefore(_ key: JSONValue, _ a: JSONValue, _ b: JSONValue) -> Bool {
            let start = KeyValue(key: key, value: a)
            if let known = precedence[start] { return known.contains(b) }
            var after = Set<JSONValue>()
            var frontier = [a]
            let order = versionOrder[key] ?? [:]
            while let v = frontier.popLast() {
                for w in order[v] ?? [] where after.insert(w).inserted { frontier.append(w) }
            }
            precedence[start] = after
            return after.contains(b)
        }
        for (t, txn) in txns.enumerated() where txn.status == .ok {
            let seen = Dictionary(txn.externalReads.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            var reported = Set<Int>()
            for (key, value) in txn.externalReads where !value.isNull {
                guard let w = writers[KeyValue(key: key, value: value)], w.txn != t, txns[w.txn].status != .fail,
                      !reported.contains(w.txn) else { continue }
                for (other, written) in txns[w.txn].finalWrites where other != key {
                    guard let observed = seen[other], observed != written, isBefore(other, observed, written) else { continue }
                    reported.insert(w.txn)
                    record("fractured-read", .object([
                        ("reader", describe(txn)), ("writer", describe(txns[w.txn])),
                        ("saw", .array([key, value])), ("missed", .array([other, written])), ("read instead", observed),
                    ]))
                    break
                }
            }
        }

        // A cycle in a key's version order means no order can explain the history.
        let orderedKeys = versionOrder.keys.sorted { $0.text < $1.text }
        for key in orderedKeys {
            let graph = versionOrder[key]!
            var values: [JSONValue] = Array(Set(graph.keys).union(graph.values.flatMap { $0 }))
            values.sort { $0.text < $1.text }
            let position = Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, $0) })
            let adjacency = Adjacency(count: values.count) { i, out in
                out.append(contentsOf: (graph[values[i]] ?? []).map { position[$0]! })
            }
            for members in stronglyConnectedComponents(adjacency).cyclic {
                record("cyclic-versions", .object([("key", key), ("values", .array(members.map { values[$0] }))]))
            }
        }

        // Dependency graph over transactions that may have committed (ok and info). Edges are
        // added in a fixed order so that examples are the same from run to run.
        var graph = DependencyGraph(count: txns.count)
        func committedWriter(_ key: JSONValue, _ value: JSONValue) -> Int? {
            guard !value.isNull, let w = writers[KeyValue(key: key, value: value)], txns[w.txn].status != .fail else { return nil }
            return w.txn
        }
        for kv in readers.keys.sorted(by: { (readers[$0]![0], $0.key.text, $0.value.text) < (readers[$1]![0], $1.key.text, $1.value.text) }) {
            guard let w = committedWriter(kv.key, kv.value) else { continue }
            for r in readers[kv]! { graph.add(.wr, from: w, to: r, because: "wr \(kv.key.text): \(kv.value.text)") }
        }
        for key in orderedKeys {
            let order = versionOrder[key]!
            for a in order.keys.sorted(by: { $0.text < $1.text }) {
                let readersOfA = a.isNull ? (nullReaders[key] ?? []) : (readers[KeyValue(key: key, value: a)] ?? [])
                let writerA = committedWriter(key, a)
                for b in order[a]!.sorted(by: { $0.text < $1.text }) {
                    guard let writerB = committedWriter(key, b) else { continue }
                    if let writerA {
                        graph.add(.ww, from: writerA, to: writerB, because: "ww \(key.text): \(a.text) < \(b.text)")
                    }
                    for r in readersOfA {
                        graph.add(.rw, from: r, to: writerB, because: "rw \(key.text): read \(a.text) < \(b.text)")
                    }
                }
            }
        }
        for kind in DependencyKind.allCases { report.edgeCounts[kind.rawValue] = graph.edgeCounts[kind] ?? 0 }

        func cycleExample(_ cycle: [Int], first: DependencyKind) -> JSONValue {
            // cycle = [v0, v1, …, v0]
            var steps: [JSONValue] = []
            for i in 0..<(cycle.count - 1) {
                let preferred: [DependencyKind] = i == 0 ? [first, .ww, .wr, .rw] : [.ww, .wr, .rw]
                let (kind, why) = graph.label(cycle[i], cycle[i + 1], preferred: preferred) ?? (.ww, "?")
                steps.append(.string("\(txns[cycle[i]].name) -\(kind.rawValue)-> \(txns[cycle[i + 1]].name)  (\(why))"))
            }
            return .object([("cycle", .array(steps)), ("txns", .array(cycle.dropLast().map { describe(txns[$0]) }))])
        }

        var finder = PathFinder(count: txns.count)
        var budget = searchBudget

        /// One cycle through edge u → v (of `kind`) inside `members`, as an example.
        func cycle(through u: Int, _ v: Int, kind: DependencyKind, in adjacency: Adjacency,
                   inside: (Int) -> Bool) -> JSONValue {
            var unlimited = Int.max
            guard let back = finder.shortestPath(from: v, to: u, in: adjacency, allowed: inside, budget: &unlimited) else {
                return .string("no cycle found") // cannot happen: u and v share a component
            }
            return cycleExample([u] + back, first: kind)
        }

        // G0: cycles of ww edges, one per strongly connected component.
        let ww = graph.adjacency([.ww])
        let wwSCC = stronglyConnectedComponents(ww)
        for members in wwSCC.cyclic {
            let comp = wwSCC.component[members[0]]
            let u = members[0]
            let v = ww.successors(u).first { wwSCC.component[$0] == comp }!
            record("G0", cycle(through: u, v, kind: .ww, in: ww, inside: { wwSCC.component[$0] == comp }))
        }

        // G1c: cycles of ww ∪ wr edges with at least one wr edge, one per component.
        let wwWR = graph.adjacency([.ww, .wr])
        let wwWRSCC = stronglyConnectedComponents(wwWR)
        for members in wwWRSCC.cyclic {
            let comp = wwWRSCC.component[members[0]]
            let wrInside = members.lazy.compactMap { u -> (Int, Int)? in
                wwWR.successors(u).first { graph.has(.wr, u, $0) && wwWRSCC.component[$0] == comp }.map { (u, $0) }
            }.first
            guard case let (u, v)? = wrInside else { continue } // ww edges only: that is G0, above
            record("G1c", cycle(through: u, v, kind: .wr, in: wwWR, inside: { wwWRSCC.component[$0] == comp }))
        }

        // Cycles with rw edges. Only rw edges inside a cyclic component of the full graph can
        // close one. G2-item: one per such component. G-single: each rw edge a → b such that b
        // reaches a through ww ∪ wr edges alone; a topological order of ww ∪ wr bounds each
        // search (b can only reach vertices at or after its position), and one search per b
        // serves all of its rw edges.
        let full = graph.adjacency(DependencyKind.allCases)
        let fullSCC = stronglyConnectedComponents(full)
        let position = topologicalPositions(wwWR, component: wwWRSCC.component, componentCount: wwWRSCC.componentCount)
        var candidates: [Int: [Int]] = [:] // b → readers a with a -rw-> b that b might reach
        var g2Components = Set<Int>()
        for (a, b) in graph.edges(.rw) where fullSCC.component[a] == fullSCC.component[b] {
            let comp = fullSCC.component[a]
            if g2Components.insert(comp).inserted {
                record("G2-item", cycle(through: a, b, kind: .rw, in: full, inside: { fullSCC.component[$0] == comp }))
            }
            if position[b] <= position[a] { candidates[b, default: []].append(a) }
        }
        searching: for b in candidates.keys.sorted() {
            let readers = candidates[b]!
            let comp = fullSCC.component[b]
            let horizon = readers.map { position[$0] }.max()!
            let inWindow: (Int) -> Bool = { fullSCC.component[$0] == comp && position[$0] <= horizon }
            finder.reach(from: b, in: wwWR, allowed: inWindow, budget: &budget)
            if budget < 0 { report.searchExhausted = true; break searching }
            for a in readers.sorted() where finder.reached(a) {
                var f = report.anomalies["G-single"] ?? Finding()
                f.count += 1
                if f.examples.count < maxExamples {
                    var unlimited = Int.max
                    let back = finder.shortestPath(from: b, to: a, in: wwWR, allowed: inWindow, budget: &unlimited)!
                    f.examples.append(cycleExample([a] + back, first: .rw))
                    finder.reach(from: b, in: wwWR, allowed: inWindow, budget: &unlimited) // restore marks
                }
                report.anomalies["G-single"] = f
            }
        }

        // Lost update: two committed transactions read the same version and both overwrote it.
        var overwritersOfRead: [KeyValue: [Int]] = [:]
        for (t, txn) in txns.enumerated() where txn.status == .ok {
            let written = Set(txn.finalWrites.map(\.key))
            for (key, value) in txn.externalReads where written.contains(key) {
                overwritersOfRead[KeyValue(key: key, value: value), default: []].append(t)
            }
        }
        for (kv, list) in overwritersOfRead.sorted(by: { ($0.value[0], $0.key.key.text, $0.key.value.text) < ($1.value[0], $1.key.key.text, $1.key.value.text) }) where list.count > 1 {
            record("lost-update", .object([("key", kv.key), ("read", kv.value),
                                           ("txns", .array(list.prefix(4).map { describe(txns[$0]) }))]))
        }
        return report
    }

    private func describe(_ t: Txn) -> JSONValue {
        .object([("id", .string(t.name)), ("process", .int(t.process)), ("node", .string(t.node)),
                 ("status", .string(t.status == .ok ? "ok" : t.status == .info ? "info" : "fail")),
                 ("txn", t.display)])
    }

    /// [[f, k, v], …] → micro-ops; nil if the shape is wrong. Reads of unfinished txns are unknown.
    static func decode(_ value: JSONValue, readsKnown: Bool) -> [MicroOp]? {
        guard let items = value.array else { return nil }
        var ops: [MicroOp] = []
        for item in items {
            guard let parts = item.array, parts.count == 3, let f = parts[0].string else { return nil }
            switch f {
            // Spelled out: a bare `nil` here would be JSONValue's nil literal, a read of null.
            case "r": ops.append(MicroOp(isWrite: false, key: parts[1], value: readsKnown ? parts[2] : Optional<JSONValue>.none))
            case "w": ops.append(MicroOp(isWrite: true, key: parts[1], value: parts[2]))
            default: return nil
            }
        }
        return ops
    }
}
