import EVCore

/// A workload's handler. One instance per node, created when the first message of the workload
/// arrives. It talks only to `Node` (send, reply, RPC, timers), never to libev.
public protocol Workload: AnyObject {
    /// Client request types and internal peer message types this workload handles.
    static var messageTypes: [String] { get }
    init(node: Node, config: WorkloadConfig)
    func handle(_ message: Message)
}

/// The workloads of the Gossip Glomers challenges.
public enum WorkloadKind: String, CaseIterable, Sendable {
    case echo
    case uniqueIDs = "unique-ids"
    case broadcast
    case gCounter = "g-counter"
    case kafka
    case txn = "txn-rw-register"

    var type: Workload.Type {
        switch self {
        case .echo: return Echo.self
        case .uniqueIDs: return UniqueIDs.self
        case .broadcast: return Broadcast.self
        case .gCounter: return GCounter.self
        case .kafka: return Kafka.self
        case .txn: return Txn.self
        }
    }
}

/// Tunables, one struct per workload. The defaults are what evnode runs with; the simulator
/// changes them only to measure trade-offs.
public struct WorkloadConfig: Sendable {
    public var broadcast = Broadcast.Config()
    public var gCounter = GCounter.Config()
    public var kafka = Kafka.Config()
    public var txn = Txn.Config()
    public init() {}
}
