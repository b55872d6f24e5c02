import EVCore
import EVCheckers
import EVSim
import EVSimCore

/// Tab-separated tables of a run (one header line, times in virtual seconds, latencies in ms),
/// the data behind Maelstrom-style latency and rate plots.
public enum ResultTables {
    static func outcomeName(_ o: Outcome?) -> String {
        switch o {
        case .ok?: return "ok"
        case .fail?: return "fail"
        case .info?, nil: return "info"
        }
    }

    static func seconds(_ t: Micros) -> String { fixed(Double(t) / 1e6, 6) }
    static func ms(_ t: Micros) -> String { fixed(Double(t) / 1e3, 3) }

    /// Fixed-point decimal without Foundation.
    static func fixed(_ x: Double, _ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int64((abs(x) * scale).rounded())
        let whole = scaled / Int64(scale), fraction = scaled % Int64(scale)
        guard places > 0 else { return (x < 0 && scaled != 0 ? "-" : "") + "\(whole)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: max(0, places - digits.count)) + digits
        return (x < 0 && scaled != 0 ? "-" : "") + "\(whole)" + (places > 0 ? "." + digits : "")
    }

    /// Compact JSON of a value, at most `n` characters; long arrays are cut before rendering
    /// (a broadcast read holds thousands of values).
    static func brief(_ v: JSONValue, _ n: Int = 120) -> String {
        if case .array(let items) = v, items.count > 24 {
            let head = JSONValue.array(Array(items.prefix(24))).text
            return clip(String(head.dropLast()) + ", … \(items.count) items]", n + 20)
        }
        return clip(v.text, n)
    }

    static func clip(_ s: String, _ n: Int = 120) -> String {
        let flat = s.utf8.contains(where: { $0 == 0x09 || $0 == 0x0A }) ? s.replacingTabsAndNewlines() : s
        return flat.utf8.count <= n ? flat : String(flat.prefix(n)) + "…"
    }

    /// Rate buckets: 1 s, as Maelstrom's rate plot.
    public static let rateBucket: Micros = 1_000_000

    /// Latency-quantile windows: about 20 over the run, at least 1 s.
    public static func bucket(for result: TestResult) -> Micros {
        max(1_000_000, (result.phases.end / 20 / 1_000_000) * 1_000_000)
    }

    /// One line per completed op: completion time, latency, f, outcome (Maelstrom's latency-raw).
    public static func latencyRaw(_ history: [Operation]) -> String {
        var out = "complete_s\tlatency_ms\tf\toutcome\n"
        for op in history.sorted(by: { ($0.completedAt ?? .max, $0.invokeIndex) < ($1.completedAt ?? .max, $1.invokeIndex) }) {
            guard let done = op.completedAt else { continue }
            out += "\(seconds(done))\t\(ms(done - op.invokedAt))\t\(op.f)\t\(outcomeName(op.outcome))\n"
        }
        return out
    }

    /// Series present in a history, as (f, outcome) pairs in a stable order.
    static func series(_ history: [Operation]) -> [(f: String, outcome: String)] {
        let fs = Set(history.map(\.f)).sorted()
        var out: [(String, String)] = []
        for f in fs {
            for o in ["ok", "fail", "info"] where history.contains(where: { $0.f == f && outcomeName($0.outcome) == o }) {
                out.append((f, o))
            }
        }
        return out
    }

    /// Completions per second, one column per (f, outcome), by completion time.
    public static func rate(_ history: [Operation], bucket: Micros = rateBucket) -> String {
        let columns = series(history)
        let end = history.compactMap(\.completedAt).max() ?? 0
        let rows = Int(end / bucket) + 1
        var counts = [[Int]](repeating: [Int](repeating: 0, count: columns.count), count: rows)
        let columnIndex = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ("\($1.f) \($1.outcome)", $0) })
        for op in history {
            guard let done = op.completedAt, let c = columnIndex["\(op.f) \(outcomeName(op.outcome))"] else { continue }
            counts[Int(done / bucket)][c] += 1
        }
        var out = "time_s\t" + columns.map { "\($0.f) \($0.outcome)" }.joined(separator: "\t") + "\n"
        let perSecond = 1e6 / Double(bucket)
        for (i, row) in counts.enumerated() {
            out += seconds(Micros(i) * bucket + bucket / 2) + "\t"
                + row.map { fixed(Double($0) * perSecond, 1) }.joined(separator: "\t") + "\n"
        }
        return out
    }

    /// Latency quantiles (0.5, 0.95, 0.99, 1) of all completions per f, in windows of `bucket`.
    public static func latencyQuantiles(_ history: [Operation], bucket: Micros) -> String {
        let fs = Set(history.map(\.f)).sorted()
        let end = history.compactMap(\.completedAt).max() ?? 0
        let rows = Int(end / bucket) + 1
        var latencies = [[String: [Int]]](repeating: [:], count: rows)
        for op in history {
            guard let done = op.completedAt else { continue }
            latencies[Int(done / bucket)][op.f, default: []].append(Int(done - op.invokedAt))
        }
        let qs: [(String, Double)] = [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1)]
        var out = "time_s"
        for f in fs { for (name, _) in qs { out += "\t\(f) \(name)" } }
        out += "\n"
        for (i, row) in latencies.enumerated() {
            out += seconds(Micros(i) * bucket + bucket / 2)
            for f in fs {
                let sorted = (row[f] ?? []).sorted()
                for (_, q) in qs {
                    out += "\t" + (quantile(sorted, q).map { ms(Micros($0)) } ?? "NaN")
                }
            }
            out += "\n"
        }
        return out
    }

    /// Per op: process, worker, node, client, f, invoke, complete, latency, outcome, final, value, result.
    public static func timeline(_ history: [Operation]) -> String {
        var out = "process\tworker\tnode\tclient\tf\tinvoke_s\tcomplete_s\tlatency_ms\toutcome\tfinal\tvalue\tresult\n"
        for op in history {
            let done = op.completedAt
            let result: String
            switch op.outcome {
            case .ok(let v)?: result = brief(v)
            case .fail(let why)?, .info(let why)?: result = why
            case nil: result = ""
            }
            out += "\(op.process)\t\(op.worker)\t\(op.node)\t\(op.client)\t\(op.f)\t\(seconds(op.invokedAt))\t"
                + "\(done.map(seconds) ?? "")\t\(done.map { ms($0 - op.invokedAt) } ?? "")\t\(outcomeName(op.outcome))\t"
                + "\(op.isFinal)\t\(brief(op.value))\t\(clip(result, 140))\n"
        }
        return out
    }

    /// Messages sent per second of virtual time, servers (node↔node, node↔service) vs clients.
    public static func net(_ perSecond: [(servers: Int, clients: Int)]) -> String {
        var out = "second\tservers\tclients\n"
        for (i, row) in perSecond.enumerated() { out += "\(i)\t\(row.servers)\t\(row.clients)\n" }
        return out
    }

    public static func nemesis(_ events: [NemesisEvent]) -> String {
        var out = "time_s\taction\tshape\tdetail\n"
        for e in events { out += "\(seconds(e.time))\t\(e.action.rawValue)\t\(e.shape?.rawValue ?? e.target?.rawValue ?? "")\t\(e.detail)\n" }
        return out
    }

    /// Stable values sorted by stable latency, with the cumulative fraction (a CDF).
    public static func stableLatencies(_ elements: [SetFullChecker.Element]) -> String {
        let stable = elements.filter { $0.outcome == .stable }
            .sorted { ($0.stableLatency ?? 0, $0.value) < ($1.stableLatency ?? 0, $1.value) }
        var out = "element\tknown_s\tstable_latency_ms\tcdf\n"
        for (i, e) in stable.enumerated() {
            out += "\(e.value)\t\(e.knownTime.map(seconds) ?? "")\t\(ms(e.stableLatency ?? 0))\t"
                + fixed(Double(i + 1) / Double(stable.count), 4) + "\n"
        }
        return out
    }
}

extension String {
    func replacingTabsAndNewlines() -> String {
        String(map { $0 == "\t" || $0 == "\n" ? " " : $0 })
    }
}
