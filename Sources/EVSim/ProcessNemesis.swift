import EVCheckers
import EVCore
import EVSimCore

/// How the nodes of one kill or pause are drawn, uniformly among these (Jepsen's db node specs,
/// reference §5.5). Sizes for n nodes: minority-third ⌊(n−1)/3⌋, minority ⌊n/2⌋, majority ⌊n/2⌋+1.
public enum ProcessTarget: String, CaseIterable, Sendable {
    /// A random non-empty subset (Jepsen's nil spec): 1…n nodes of a shuffle.
    case subset
    case one
    case minorityThird = "minority-third"
    case minority
    case majority
    case all

    public func nodes(_ nodes: [String], rng: inout SimRandom) -> [String] {
        let n = nodes.count
        guard n > 0 else { return [] }
        if self == .all { return nodes }
        var shuffled = nodes
        shuffled.shuffle(using: &rng)
        let count: Int
        switch self {
        case .subset: count = rng.int(1...n)
        case .one: count = 1
        case .minorityThird: count = (n - 1) / 3
        case .minority: count = n / 2
        case .majority: count = n / 2 + 1
        case .all: count = n
        }
        // Sorted so the log reads the same whatever the shuffle did.
        return shuffled.prefix(count).sorted { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }
    }
}

/// Maelstrom's process-fault nemesis (reference §5.5): one schedule mixing the flip-flops
/// kill→start and pause→resume (those enabled): for each operation a flip-flop is picked at random
/// and does its next step, after a uniform [0, 2 × interval) delay. Kill and pause draw their
/// targets (`ProcessTarget`); start and resume act on every node (a live node ignores start, a
/// running one resume). Operations are sequential, as Jepsen's nemesis is: the delay before the
/// next one counts from the moment every restarted node has answered its new `init`.
final class ProcessNemesis {
    private let cluster: Cluster
    private let interval: Micros
    private var rng: SimRandom
    private let stopAt: Micros
    private var flipFlops: [FlipFlop]
    private(set) var events: [NemesisEvent] = []

    /// One flip-flop and whether its fault is in effect (its next step is the recovery).
    private struct FlipFlop {
        let fault: NemesisEvent.Action
        let recovery: NemesisEvent.Action
        var faulted = false
    }

    init(cluster: Cluster, kinds: Set<NemesisKind>, interval: Micros, stopAt: Micros, rng: SimRandom) {
        self.cluster = cluster
        self.interval = interval
        self.stopAt = stopAt
        self.rng = rng
        flipFlops = []
        if kinds.contains(.kill) { flipFlops.append(FlipFlop(fault: .kill, recovery: .start)) }
        if kinds.contains(.pause) { flipFlops.append(FlipFlop(fault: .pause, recovery: .resume)) }
    }

    var isEnabled: Bool { !flipFlops.isEmpty }
    var kills: Bool { flipFlops.contains { $0.fault == .kill } }
    var pauses: Bool { flipFlops.contains { $0.fault == .pause } }

    func start() { scheduleNext() }

    private func scheduleNext() {
        // At least 1 µs apart, so a restarted process reads a later wall clock than its predecessor.
        let gap = max(Micros(rng.unit() * Double(2 * interval)), 1)
        cluster.events.schedule(after: gap) { [self] in step() }
    }

    private func step() {
        guard cluster.now < stopAt, !flipFlops.isEmpty else { return }
        let i = rng.int(0...flipFlops.count - 1)
        let action = flipFlops[i].faulted ? flipFlops[i].recovery : flipFlops[i].fault
        flipFlops[i].faulted.toggle()
        switch action {
        case .kill, .pause:
            let target = ProcessTarget.allCases[rng.int(0...ProcessTarget.allCases.count - 1)]
            let nodes = target.nodes(cluster.nodeIDs, rng: &rng)
            for id in nodes {
                if action == .kill { cluster.kill(id) } else { cluster.pause(id) }
            }
            record(action, target: target, nodes: nodes)
            scheduleNext()
        case .start:
            startAll { [self] in scheduleNext() }
        case .resume:
            resumeAll()
            scheduleNext()
        case .startPartition, .stopPartition:
            preconditionFailure("not a process fault")
        }
    }

    /// Starts every dead node; `done` runs once every new process answered `init` (or timed out).
    private func startAll(done: @escaping () -> Void) {
        let dead = cluster.nodeIDs.filter { !cluster.isAlive($0) }
        record(.start, target: .all, nodes: dead)
        var waiting = dead.count
        for id in dead {
            cluster.start(id) { _ in
                waiting -= 1
                if waiting == 0 { done() }
            }
        }
        if dead.isEmpty { done() }
    }

    private func resumeAll() {
        let paused = cluster.nodeIDs.filter { cluster.isAlive($0) && cluster.isPaused($0) }
        record(.resume, target: .all, nodes: paused)
        for id in paused { cluster.resume(id) }
    }

    /// The final generator's recovery (reference §5.5): resume every paused node, start every dead
    /// one. Each enabled fault records its op, as Jepsen's final generator does, even with nothing
    /// to recover.
    func recoverAll() {
        if pauses { resumeAll() }
        if kills { startAll {} }
        for i in flipFlops.indices { flipFlops[i].faulted = false }
    }

    private func record(_ action: NemesisEvent.Action, target: ProcessTarget, nodes: [String]) {
        events.append(NemesisEvent(time: cluster.now, action: action, shape: nil,
                                   detail: nodes.joined(separator: " "), target: target, nodes: nodes))
    }

    /// The result map's `:nemesis` entry: the operations, as Maelstrom's history records them, and
    /// their counts. A restarted node that never answered `init` makes it invalid.
    func report(allEvents: [NemesisEvent]) -> CheckResult {
        let failures = cluster.restartInitFailures
        let counts = cluster.faultCounts
        return CheckResult(validity: failures.isEmpty ? .valid : .invalid, details: .object([
            ("valid?", .bool(failures.isEmpty)),
            ("kill-count", .int(counts.kills)), ("start-count", .int(counts.starts)),
            ("pause-count", .int(counts.pauses)), ("resume-count", .int(counts.resumes)),
            ("restart-init-failures", .array(failures.map { .string($0) })),
            ("ops", .array(allEvents.map(\.json))),
        ]))
    }
}
