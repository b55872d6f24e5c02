import EVCore
import Logging

/// Settings of one simulated cluster (Maelstrom's --node-count, --latency, --latency-dist). What
/// the nodes run is not a setting: `Cluster` takes a handler factory.
public struct ClusterSettings: Sendable {
    public var nodeCount = 1
    public var latency: Micros = 0
    public var distribution: LatencyDistribution = .constant
    public var seed: UInt64 = 1
    /// Node log lines at or above this level are kept in `Cluster.logs`.
    public var logLevel: Logger.Level = .warning
    /// Virtual wall clock at time 0 (nodes read it through `Node.wallClock`).
    public var wallClockOrigin: Micros = 1_700_000_000_000_000
    /// Init arrival offsets, post-init stalls and kv service delays (docs/evsim.md, "Start skew").
    /// Off here, so a hand-driven cluster starts every node at one instant and its services answer
    /// in zero time; the runner (`TestSpec.startSkew`) turns it on for every challenge run.
    public var startSkew: StartSkew = .off

    public init(nodeCount: Int = 1, latency: Micros = 0, seed: UInt64 = 1) {
        self.nodeCount = nodeCount
        self.latency = latency
        self.seed = seed
    }
}

/// N nodes running any `MessageHandler`, the kv services and clients on one simulated network with
/// a virtual clock: the simulator's counterpart of SwiftNIO's embedded channel, for whole clusters.
/// Everything is driven by one seeded random source and one event queue: the same seed gives the
/// same run, message for message.
public final class Cluster {
    public let settings: ClusterSettings
    public let events = EventQueue()
    public let network: SimNetwork
    public let nodeIDs: [String]
    public private(set) var nodes: [SimNode] = []
    public let linKV: LinKV
    public let seqKV: SeqKV
    public let lwwKV: LWWKV
    public let linTSO: LinTSO
    public private(set) var rng: SimRandom
    public let logs: LogCollector
    private var nextClientID = 0
    /// Builds a node's handler: once per node id at the start, and again for every restarted process.
    private let makeHandler: (_ nodeID: String) -> MessageHandler
    /// Process faults so far (kills and starts that found a live node, or a dead one, are not counted).
    public private(set) var faultCounts = FaultCounts()
    /// Restarted nodes that did not answer their new `init` within 10 s.
    public private(set) var restartInitFailures: [String] = []
    /// Each node's start-skew stream (init arrival, then a stall per process), by node id.
    private var skewStreams: [String: SimRandom] = [:]

    public struct FaultCounts: Sendable, Equatable {
        public var kills = 0, starts = 0, pauses = 0, resumes = 0
        public init(kills: Int = 0, starts: Int = 0, pauses: Int = 0, resumes: Int = 0) {
            self.kills = kills
            self.starts = starts
            self.pauses = pauses
            self.resumes = resumes
        }
    }

    /// - Parameter makeHandler: builds the handler of each node (called once per node id, in order,
    ///   then once per restart).
    public init(_ config: ClusterSettings, makeHandler: @escaping (_ nodeID: String) -> MessageHandler) {
        self.makeHandler = makeHandler
        self.settings = config
        var root = SimRandom(seed: config.seed)
        network = SimNetwork(events: events, latency: config.latency, distribution: config.distribution, rng: root.fork())
        linKV = LinKV(network: network)
        seqKV = SeqKV(network: network, rng: root.fork())
        lwwKV = LWWKV(network: network, rng: root.fork())
        linTSO = LinTSO(network: network)
        rng = root.fork()
        nodeIDs = (0..<config.nodeCount).map { "n\($0)" }
        // Start skew draws from streams of its own, so turning it on shifts no other draw.
        if !config.startSkew.isOff {
            var skewRoot = SimRandom(seed: config.seed ^ 0x57A2_75CE_DA7E_0001)
            for id in nodeIDs { skewStreams[id] = skewRoot.fork() }
            for service in [linKV, seqKV, lwwKV, linTSO] as [SimService] {
                service.setReplyDelay(config.startSkew.serviceDelay, rng: skewRoot.fork())
            }
        }
        logs = LogCollector(level: config.logLevel)
        for id in nodeIDs {
            let node = makeProcess(id)
            network.register(node)
            nodes.append(node)
        }
    }

    /// Called after every message and timer run of any node process, in the order they were
    /// added: how models and probes watch node state over time (e.g. when the counters agree, or
    /// the consensus invariants) without hooks in the workloads. Several coexist.
    public private(set) var observers: [(SimNode) -> Void] = []

    /// Adds a watcher run after every message and timer run of any node process (after those
    /// added before it).
    public func addObserver(_ observer: @escaping (SimNode) -> Void) { observers.append(observer) }

    /// A fresh process for node `id`: new handler, new `Node`, nothing from before.
    private func makeProcess(_ id: String) -> SimNode {
        let collector = logs, queue = events
        let logger = Logger(label: "evnode") { _ in SimLogHandler(collector: collector, events: queue) }
        let process = SimNode(id: id, network: network, handler: makeHandler(id),
                              wallClockOrigin: settings.wallClockOrigin, logger: logger)
        process.afterEvent = { [unowned self] process in for observer in self.observers { observer(process) } }
        return process
    }

    public var now: Micros { events.now }

    public func node(_ id: String) -> SimNode { nodes[nodeIDs.firstIndex(of: id)!] }

    /// A fresh client with the next unused id (c0, c1, …).
    public func newClient() -> SimClient {
        defer { nextClientID += 1 }
        return SimClient(id: "c\(nextClientID)", network: network)
    }

    /// Sends `init` to every node from its own client and runs until all answered.
    /// Returns the ids of nodes that did not answer init_ok within 10 s (Maelstrom's limit).
    /// With start skew each `init` goes out at its node's drawn arrival offset, and each process
    /// stalls for its drawn time right after answering it (`startOffsets` has the draws).
    @discardableResult
    public func initialize() -> [String] {
        var answered = Set<String>()
        var latest = now
        for id in nodeIDs {
            let client = newClient()
            let offset = drawSkew(id, \.initArrival)
            prepareStall(node(id))
            let send = { [unowned self] in
                client.call(id, initBody(id), timeout: .ms(10_000)) { reply in
                    if reply?["type"] == "init_ok" { answered.insert(id) }
                }
            }
            startOffsets[id] = offset
            if offset == 0 { send() } else { events.schedule(after: offset, send) }
            latest = max(latest, now + offset)
        }
        events.run(until: latest + .ms(10_000), while: { answered.count < nodeIDs.count })
        return nodeIDs.filter { !answered.contains($0) }
    }

    /// The init arrival offset each node got in `initialize` (0 without start skew).
    public private(set) var startOffsets: [String: Micros] = [:]
    /// Every post-init stall drawn, by node, in order (the first is the one after the first init).
    public private(set) var stalls: [String: [Micros]] = [:]

    /// One draw from node `id`'s start-skew stream (0, drawing nothing, when start skew is off).
    private func drawSkew(_ id: String, _ part: KeyPath<StartSkew, StartSkew.Spread>) -> Micros {
        guard var stream = skewStreams[id] else { return 0 }
        defer { skewStreams[id] = stream }
        return settings.startSkew[keyPath: part].draw(&stream)
    }

    /// Draws the stall `process` takes once it has handled its next `init`.
    private func prepareStall(_ process: SimNode) {
        guard skewStreams[process.id] != nil else { return }
        let stall = drawSkew(process.id, \.postInitStall)
        stalls[process.id, default: []].append(stall)
        process.stallAfterInit = stall
    }

    /// The `init` body the harness sends node `id`.
    private func initBody(_ id: String) -> JSONValue {
        ["type": "init", "node_id": .string(id), "node_ids": .array(nodeIDs.map { .string($0) })]
    }

    // MARK: process faults (reference §5.5)

    public func isAlive(_ id: String) -> Bool { node(id).isAlive }
    public func isPaused(_ id: String) -> Bool { node(id).isPaused }

    /// SIGKILL of node `id`'s process: its state and timers are gone, and what is sent to it until
    /// `start` is never delivered. Returns false if it was already dead.
    @discardableResult
    public func kill(_ id: String) -> Bool {
        let process = node(id)
        guard process.isAlive else { return false }
        process.kill()
        network.kill(id)
        faultCounts.kills += 1
        return true
    }

    /// Launches a fresh process for a dead node and sends it `init` again (same `node_id` and
    /// `node_ids`) from a harness client, as at the start of the test; `initialized` runs when its
    /// `init_ok` arrives (true) or after 10 s without one (false). Does nothing to a live node
    /// (returns false and never calls `initialized`).
    @discardableResult
    public func start(_ id: String, initialized: ((Bool) -> Void)? = nil) -> Bool {
        guard let index = nodeIDs.firstIndex(of: id), !nodes[index].isAlive else { return false }
        let process = makeProcess(id)
        nodes[index] = process
        network.revive(process)
        prepareStall(process)
        faultCounts.starts += 1
        newClient().call(id, initBody(id), timeout: .ms(10_000)) { [weak self] reply in
            let ok = reply?["type"] == "init_ok"
            if !ok { self?.restartInitFailures.append(id) }
            initialized?(ok)
        }
        return true
    }

    /// SIGSTOP: no handler or timer runs; messages keep arriving and wait. False if dead or paused.
    @discardableResult
    public func pause(_ id: String) -> Bool {
        let process = node(id)
        guard process.isAlive, !process.isPaused else { return false }
        process.pause()
        faultCounts.pauses += 1
        return true
    }

    /// SIGCONT: the backlog and the overdue timers run now (see `SimNode.resume`). False if the
    /// node was not paused.
    @discardableResult
    public func resume(_ id: String) -> Bool {
        let process = node(id)
        guard process.isAlive, process.isPaused else { return false }
        faultCounts.resumes += 1
        process.resume()
        return true
    }

    /// Advances virtual time by `duration`, running everything due.
    public func run(for duration: Micros) { events.run(until: now + duration) }

    /// Runs until `condition` holds or `limit` of virtual time has passed; returns whether it held.
    @discardableResult
    public func run(until condition: () -> Bool, limit: Micros) -> Bool {
        events.run(until: now + limit, while: { !condition() })
        return condition()
    }

    /// Sends `body` to `node` from a fresh client and runs until the reply arrives (nil if none
    /// arrives within `limit` of virtual time). For tests.
    @discardableResult
    public func call(_ node: String, _ body: JSONValue, limit: Micros = .seconds(6)) -> JSONValue? {
        var reply: JSONValue?
        var done = false
        newClient().call(node, body) { reply = $0; done = true }
        run(until: { done }, limit: limit)
        return reply
    }

    /// Client ids that a node sent to after they were closed: each is a run-ending failure in
    /// Maelstrom (it stops reading that node's stdout).
    public var messagesToMissingIDs: [SimMessage] { network.undeliverable }
}

/// Keeps node log lines in memory (with virtual time and node), for failure reports.
public final class LogCollector: @unchecked Sendable {
    public let level: Logger.Level
    public private(set) var lines: [String] = []
    public var limit = 10_000
    init(level: Logger.Level) { self.level = level }
    func append(_ line: String) { if lines.count < limit { lines.append(line) } }
}

struct SimLogHandler: LogHandler {
    let collector: LogCollector
    unowned let events: EventQueue
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level

    init(collector: LogCollector, events: EventQueue) {
        self.collector = collector
        self.events = events
        logLevel = collector.level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let node = metadata["node"].map { "\($0)" } ?? "?"
        collector.append("[\(Double(events.now) / 1e6)s \(node) \(event.level)] \(event.message)")
    }
}
