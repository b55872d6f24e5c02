import EVCore
import EVReports
import EVSim
import Foundation
import Maelstrom

/// Runs your node in evsim, the simulator: a Maelstrom workload's clients, network, nemesis and
/// checker on a virtual clock, in your test process. The same seed replays the same run, message
/// for message.
///
///     let result = Simulation(workload: .broadcast, nodeCount: 5, nemesis: [.partition], seed: 1) {
///         MaelstromNode(broadcast)
///     }.run()
///     XCTAssertTrue(result.valid, result.summary)
public struct Simulation {
    /// Maelstrom's workloads, each with its client generator and checker.
    public enum Workload: String, CaseIterable, Sendable {
        case echo, uniqueIDs = "unique-ids", broadcast, gSet = "g-set", gCounter = "g-counter", pnCounter = "pn-counter",
             kafka, txnRWRegister = "txn-rw-register", linKV = "lin-kv", txnListAppend = "txn-list-append"
    }

    /// Maelstrom's faults (`--nemesis`): network partitions, process kills, pauses.
    public typealias Nemesis = NemesisKind

    public var nodeCount: Int
    public var nemesis: Set<Nemesis>
    /// The seed every random choice of the run comes from.
    public var seed: UInt64
    /// Seconds of load (`--time-limit`).
    public var timeLimit: Double
    /// Operations per second (`--rate`).
    public var rate: Double
    /// Mean message latency in milliseconds (`--latency`).
    public var latencyMS: Int64

    /// The rest of the test (model, concurrency, availability, …) and, for a challenge, its goals.
    private let base: TestSpec
    private let workload: Workload?
    private let challenge: Challenge?
    private let makeNode: () -> MaelstromNode

    private init(base: TestSpec, workload: Workload?, challenge: Challenge?, node: @escaping () -> MaelstromNode) {
        self.base = base
        self.workload = workload
        self.challenge = challenge
        makeNode = node
        nodeCount = base.nodeCount
        nemesis = base.nemesis
        seed = base.seed
        timeLimit = base.timeLimit
        rate = base.rate
        latencyMS = base.latencyMS
    }

    /// A test of `workload` with Maelstrom's defaults for what is not given (60 s at 5 ops/s).
    /// `node` builds a fresh node for every process (at the start, and after each kill).
    public init(workload: Workload, nodeCount: Int = 1, nemesis: Set<Nemesis> = [], seed: UInt64 = 1,
                node: @escaping () -> MaelstromNode) {
        self.init(base: TestSpec(makeModel: workload.model(nodeCount: nodeCount)), workload: workload, challenge: nil, node: node)
        self.nodeCount = nodeCount
        self.nemesis = nemesis
        self.seed = seed
    }

    /// A Gossip Glomers challenge's own test ("1", "2", "3b", "4", "5a", "6a", … as `evsim list`
    /// names them), with its node count, rate, time limit, nemesis and goals.
    public init(challenge name: String, seed: UInt64 = 1, node: @escaping () -> MaelstromNode) {
        guard let found = Challenges.named(name) else {
            preconditionFailure("no challenge \(name); known: \(Challenges.all.map(\.name).joined(separator: ", "))")
        }
        self.init(base: found.spec, workload: nil, challenge: found, node: node)
        self.seed = seed
    }

    /// Runs the test and checks it.
    public func run() -> SimulationResult {
        var spec = base
        if let workload { spec.makeModel = workload.model(nodeCount: nodeCount) }
        spec.nodeCount = nodeCount
        spec.nemesis = nemesis
        spec.seed = seed
        spec.timeLimit = timeLimit
        spec.rate = rate
        spec.latencyMS = latencyMS
        spec.handlerFactory = { [makeNode] _ in makeNode() }
        var result = Runner(spec: spec).run()
        if let challenge { result.goals = challenge.goals.map { $0.evaluate(result.results) } }
        return SimulationResult(result, challenge: challenge)
    }
}

/// What a simulation found: the verdict, Maelstrom's result map, and how to replay and look at it.
public struct SimulationResult {
    /// Maelstrom's `:valid?` is true, and every goal of a challenge is met.
    public let valid: Bool
    /// The seed: pass it back (`Simulation(…, seed:)`) to replay this run message for message.
    public let seed: UInt64
    /// The `maelstrom test …` command this run stands for (your binary as BIN).
    public let maelstromCommand: String
    /// How to replay the run, in one line.
    public let replay: String
    /// Maelstrom's result map (its results.edn, as JSON): `results["workload"]?["lost-count"]`.
    public let results: JSONValue
    /// The result map, its verdict line, the nemesis log and the goals, as text.
    public let summary: String
    private let result: TestResult
    private let challenge: Challenge?

    init(_ result: TestResult, challenge: Challenge?) {
        self.result = result
        self.challenge = challenge
        valid = result.validity == .valid && result.goals.allSatisfy(\.met)
        seed = result.spec.seed
        maelstromCommand = challenge?.maelstromCommand(for: result.spec)
            ?? "maelstrom test " + result.spec.maelstromArguments(workload: result.workload)
        results = result.results
        replay = "Simulation seed \(seed) (trace \(result.traceHash.hex), \(result.traceHash.messages) messages)"
        summary = Summary.text(result, challenge: challenge, replayCommand: replay, wallSeconds: nil, elide: 20)
    }

    /// Writes the run's results directory: results.json, summary.txt, the tables behind the plots,
    /// and the pictures, timeline.html (operations over time, faults shaded) and messages.svg
    /// (every message between nodes and clients). Returns the names written.
    @discardableResult
    public func write(to directory: URL) throws -> [String] {
        try ResultsWriter(directory: directory).write(result, challenge: challenge, replayCommand: replay)
    }
}

extension Simulation.Workload {
    func model(nodeCount: Int) -> () -> WorkloadModel {
        switch self {
        case .echo: return { EchoModel() }
        case .uniqueIDs: return { UniqueIDsModel() }
        case .broadcast: return { BroadcastModel() }
        case .gSet: return { GSetModel() }
        case .gCounter: return { GCounterModel() }
        case .pnCounter: return { GCounterModel(.pnCounter) }
        case .kafka: return { KafkaModel() }
        case .txnRWRegister: return { TxnModel() }
        case .linKV: return { LinKVModel(nodeCount: nodeCount) }
        case .txnListAppend: return { ListAppendModel() }
        }
    }
}
