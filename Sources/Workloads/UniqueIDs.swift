import EVCore
import Maelstrom

/// Challenge 2: ids made locally, with no messages, so they stay available under partitions.
/// An id is "<node>-<epoch>-<counter>": the node id makes nodes disjoint, the epoch (wall-clock
/// microseconds when this process started the workload, base 36) makes a restarted node or
/// cluster disjoint from the process before, and the counter makes ids from one process distinct.
public extension WorkloadKind { static let uniqueIDs = WorkloadKind("unique-ids") }

public final class UniqueIDs: Workload {
    public static let kind = WorkloadKind.uniqueIDs
    public static let handlers = Handlers<UniqueIDs> { h in
        h.on("generate", example: [:]) { u, m in u.generate(Request(m, node: u.node)) }
    }

    /// Stateless: a restart changes no answer.
    public static let needsStartRecord = false
    private unowned let node: Node
    private let prefix: String
    private var counter = 0

    public init(node: Node, config: WorkloadConfig) {
        self.node = node
        prefix = "\(node.id)-\(String(node.wallClock, radix: 36))-"
    }

    private func generate(_ req: Request) {
        counter += 1
        let id = prefix + String(counter, radix: 36)
        req.reply("generate_ok") { $0.field("id", id) }
    }
}
