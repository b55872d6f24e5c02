import EVCore
import Maelstrom

/// Challenge 1: return the `echo` value unchanged, whatever JSON it is. Written with the
/// library's requests (`Maelstrom.Request`), as a user's echo node is.
public extension WorkloadKind { static let echo = WorkloadKind("echo") }

public final class Echo: Workload {
    public static let kind = WorkloadKind.echo
    public static let handlers = Handlers<Echo> { h in
        h.on("echo", example: ["echo": "Please echo 35"]) { e, m in try e.echo(Request(m, node: e.node)) }
    }

    /// Stateless: a restart changes no answer.
    public static let needsStartRecord = false
    private unowned let node: Node

    public init(node: Node, config: WorkloadConfig) { self.node = node }

    private func echo(_ req: Request) throws {
        let value = try req.require("echo")
        req.reply("echo_ok") { $0.field("echo", value) }
    }
}
