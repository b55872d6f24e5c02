import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// A Gossip Glomers challenge: the Maelstrom test it runs (protocol reference §11) and the extra
/// numeric goals its page sets on top of "Everything looks good!".
public struct Challenge {
    public let name: String
    public let title: String
    public let workload: WorkloadKind
    /// The test, seed aside (`run(seed:)` sets it).
    public var spec: TestSpec
    public var goals: [Goal]
    /// Maelstrom options the spec has no field for (e.g. "--consistency-models read-committed"),
    /// shown in the command line only; the model itself must implement them.
    public var extraArguments: String
    /// Broadcast: the hub flush interval sweep `evsim all` runs after the challenge (README's
    /// trade-off table and results/<name>/tradeoff.*): intervals in ms, seeds 1…seeds each.
    public var hubFlushSweep: (intervalsMS: [Int64], seeds: Int)?
    /// lin-kv and txn-list-append: the Raft coalescing window sweep `evsim all` runs after the
    /// challenge (docs/linkv.md's curve, results/<name>/tradeoff.*): windows in ms, seeds 1…seeds.
    public var raftWindowSweep: (windowsMS: [Double], seeds: Int)?

    /// - Parameters:
    ///   - model: builds a fresh model for every run.
    ///   - configure: sets the Maelstrom options of the challenge's command on a default spec.
    public init(_ name: String, _ title: String, workload: WorkloadKind, goals: [Goal] = [],
                extraArguments: String = "", model: @escaping () -> WorkloadModel,
                configure: (inout TestSpec) -> Void) {
        self.name = name
        self.title = title
        self.workload = workload
        self.goals = goals
        self.extraArguments = extraArguments
        var spec = TestSpec(makeModel: model)
        configure(&spec)
        self.spec = spec
    }

    /// `maelstrom test …` as the challenge page prints it (binary shown as BIN).
    public var maelstromCommand: String { maelstromCommand(for: spec) }

    /// The command a (possibly adjusted) spec of this challenge stands for.
    public func maelstromCommand(for spec: TestSpec) -> String {
        // Durable mode is a node option (evnode --durable); the environment reaches every node.
        (spec.workloads.durability.enabled ? "EVNODE_DURABLE=1 " : "") + "maelstrom test " + spec.maelstromArguments(workload: workload) + (extraArguments.isEmpty ? "" : " " + extraArguments)
    }

    /// Runs the challenge with `seed` and evaluates its goals.
    public func run(seed: UInt64, adjust: ((inout TestSpec) -> Void)? = nil) -> TestResult {
        var spec = self.spec
        spec.seed = seed
        adjust?(&spec)
        var result = Runner(spec: spec).run()
        result.goals = goals.map { $0.evaluate(result.results) }
        return result
    }
}

/// The table of challenges `evsim` knows, in challenge order. `evsim list`, the Maelstrom command
/// list (scripts/maelstrom-all.sh) and README's command table are generated from it.
///
/// To add a challenge:
/// 1. in your own file, declare it as a static property on `Challenge`, e.g.
///
///        extension Challenge {
///            static var myChallenge: Challenge {
///                Challenge("7", "My counter", workload: .gCounter, model: { GCounterModel() }) { spec in
///                    spec.nodeCount = 3; spec.rate = 100; spec.timeLimit = 20; spec.nemesis = [.partition]
///                }
///            }
///        }
///
///    using exactly the options of the §11 command (`spec.concurrency = .perNode(2)` for
///    `--concurrency 2n`, `spec.availability = .total`, goals such as `Goal.serverMsgsPerOp(below:)`,
///    options the spec has no field for in `extraArguments` and in your model's init);
/// 2. add one line `.myChallenge,` to `Challenges.all` below, in challenge order.
public enum Challenges {
    public static var all: [Challenge] {
        [
            .echo1,
            .uniqueIDs2,
            .broadcast3a,
            .broadcast3b,
            .broadcast3c,
            .broadcast3d,
            .broadcast3dPartition,
            .broadcast3e,
            .gCounter4,
            .kafka5a,
            .kafka5b,
            .kafka5c,
            .txn6a,
            .txn6bNoFault,
            .txn6b,
            .txn6c,
            .gSet,
            .gSetPartition,
            .pnCounter,
            .linKV3,
            .linKVNoFault,
            .linKVStress,
            .linKV5,
            .txnListAppend,
            .txnListAppendPartition,
            .txnListAppend5,
            .txnListAppend10n,
        ]
    }

    public static func named(_ name: String) -> Challenge? { all.first { $0.name == name } }
}

extension Challenge {
    public static var echo1: Challenge {
        Challenge("1", "Echo", workload: .echo, model: { EchoModel() }) { spec in
            spec.nodeCount = 1
            spec.timeLimit = 10
        }
    }

    public static var uniqueIDs2: Challenge {
        Challenge("2", "Unique ID generation", workload: .uniqueIDs, model: { UniqueIDsModel() }) { spec in
            spec.nodeCount = 3
            spec.timeLimit = 30
            spec.rate = 1000
            spec.availability = .total
            spec.nemesis = [.partition]
        }
    }

    /// `-w broadcast` with the default grid topology.
    static func broadcast(_ name: String, _ title: String, goals: [Goal] = [],
                          configure: (inout TestSpec) -> Void) -> Challenge {
        Challenge(name, title, workload: .broadcast, goals: goals, model: { BroadcastModel(topology: .grid) }) { spec in
            spec.topology = .grid
            configure(&spec)
        }
    }

    public static var broadcast3a: Challenge {
        broadcast("3a", "Single-node broadcast") { spec in
            spec.nodeCount = 1
            spec.timeLimit = 20
            spec.rate = 10
        }
    }

    public static var broadcast3b: Challenge {
        broadcast("3b", "Multi-node broadcast") { spec in
            spec.nodeCount = 5
            spec.timeLimit = 20
            spec.rate = 10
        }
    }

    public static var broadcast3c: Challenge {
        broadcast("3c", "Fault-tolerant broadcast") { spec in
            spec.nodeCount = 5
            spec.timeLimit = 20
            spec.rate = 10
            spec.nemesis = [.partition]
        }
    }

    static func efficientBroadcast(_ spec: inout TestSpec) {
        spec.nodeCount = 25
        spec.timeLimit = 20
        spec.rate = 100
        spec.latencyMS = 100
    }

    public static var broadcast3d: Challenge {
        var c = broadcast("3d", "Efficient broadcast I",
                          goals: [.serverMsgsPerOp(below: 30), .medianStableLatency(belowMS: 400), .maxStableLatency(belowMS: 600)],
                          configure: efficientBroadcast)
        c.hubFlushSweep = efficientBroadcastSweep
        return c
    }

    /// README's trade-off table; 3e runs the same test, so it carries the same sweep.
    static let efficientBroadcastSweep: (intervalsMS: [Int64], seeds: Int) = ([50, 100, 150, 200, 210, 250, 300, 350, 400, 500], 5)

    /// 3d must stay correct under partitions; the page does not apply the latency goals there.
    public static var broadcast3dPartition: Challenge {
        broadcast("3d-partition", "Efficient broadcast I under partitions", goals: [.serverMsgsPerOp(below: 30)]) { spec in
            efficientBroadcast(&spec)
            spec.nemesis = [.partition]
        }
    }

    public static var broadcast3e: Challenge {
        var c = broadcast("3e", "Efficient broadcast II",
                          goals: [.serverMsgsPerOp(below: 20), .medianStableLatency(belowMS: 1000), .maxStableLatency(belowMS: 2000)],
                          configure: efficientBroadcast)
        c.hubFlushSweep = efficientBroadcastSweep
        return c
    }
}
