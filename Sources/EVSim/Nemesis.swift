import EVCheckers
import EVCore
import EVSimCore

/// Partition shapes Maelstrom's nemesis picks from at random (protocol reference §5.4).
public enum PartitionShape: String, CaseIterable, Sendable {
    /// Isolate one random node.
    case one
    /// Split off fewer than a third of the nodes.
    case minorityThird = "minority-third"
    /// Random clean split into a majority and a minority.
    case majority
    /// Every node sees a majority, but the views overlap.
    case majoritiesRing = "majorities-ring"

    /// The (receiver, sender) pairs to drop, Jepsen's "grudge". Clients and services are never in
    /// it: only server node ids are passed in.
    public func grudge(nodes: [String], rng: inout SimRandom) -> Set<SimNetwork.Pair> {
        let n = nodes.count
        guard n >= 2 else { return [] }
        var shuffled = nodes
        shuffled.shuffle(using: &rng)
        switch self {
        case .one:
            return Self.cut([Array(shuffled.prefix(1)), Array(shuffled.dropFirst())])
        case .minorityThird:
            // The largest size strictly below n/3 (0 for three nodes or fewer: nothing to cut).
            let k = (n - 1) / 3
            return Self.cut([Array(shuffled.prefix(k)), Array(shuffled.dropFirst(k))])
        case .majority:
            let k = n / 2
            return Self.cut([Array(shuffled.prefix(k)), Array(shuffled.dropFirst(k))])
        case .majoritiesRing:
            // Around a shuffled ring, each window of m = majority consecutive nodes is what its
            // middle node hears; it drops everything from outside the window. For odd m (5 or 25
            // nodes) the grudge is symmetric; for even m it is one-sided, exactly as in Jepsen.
            let m = n / 2 + 1
            var pairs = Set<SimNetwork.Pair>()
            for start in 0..<n {
                let window = (0..<m).map { shuffled[(start + $0) % n] }
                let receiver = window[m / 2]
                for sender in nodes where !window.contains(sender) {
                    pairs.insert(SimNetwork.Pair(receiver: receiver, sender: sender))
                }
            }
            return pairs
        }
    }

    /// Clean bidirectional cut between groups.
    static func cut(_ groups: [[String]]) -> Set<SimNetwork.Pair> {
        var pairs = Set<SimNetwork.Pair>()
        for (i, a) in groups.enumerated() {
            for (j, b) in groups.enumerated() where i != j {
                for r in a { for s in b { pairs.insert(SimNetwork.Pair(receiver: r, sender: s)) } }
            }
        }
        return pairs
    }

    /// A clean cut as its groups, e.g. "[n3] | [n0 n1 n2 n4]"; otherwise (majorities-ring, a
    /// one-sided grudge) who drops whom, e.g. "n0-x-{n2,n3} …". For the nemesis log.
    static func describe(_ pairs: Set<SimNetwork.Pair>, nodes: [String]) -> String {
        guard !pairs.isEmpty else { return "no-op" }
        let hears = nodes.map { r in nodes.filter { !pairs.contains(SimNetwork.Pair(receiver: r, sender: $0)) } }
        var groups: [[String]] = []
        for group in hears where !groups.contains(group) { groups.append(group) }
        let clean = groups.reduce(0) { $0 + $1.count } == nodes.count
            && zip(nodes, hears).allSatisfy { node, group in group.allSatisfy { hears[nodes.firstIndex(of: $0)!] == group } && group.contains(node) }
        if clean { return groups.map { "[" + $0.joined(separator: " ") + "]" }.joined(separator: " | ") }
        return zip(nodes, hears).compactMap { node, group in
            let dropped = nodes.filter { !group.contains($0) }
            return dropped.isEmpty ? nil : "\(node)-x-{\(dropped.joined(separator: ","))}"
        }.joined(separator: " ")
    }
}

/// One nemesis action as it happened (Jepsen records these as :nemesis ops).
public struct NemesisEvent: Sendable {
    public enum Action: String, Sendable {
        case startPartition = "start-partition", stopPartition = "stop-partition"
        case kill, start, pause, resume

        /// Whether this action opens a fault window (closed by its counterpart).
        public var opensFault: Bool { self == .startPartition || self == .kill || self == .pause }
    }
    public let time: Micros
    public let action: Action
    public let shape: PartitionShape?
    /// Partitions: the groups as seen by each receiver (empty for a heal). Process faults: the
    /// nodes targeted, e.g. "n0 n3".
    public let detail: String
    /// Process faults: how the targets were drawn (`ProcessTarget`, "all" for start and resume).
    public let target: ProcessTarget?
    /// Process faults: the nodes targeted (kill, pause) or actually restarted or resumed (start, resume).
    public let nodes: [String]

    public init(time: Micros, action: Action, shape: PartitionShape?, detail: String,
                target: ProcessTarget? = nil, nodes: [String] = []) {
        self.time = time
        self.action = action
        self.shape = shape
        self.detail = detail
        self.target = target
        self.nodes = nodes
    }

    /// The nemesis log line, e.g. "start-partition one  [n3] | [n0 n1 n2]" or "kill majority  n0 n2".
    public var summary: String {
        switch action {
        case .startPartition: return "start-partition \(shape?.rawValue ?? "")  \(detail)"
        case .stopPartition: return "stop-partition"
        case .kill, .start, .pause, .resume:
            return "\(action.rawValue) \(target?.rawValue ?? "")  \(nodes.isEmpty ? "(none)" : nodes.joined(separator: " "))"
        }
    }

    /// The op as Maelstrom's history records it: {"time": s, "f": …, "value": …}.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("time", .double(Double(time / 1000) / 1000)), ("f", .string(action.rawValue))]
        switch action {
        case .startPartition: members.append(("value", .string((shape?.rawValue ?? "") + " " + detail)))
        case .stopPartition: members.append(("value", .null))
        case .kill, .start, .pause, .resume:
            members.append(("target", .string(target?.rawValue ?? "")))
            members.append(("value", .array(nodes.map { .string($0) })))
        }
        return .object(members)
    }
}

/// Maelstrom's partition nemesis: alternates start/heal, separated by uniform [0, 2×interval]
/// gaps (Jepsen's stagger: the first action at the start of the test), for as long as the main
/// phase runs. A new shape is drawn at random for every start.
final class PartitionNemesis {
    private let cluster: Cluster
    private let interval: Micros
    private var rng: SimRandom
    private let stopAt: Micros
    private var partitioned = false
    private(set) var events: [NemesisEvent] = []

    init(cluster: Cluster, interval: Micros, stopAt: Micros, rng: SimRandom) {
        self.cluster = cluster
        self.interval = interval
        self.stopAt = stopAt
        self.rng = rng
    }

    func start() { cluster.events.schedule(at: cluster.now) { [self] in step() } }

    private func step() {
        guard cluster.now < stopAt else { return }
        if partitioned {
            heal()
        } else {
            let shape = PartitionShape.allCases[rng.int(0...PartitionShape.allCases.count - 1)]
            let pairs = shape.grudge(nodes: cluster.nodeIDs, rng: &rng)
            cluster.network.block(pairs)
            partitioned = true
            events.append(NemesisEvent(time: cluster.now, action: .startPartition, shape: shape,
                                       detail: PartitionShape.describe(pairs, nodes: cluster.nodeIDs)))
        }
        let gap = Micros(rng.unit() * Double(2 * interval))
        cluster.events.schedule(after: gap) { [self] in step() }
    }

    /// Heals the network (also the final generator's `stop-partition` before the recovery wait).
    func heal() {
        cluster.network.heal()
        if partitioned {
            events.append(NemesisEvent(time: cluster.now, action: .stopPartition, shape: nil, detail: ""))
        }
        partitioned = false
    }
}
