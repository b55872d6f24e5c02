import EVCore
import Workloads

// A workload added outside evnode, the way docs/adding-a-workload.md says: this one file holds its
// name, its handlers (with an example body per route) and its state; `Tally.descriptor` is the one
// thing a node or the simulator is given. It is stateful, so it runs only once its start record is
// stored, as every stateful workload does.

public extension WorkloadKind { static let tally = WorkloadKind("tally") }

/// `tally` adds `n` to this node's running total and answers the total after it; `tally_read`
/// answers it. Per node only (no replication): a small workload with a checkable promise.
public final class Tally: Workload {
    public static let kind = WorkloadKind.tally
    public static let descriptor = WorkloadDescriptor(Tally.self)

    public static let handlers = Handlers<Tally> { h in
        h.on("tally", example: ["n": 2]) { t, m in try t.tally(m) }
        h.on("tally_read", example: [:]) { t, m in try t.read(m) }
    }

    private unowned let node: Node
    private var total = 0

    public init(node: Node, config: WorkloadConfig) { self.node = node }

    private func tally(_ m: Message) throws {
        let req = try m.requireRequest()
        let n = try m.count("n")
        guard n <= 1_000_000 else { throw ProtocolError.malformed("tally's n must be at most 1000000") }
        total += n
        let total = self.total
        node.reply(to: req) { w in
            w.field("type", "tally_ok")
            w.field("total", total)
        }
    }

    private func read(_ m: Message) throws {
        let req = try m.requireRequest()
        let total = self.total
        node.reply(to: req) { w in
            w.field("type", "tally_read_ok")
            w.field("total", total)
        }
    }
}
