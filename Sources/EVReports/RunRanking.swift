import EVCore
import EVCheckers
import EVSim
import EVSimCore

/// How `evsim --seeds K` judges its runs: which one is the worst (the one written out), the
/// one-line summary per run and the per-seed table (seeds.tsv). Nothing here depends on the host,
/// so the same runs give the same files.
public enum RunRanking {
    /// Sort key, compared lexicographically from best to worst: invalid, unknown, not passed
    /// (a missed goal or a broken invariant), the goal closest to its limit, lower availability,
    /// slower stable latency, more messages per operation.
    public static func badness(_ r: TestResult) -> [Double] {
        let goalRatio = r.goals.map { g in g.value.map(g.goal.closeness) ?? 10 }.max() ?? 0
        return [r.validity == .invalid ? 1 : 0, r.validity == .unknown ? 1 : 0, r.passed ? 0 : 1, goalRatio,
                1 - number(r.results["availability"]?["ok-fraction"]),
                number(r.results["workload"]?["stable-latencies"]?["1"]),
                number(r.results["net"]?["servers"]?["msgs-per-op"])]
    }

    /// The worst run; on a tie, the first (lowest seed) of the tied runs.
    public static func worst(_ results: [TestResult]) -> TestResult? {
        var worst: TestResult?
        for r in results where worst.map({ badness($0).lexicographicallyPrecedes(badness(r)) }) ?? true {
            worst = r
        }
        return worst
    }

    /// One line per run, e.g. "3d seed 1: PASS valid?=true … ops=2091".
    public static func oneLine(_ name: String, _ r: TestResult) -> String {
        var parts = ["\(name) seed \(r.spec.seed):", r.passed ? "PASS" : "FAIL", "valid?=\(r.validity.json)"]
        let net = r.results["net"]
        if let all = net?["all"]?["msgs-per-op"] { parts.append("all-msgs-per-op=\(all)") }
        if let servers = net?["servers"]?["msgs-per-op"] { parts.append("servers-msgs-per-op=\(servers)") }
        if let ok = r.results["availability"]?["ok-fraction"] { parts.append("ok-fraction=\(ok)") }
        if let lat = r.results["workload"]?["stable-latencies"], let p50 = lat["0.5"], let max = lat["1"] {
            parts.append("stable-latency p50=\(p50)ms max=\(max)ms")
        }
        if let lost = r.results["workload"]?["lost-count"] { parts.append("lost=\(lost)") }
        for g in r.goals where !g.met { parts.append("goal-missed[\(g.goal.description)]") }
        for i in r.brokenInvariants { parts.append("invariant-broken[\(i.name)]") }
        parts.append("ops=\(r.history.count)")
        return parts.joined(separator: " ")
    }

    public static let seedsHeader = "seed\tpassed\tvalid\ttrace\tservers_msgs_per_op\tstable_p50_ms\tstable_max_ms\tops"

    /// seeds.tsv: one line per run, in run order.
    public static func seedsTable(_ results: [TestResult]) -> String {
        var table = seedsHeader + "\n"
        for r in results {
            let lat = r.results["workload"]?["stable-latencies"]
            table += "\(r.spec.seed)\t\(r.passed)\t\(r.validity.json)\t\(r.traceHash.hex)\t"
                + "\(r.results["net"]?["servers"]?["msgs-per-op"]?.text ?? "")\t"
                + "\(lat?["0.5"]?.text ?? "")\t\(lat?["1"]?.text ?? "")\t\(r.history.count)\n"
        }
        return table
    }

    static func number(_ v: JSONValue?) -> Double {
        switch v {
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        default: return 0
        }
    }
}
