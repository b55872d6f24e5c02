import EVCheckers
import EVCore
import EVSimCore
import Logging
import Workloads

/// One Maelstrom test invocation (`maelstrom test -w … --node-count … --rate …`), as the runner
/// reproduces it. Defaults are Maelstrom's (protocol reference §7).
public struct TestSpec {
    /// Builds a fresh workload model (generator, client, checker) for one run: models keep state
    /// (e.g. the next broadcast value), so every run needs its own.
    public var makeModel: () -> WorkloadModel
    public var nodeCount = 5
    public var concurrency: Concurrency = .perNode(1)
    /// Seconds of main-phase load (`--time-limit`).
    public var timeLimit: Double = 60
    /// Operations per second, a ceiling (`--rate`).
    public var rate: Double = 5
    /// Mean node↔node / node↔service latency (`--latency`, ms).
    public var latencyMS: Int64 = 0
    public var latencyDistribution: LatencyDistribution = .constant
    public var nemesis: Set<NemesisKind> = []
    /// Mean seconds between nemesis actions (`--nemesis-interval`).
    public var nemesisInterval: Double = 10
    public var availability: Availability = .none
    /// Broadcast only (`--topology`); models read it when building their setup requests.
    public var topology: Topology = .grid
    public var seed: UInt64 = 1
    /// Maelstrom's client RPC timeout.
    public var clientTimeout: Micros = .ms(5000)
    /// Quiet period between healing and the final operations (Maelstrom sleeps 10 s).
    public var recoveryWait: Micros = .ms(10_000)
    /// Init arrival offsets, post-init stalls and kv service delays drawn from the seed (docs/evsim.md,
    /// "Start skew"): on, as a loaded machine running Maelstrom behaves. `.off` starts every node at
    /// one instant with services answering in zero time (evsim `--no-start-skew`).
    public var startSkew: StartSkew = .maelstrom
    /// Node log lines at or above this level are kept (`Runner.cluster.logs`; the first 50 in
    /// `TestResult.logs`).
    public var logLevel: Logger.Level = .warning
    /// Workload tunables handed to every node (production defaults unless a test overrides them).
    public var workloads = WorkloadConfig()
    /// Replaces evnode's router on every node (checker tests inject broken handlers here).
    public var handlerFactory: ((_ nodeID: String) -> MessageHandler)?

    public init(makeModel: @escaping () -> WorkloadModel) {
        self.makeModel = makeModel
    }

    public enum Concurrency: Equatable, Sendable, CustomStringConvertible {
        /// `Kn`: K workers per node.
        case perNode(Int)
        case fixed(Int)

        public func workers(nodeCount: Int) -> Int {
            switch self {
            case .perNode(let k): return k * nodeCount
            case .fixed(let n): return n
            }
        }

        public var description: String {
            switch self {
            case .perNode(let k): return "\(k)n"
            case .fixed(let n): return "\(n)"
            }
        }
    }

    /// `--availability` (the checker's type, under the name tests and challenges use).
    public typealias Availability = AvailabilityRequirement

    public var workerCount: Int { concurrency.workers(nodeCount: nodeCount) }

    /// The Maelstrom options this spec stands for, as they would be typed after `maelstrom test`.
    public func maelstromArguments(workload: WorkloadKind) -> String {
        var parts = ["-w \(workload.rawValue)", "--bin BIN", "--node-count \(nodeCount)"]
        if concurrency != .perNode(1) { parts.append("--concurrency \(concurrency)") }
        parts.append("--time-limit \(Self.format(timeLimit))")
        if rate != 5 { parts.append("--rate \(Self.format(rate))") }
        if latencyMS != 0 { parts.append("--latency \(latencyMS)") }
        if latencyDistribution != .constant { parts.append("--latency-dist \(latencyDistribution.rawValue)") }
        if workload == .broadcast, topology != .grid { parts.append("--topology \(topology)") }
        switch availability {
        case .none: break
        case .total: parts.append("--availability total")
        case .fraction(let f): parts.append("--availability \(f)")
        }
        if !nemesis.isEmpty {
            parts.append("--nemesis \(nemesis.map(\.rawValue).sorted().joined(separator: ","))")
            if nemesisInterval != 10 { parts.append("--nemesis-interval \(Self.format(nemesisInterval))") }
        }
        return parts.joined(separator: " ")
    }

    static func format(_ v: Double) -> String { compactNumber(v) }
}

/// Maelstrom's faults: network partitions (reference §5.4) and, since July 2026, process kills and
/// pauses (§5.5). `--nemesis` takes any comma-separated combination.
public enum NemesisKind: String, Sendable, CaseIterable {
    case partition, kill, pause

    /// Parses "partition,kill", "none" or "" (no faults); nil on an unknown name.
    public static func parse(_ list: String) -> Set<NemesisKind>? {
        var kinds = Set<NemesisKind>()
        for name in list.split(separator: ",").map({ String($0.filter { !$0.isWhitespace }) }) where name != "none" && !name.isEmpty {
            guard let kind = NemesisKind(rawValue: name) else { return nil }
            kinds.insert(kind)
        }
        return kinds
    }
}
