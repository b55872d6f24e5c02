import EVCore

/// Challenge 1: return the `echo` value unchanged, whatever JSON it is. It answers on EVCore's
/// `Node` directly rather than through the library's `Request` (as unique-ids does): echo is the
/// benchmark of one message's cost, and the wrapper adds about 3 % (docs/library.md).
public extension WorkloadKind { static let echo = WorkloadKind("echo") }

public final class Echo: Workload {
    public static let kind = WorkloadKind.echo
    public static let handlers = Handlers<Echo> { h in
        h.on("echo", example: ["echo": "Please echo 35"]) { e, m in try e.echo(m) }
    }

    /// Stateless: a restart changes no answer.
    public static let needsStartRecord = false
    private unowned let node: Node

    public init(node: Node, config: WorkloadConfig) { self.node = node }

    private func echo(_ m: Message) throws {
        let req = try m.requireRequest()
        let value = m.body["echo"]
        guard value.exists else { throw ProtocolError.malformed("echo needs an 'echo' field") }
        node.reply(to: req) { w in
            w.field("type", "echo_ok")
            w.field("echo", value)
        }
    }
}
