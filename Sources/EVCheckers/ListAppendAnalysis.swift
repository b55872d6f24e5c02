import EVCore

/// The steps of ListAppendChecker: decode, check each txn and each key, build the dependency
/// graph, search it for cycles. Transactions are numbered by their place in `txns`.
struct ListAppendAnalysis {
    struct Finding {
        var count = 0
        var examples: [JSONValue] = []
    }

    private(set) var txns: [ListAppendTxn] = []
    private(set) var findings: [String: Finding] = [:]
    private(set) var graph = ListAppendGraph(count: 0)
    private let realtime: Bool

    /// Who appended each value, per key.
    private var writer: [Int: [Int: Int]] = [:]
    /// Completed reads of ok txns, per key, in history order.
    private var reads: [Int: [(txn: Int, list: [Int])]] = [:]
    /// The reads among them that are their txn's first access of the key: what the txn saw of
    /// others (later reads also show its own appends).
    private var externalReads: [Int: [(txn: Int, list: [Int])]] = [:]
    /// Whether a txn belongs in the graph: ok, or of unknown outcome with an append seen.
    private var committed: [Bool] = []

    init(history: [Operation], realtime: Bool) {
        self.realtime = realtime
        // The runner's event positions when every op has them, else times (hand-built histories).
        let useIndices = history.allSatisfy { $0.invokeIndex >= 0 && ($0.outcome == nil || $0.completeIndex >= 0) }
        for (i, op) in history.enumerated() where op.f == "txn" {
            let status: ListAppendTxn.Status
            let source: JSONValue
            switch op.outcome {
            case .ok(let v)?: status = .ok; source = v
            case .fail?: status = .fail; source = op.value
            case .info?, nil: status = .info; source = op.value
            }
            guard let ops = ListAppendTxn.decode(source, readsKnown: status == .ok) else {
                record("unparseable-txn", .object([("index", .int(i)), ("value", source)]))
                continue
            }
            let completed = status != .ok ? nil : useIndices ? Int64(op.completeIndex) : op.completedAt
            txns.append(ListAppendTxn(historyIndex: i, status: status, process: op.process, ops: ops, display: source,
                                      invoked: useIndices ? Int64(op.invokeIndex) : op.invokedAt, completed: completed))
        }
    }

    mutating func run(searchBudget: Int) {
        checkTransactions()
        indexAppendsAndReads()
        checkReads()
        buildGraph()
        searchCycles(budget: searchBudget)
    }

    /// Examples are built eagerly: findings are rare, and a closure over self could not be
    /// passed to this mutating method.
    private mutating func record(_ type: String, _ example: JSONValue) {
        var f = findings[type] ?? Finding()
        f.count += 1
        if f.examples.count < ListAppendChecker.maxExamples { f.examples.append(example) }
        findings[type] = f
    }

    // MARK: per transaction

    /// Internal consistency and duplicate elements. What a txn knows of a key: the whole list
    /// after reading it, or only its own appends (which must end the list) before any read.
    private mutating func checkTransactions() {
        enum Known { case exactly([Int]), endsWith([Int]) }
        for txn in txns where txn.status == .ok {
            var known: [Int: Known] = [:]
            for op in txn.ops {
                switch op {
                case .append(let key, let value):
                    switch known[key] {
                    case .exactly(let list)?: known[key] = .exactly(list + [value])
                    case .endsWith(let list)?: known[key] = .endsWith(list + [value])
                    case nil: known[key] = .endsWith([value])
                    }
                case .read(let key, let list?):
                    if Set(list).count != list.count {
                        record("duplicate-elements", .object([("txn", txn.json), ("key", .int(key)), ("read", ints(list))]))
                    }
                    switch known[key] {
                    case .exactly(let expected)? where expected != list:
                        record("internal", .object([("txn", txn.json), ("key", .int(key)), ("read", ints(list)),
                                                    ("expected", ints(expected))]))
                    case .endsWith(let suffix)? where !list.ends(with: suffix):
                        record("internal", .object([("txn", txn.json), ("key", .int(key)), ("read", ints(list)),
                                                    ("expected-suffix", ints(suffix))]))
                    default: break
                    }
                    known[key] = .exactly(list)
                case .read(_, nil):
                    assertionFailure("an ok txn's reads are known")
                }
            }
        }
    }

    // MARK: per key

    private mutating func indexAppendsAndReads() {
        for (t, txn) in txns.enumerated() {
            var touched = Set<Int>()
            for op in txn.ops {
                defer { touched.insert(op.key) }
                switch op {
                case .append(let key, let value):
                    if let other = writer[key]?[value], other != t {
                        record("duplicate-appends", .object([("key", .int(key)), ("value", .int(value)),
                                                             ("txns", .array([txns[other].json, txn.json]))]))
                    } else {
                        writer[key, default: [:]][value] = t
                    }
                case .read(let key, let list?):
                    reads[key, default: []].append((t, list))
                    if !touched.contains(key) { externalReads[key, default: []].append((t, list)) }
                case .read(_, nil): break
                }
            }
        }
        committed = txns.map { $0.status == .ok }
        for (key, list) in reads {
            for r in list { for v in r.list { if let w = writer[key]?[v], txns[w].status == .info { committed[w] = true } } }
        }
    }

    /// The longest read of a key: its version order, as far as anyone saw it.
    private func versionOrder(_ key: Int) -> [Int] { reads[key]?.max { $0.list.count < $1.list.count }?.list ?? [] }

    /// The last value each txn appended to a key.
    private func finalAppend(_ t: Int, _ key: Int) -> Int? {
        txns[t].ops.reversed().lazy.compactMap { op -> Int? in
            if case .append(key, let v) = op { return v }
            return nil
        }.first
    }

    private mutating func checkReads() {
        for key in reads.keys.sorted() {
            let order = versionOrder(key)
            for (t, list) in reads[key]! {
                let reader = txns[t]
                if !order.starts(with: list) {
                    record("incompatible-order", .object([("key", .int(key)), ("reader", reader.json),
                                                          ("read", ints(list)), ("longest-read", ints(order))]))
                }
                var abortedSeen = false
                for v in list {
                    guard let w = writer[key]?[v] else {
                        record("garbage-read", .object([("txn", reader.json), ("key", .int(key)), ("value", .int(v))]))
                        continue
                    }
                    if txns[w].status == .fail && !abortedSeen {
                        abortedSeen = true // one report per read
                        record("G1a", .object([("reader", reader.json), ("writer", txns[w].json), ("key", .int(key)), ("value", .int(v))]))
                    }
                }
                if let last = list.last, let w = writer[key]?[last], w != t, let final = finalAppend(w, key), final != last {
                    record("G1b", .object([("reader", reader.json), ("writer", txns[w].json), ("key", .int(key)),
                                           ("read-ends-at", .int(last)), ("writer-final-append", .int(final))]))
                }
            }
            // A committed append on top of an aborted one.
            if let i = order.firstIndex(where: { writer[key]?[$0].map { txns[$0].status == .fail } ?? false }),
               let j = order[(i + 1)...].firstIndex(where: { writer[key]?[$0].map { committed[$0] } ?? false }) {
                record("dirty-update", .object([("key", .int(key)), ("aborted", .int(order[i])), ("writer", txns[writer[key]![order[i]]!].json),
                                                ("later", .int(order[j])), ("later-writer", txns[writer[key]![order[j]]!].json)]))
            }
        }
    }

    // MARK: the graph

    private mutating func buildGraph() {
        var g = ListAppendGraph(count: txns.count)
        let appendedKeys = Set(txns.flatMap { $0.ops.compactMap { op -> Int? in if case .append(let k, _) = op { return k }; return nil } })
        for key in appendedKeys.union(reads.keys).sorted() {
            let order = versionOrder(key)
            let seen = Set((reads[key] ?? []).flatMap(\.list))
            func committedWriter(_ v: Int) -> Int? { writer[key]?[v].flatMap { committed[$0] ? $0 : nil } }
            // Committed appends nobody read: after everything read (see ListAppendChecker).
            let unseen = (writer[key] ?? [:]).filter { !seen.contains($0.key) && committed[$0.value] }
                .sorted { $0.key < $1.key }

            // ww: writers of consecutive versions, then the unseen ones after the last.
            var previous: (txn: Int, value: Int)?
            for v in order {
                guard let w = committedWriter(v) else { continue }
                if let p = previous { g.add(.ww, from: p.txn, to: w, because: "\(key): \(p.value) then \(v)") }
                previous = (w, v)
            }
            if let p = previous {
                for (v, w) in unseen { g.add(.ww, from: p.txn, to: w, because: "\(key): \(p.value) read, \(v) never read") }
            }

            // wr and rw from external reads.
            for (t, list) in externalReads[key] ?? [] {
                if let last = list.last, let w = committedWriter(last) {
                    g.add(.wr, from: w, to: t, because: "\(key): read \(last)")
                }
                guard order.starts(with: list) else { continue } // incompatible: no place in the order
                if list.count == order.count {
                    for (v, w) in unseen { g.add(.rw, from: t, to: w, because: "\(key): read \(list.last.map(String.init) ?? "[]"), missed \(v)") }
                } else if let next = order[list.count...].first(where: { committedWriter($0) != nil }) {
                    g.add(.rw, from: t, to: committedWriter(next)!, because: "\(key): read \(list.last.map(String.init) ?? "[]"), missed \(next)")
                }
            }
        }
        if realtime { addRealtimeEdges(&g) }
        graph = g
    }

    /// T1 → T2 when T1 completed before T2 was invoked, as a sparse graph with the same
    /// reachability: an invocation links from the "frontier" (committed txns completed so far
    /// that no later completed txn follows); a completion replaces its own predecessors there.
    private func addRealtimeEdges(_ g: inout ListAppendGraph) {
        var events: [(at: Int64, completes: Bool, txn: Int)] = []
        for (t, txn) in txns.enumerated() where committed[t] {
            events.append((txn.invoked, false, t))
            if let c = txn.completed { events.append((c, true, t)) }
        }
        // At equal times an invocation comes first: touching intervals are concurrent.
        events.sort { ($0.at, $0.completes ? 1 : 0, $0.txn) < ($1.at, $1.completes ? 1 : 0, $1.txn) }
        var frontier: [Int] = []
        var predecessors: [Int: [Int]] = [:]
        for e in events {
            if e.completes {
                let before = Set(predecessors[e.txn] ?? [])
                frontier.removeAll { before.contains($0) }
                frontier.append(e.txn)
            } else {
                predecessors[e.txn] = frontier
                for p in frontier { g.add(.realtime, from: p, to: e.txn, because: "\(txns[p].name) completed before \(txns[e.txn].name) began") }
            }
        }
    }

    // MARK: cycles

    private static let specs: [(name: String, spec: ListAppendGraph.Spec)] = [
        ("G0", .init(kinds: [.ww], via: .ww, rw: 0...0)),
        ("G1c", .init(kinds: [.ww, .wr], via: .wr, rw: 0...0)),
        ("G-single", .init(kinds: [.ww, .wr, .rw], via: .rw, rw: 1...1)),
        ("G2-item", .init(kinds: [.ww, .wr, .rw], via: .rw, rw: 2...2)),
    ]
    private static let realtimeSpecs: [(name: String, spec: ListAppendGraph.Spec)] = [
        ("G0-realtime", .init(kinds: [.ww, .realtime], via: .realtime, rw: 0...0)),
        ("G1c-realtime", .init(kinds: [.ww, .wr, .realtime], via: .realtime, rw: 0...0, needsWR: true)),
        ("G-single-realtime", .init(kinds: [.ww, .wr, .rw, .realtime], via: .realtime, rw: 1...1)),
        ("G2-item-realtime", .init(kinds: [.ww, .wr, .rw, .realtime], via: .realtime, rw: 2...2)),
    ]

    /// Every search runs over the whole graph; each simple cycle found is reported once, under
    /// the name its edges give it (which may differ from the search's when a walk splits).
    private mutating func searchCycles(budget searchBudget: Int) {
        var budget = searchBudget
        var reported = Set<ListAppendGraph.Cycle>()
        for (name, spec) in Self.specs + (realtime ? Self.realtimeSpecs : []) {
            let (walks, exhausted) = graph.cycles(spec, budget: &budget)
            for walk in walks {
                for cycle in walk.simpleCycles.map(\.canonical) where reported.insert(cycle).inserted {
                    record(cycle.anomaly, explain(cycle))
                }
            }
            if exhausted {
                record("cycle-search-timeout", .object([("search", .string(name)), ("budget", .int(searchBudget))]))
                return
            }
        }
    }

    private func explain(_ cycle: ListAppendGraph.Cycle) -> JSONValue {
        var names: [JSONValue] = [], steps: [JSONValue] = []
        for (i, (a, kind)) in zip(cycle.vertices, cycle.kinds).enumerated() {
            let b = cycle.vertices[(i + 1) % cycle.vertices.count]
            names += [.string(txns[a].name), .string(kind.rawValue)]
            steps.append(.string("\(txns[a].name) -\(kind.rawValue)-> \(txns[b].name): \(graph.reason(kind, a, b))"))
        }
        names.append(.string(txns[cycle.vertices[0]].name))
        return .object([("cycle", .array(names)), ("steps", .array(steps)), ("txns", .array(cycle.vertices.map { txns[$0].json }))])
    }

    private func ints(_ list: [Int]) -> JSONValue { .array(list.map { .int($0) }) }
}

private extension ListAppendTxn.MicroOp {
    var key: Int {
        switch self { case .read(let k, _), .append(let k, _): return k }
    }
}

private extension Array where Element == Int {
    func ends(with suffix: [Int]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
