import EVCore

/// Not built yet: answers not-supported until its issue lands.
public final class Txn: Workload {
    public static let messageTypes = ["txn"]
    public struct Config: Sendable { public init() {} }
    private unowned let node: Node

    public init(node: Node, config: WorkloadConfig) { self.node = node }

    public func handle(_ m: Message) {
        guard let req = m.request else { return }
        node.replyError(to: req, code: .notSupported, text: "\(m.type) is not implemented yet")
    }
}
