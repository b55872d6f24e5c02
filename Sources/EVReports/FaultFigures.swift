import EVCore
import EVCheckers
import EVSim
import EVSimCore
import Foundation

/// `evsim faults`: the challenges under Maelstrom's kill and pause nemeses (reference §5.5), in
/// default and durable mode, many seeds each, measured for what faults can break: validity,
/// acknowledged data lost, nodes silenced by a late reply to a removed client, cost and
/// availability. One table line per challenge × mode; one TSV line per seed.
public enum FaultFigures {
    /// One challenge in one mode under one nemesis combination.
    public struct Case {
        public let challenge: Challenge
        public let durable: Bool
        public let nemesis: Set<NemesisKind>

        public var mode: String { durable ? "durable" : "default" }
        public var nemesisList: String { nemesis.map(\.rawValue).sorted().joined(separator: ",") }
        public var name: String { "\(challenge.name) \(mode) \(nemesisList)" }

        /// The adjustment of the challenge's spec: the nemesis replaces the page's.
        public func adjust(_ spec: inout TestSpec) {
            spec.nemesis = nemesis
            spec.workloads.durability.enabled = durable
        }

        /// The evsim arguments that replay one seed of this case.
        public func replay(seed: UInt64) -> String {
            "evsim \(challenge.name) --seed \(seed) --nemesis \(nemesisList)" + (durable ? " --durable" : "")
        }
    }

    /// The matrix of issue 11: durable mode under every fault for the challenges that store data;
    /// default mode under partitions and pauses for every challenge (nothing is lost by a pause,
    /// so every challenge should pass) and under kills for those where a kill can lose something.
    public static var cases: [Case] {
        let stored = ["2", "3b", "3c", "3d", "4", "5b", "5c", "6b", "6c", "g-set", "g-set-partition", "pn-counter"]
        let all = Challenges.all
        func named(_ names: [String]) -> [Challenge] { names.compactMap(Challenges.named) }
        return named(stored).map { Case(challenge: $0, durable: true, nemesis: [.partition, .kill, .pause]) }
            + all.map { Case(challenge: $0, durable: false, nemesis: [.partition, .pause]) }
            + named(stored).map { Case(challenge: $0, durable: false, nemesis: [.kill]) }
    }

    /// The figures of one run.
    public struct Row {
        public let name: String
        public let seed: UInt64
        public let valid: Validity
        /// The workload checker alone: `--availability total` cannot hold while a node is down.
        public let workloadValid: Bool
        public let passed: Bool
        /// Acknowledged data lost (nil where the workload stores nothing): broadcast, values
        /// (g-set: elements) acknowledged but missing from some node's final read; counters, final
        /// reads outside what the adds allow; kafka, the checker's lost writes; txn, broken invariants;
        /// lin-kv, keys the checker found not linearizable; txn-list-append, the anomaly types
        /// the checker found.
        public let lost: Int?
        /// Messages to removed clients: each silences its sender in Maelstrom.
        public let silenced: Int
        public let brokenInvariants: [String]
        public let serverMsgsPerOp: Double
        /// Latency of successful operations (ms).
        public let latencyP50: Double
        public let latencyMax: Double
        public let availability: Double
        public let kills: Int
        public let pauses: Int
        public let replay: String
    }

    public static func measure(_ result: TestResult, case c: Case) -> Row {
        let ok = result.history.compactMap { op -> Micros? in
            guard op.outcome?.isOK == true, let done = op.completedAt else { return nil }
            return done - op.invokedAt
        }.sorted()
        let nemesis = result.results["nemesis"]
        return Row(name: c.name, seed: result.spec.seed, valid: result.validity,
                   workloadValid: result.results["workload"]?["valid?"] == .bool(true), passed: result.passed,
                   lost: lost(result), silenced: result.undeliverable.count,
                   brokenInvariants: result.brokenInvariants.map(\.name),
                   serverMsgsPerOp: RunRanking.number(result.results["net"]?["servers"]?["msgs-per-op"]),
                   latencyP50: ok.isEmpty ? 0 : Double(ok[ok.count / 2]) / 1000,
                   latencyMax: Double(ok.last ?? 0) / 1000,
                   availability: RunRanking.number(result.results["availability"]?["ok-fraction"]),
                   kills: nemesis?["kill-count"]?.int ?? 0, pauses: nemesis?["pause-count"]?.int ?? 0,
                   replay: c.replay(seed: result.spec.seed))
    }

    /// Acknowledged data the run lost (see `Row.lost`), as its workload's model counts it.
    public static func lost(_ result: TestResult) -> Int? { result.spec.makeModel().lost(result) }

    // MARK: output

    public static let tsvHeader = "case\tseed\tvalid\tworkload_valid\tpassed\tlost\tsilenced\tbroken_invariants\tservers_msgs_per_op\t"
        + "latency_p50_ms\tlatency_max_ms\tavailability\tkills\tpauses\treplay"

    public static func tsvLine(_ r: Row) -> String {
        "\(r.name)\t\(r.seed)\t\(r.valid.json)\t\(r.workloadValid)\t\(r.passed)\t\(r.lost.map(String.init) ?? "")\t\(r.silenced)\t"
            + "\(r.brokenInvariants.joined(separator: "; "))\t\(compactNumber(r.serverMsgsPerOp))\t"
            + "\(compactNumber(r.latencyP50))\t\(compactNumber(r.latencyMax))\t\(compactNumber(r.availability))\t"
            + "\(r.kills)\t\(r.pauses)\t\(r.replay)"
    }

    public static func tsv(_ rows: [Row]) -> String { ([tsvHeader] + rows.map(tsvLine)).joined(separator: "\n") + "\n" }

    /// One line per case: valid seeds, lost (worst / median), seeds with a silenced node or a broken
    /// invariant, and the median / worst of msgs-per-op, latency and availability.
    public static func table(_ rows: [Row]) -> String {
        var names: [String] = []
        for r in rows where !names.contains(r.name) { names.append(r.name) }
        var out = "| challenge | mode | nemesis | valid | workload valid | passed | lost worst / median | silenced seeds | invariant broken seeds "
            + "| `:servers` msgs-per-op median / worst | ok latency p50 median / worst (ms) | ok latency max worst (ms) "
            + "| availability median / worst | kills / pauses (median) |\n"
        out += "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for name in names {
            let group = rows.filter { $0.name == name }
            let parts = name.split(separator: " ").map(String.init)
            let n = group.count
            let lost = group.compactMap(\.lost)
            out += "| \(parts[0]) | \(parts[1]) | \(parts[2]) "
                + "| \(group.filter { $0.valid == .valid }.count)/\(n) | \(group.filter(\.workloadValid).count)/\(n) | \(group.filter(\.passed).count)/\(n) "
                + "| \(lost.isEmpty ? "–" : "\(lost.max()!) / \(format(median(lost.map(Double.init))))") "
                + "| \(group.filter { $0.silenced > 0 }.count) | \(group.filter { !$0.brokenInvariants.isEmpty }.count) "
                + "| \(format(median(group.map(\.serverMsgsPerOp)))) / \(format(group.map(\.serverMsgsPerOp).max()!)) "
                + "| \(format(median(group.map(\.latencyP50)))) / \(format(group.map(\.latencyP50).max()!)) "
                + "| \(format(group.map(\.latencyMax).max()!)) "
                + "| \(format(median(group.map(\.availability)), digits: 3)) / \(format(group.map(\.availability).min()!, digits: 3)) "
                + "| \(format(median(group.map { Double($0.kills) }))) / \(format(median(group.map { Double($0.pauses) }))) |\n"
        }
        return out
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func format(_ v: Double, digits: Int = 2) -> String {
        let scale = pow(10, Double(digits))
        return compactNumber((v * scale).rounded() / scale)
    }
}
