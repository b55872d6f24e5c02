import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Everything one run produced: the result map (Maelstrom's results.edn), the history, the
/// nemesis log, message figures and the trace digest that identifies the run.
public struct TestResult {
    public let spec: TestSpec
    public let workload: WorkloadKind
    /// Top-level `:valid?`: false beats unknown beats true, over every checker.
    public let validity: Validity
    /// Ordered result map: valid?, stats, availability, net, workload, undeliverable (and setup
    /// when init/setup failed).
    public let results: JSONValue
    public let history: [Operation]
    public let nemesisEvents: [NemesisEvent]
    public let net: NetStats
    /// Messages sent per whole second of virtual time.
    public let netPerSecond: [(servers: Int, clients: Int)]
    public let traceHash: TraceHash
    public let undeliverable: [SimMessage]
    /// Virtual times of the phases.
    public internal(set) var phases: Phases
    /// Node log lines at warning and above (first ones), for failure reports.
    public let logs: [String]
    /// Extra challenge goals and whether they were met (empty for a plain test).
    public var goals: [GoalResult] = []
    /// Every message up to `phases.end`, with its delivery or drop (messages.svg).
    public var messages: [MessageLog.Record] = []
    /// Our designs' invariants (docs/evsim.md); one that does not hold fails the run.
    public var invariants: [InvariantResult] = []

    public struct Phases: Sendable {
        public var loadStart: Micros = 0
        /// When the time limit stopped the generator.
        public var loadStop: Micros = 0
        /// When the last main-phase operation completed.
        public var loadDrained: Micros = 0
        /// When the final operations started (nil without a final phase).
        public var finalStart: Micros?
        public var end: Micros = 0
        /// When the invariants were checked, if the run waited for the nodes to settle after `end`.
        public var settled: Micros?
    }

    /// Valid, every extra goal met and every invariant held.
    public var passed: Bool { validity == .valid && goals.allSatisfy(\.met) && invariants.allSatisfy(\.holds) }

    public var failedGoals: [GoalResult] { goals.filter { !$0.met } }

    public var brokenInvariants: [InvariantResult] { invariants.filter { !$0.holds } }
}
