import EVCore

/// Challenge 1: return the `echo` value unchanged, whatever JSON it is.
public final class Echo: Workload {
    public static let messageTypes = ["echo"]
    private unowned let node: Node

    public init(node: Node, config: WorkloadConfig) { self.node = node }

    public func handle(_ m: Message) {
        guard let req = m.request else { return }
        let value = m.body["echo"]
        guard value.exists else {
            node.replyError(to: req, code: .malformedRequest, text: "echo needs an 'echo' field")
            return
        }
        node.reply(to: req) { w in
            w.field("type", "echo_ok")
            w.field("echo", value)
        }
    }
}
