import EVCore

/// Routes each message to its workload by type, creating the workload on first use.
/// `read` is the one type two workloads share (broadcast and g-counter): it goes to broadcast
/// once the node has seen `topology` or a broadcast message, otherwise to g-counter.
public final class Router: MessageHandler {
    public let forced: WorkloadKind?
    public let config: WorkloadConfig
    public private(set) var active: [WorkloadKind: Workload] = [:]
    private unowned var node: Node!
    /// The last route taken. Streams are long runs of one type, so this saves two dictionary
    /// lookups per message; it is dropped whenever `active` changes, the only thing a route
    /// depends on besides the type.
    private var lastRoute: (type: String, workload: Workload)?

    private static let owners: [String: WorkloadKind] = {
        var table: [String: WorkloadKind] = [:]
        for kind in WorkloadKind.allCases {
            for type in kind.type.messageTypes where type != "read" {
                precondition(table[type] == nil, "message type \(type) claimed by two workloads")
                table[type] = kind
            }
        }
        return table
    }()

    public init(forced: WorkloadKind? = nil, config: WorkloadConfig = WorkloadConfig()) {
        self.forced = forced
        self.config = config
    }

    public func nodeDidInit(_ node: Node) {
        self.node = node
        active.removeAll() // a re-init starts from scratch
        lastRoute = nil
    }

    public func handle(_ message: Message, node: Node) {
        if let route = lastRoute, route.type == message.type {
            route.workload.handle(message)
            return
        }
        self.node = node
        guard let kind = owner(of: message.type) else {
            node.logger.warning("unsupported message type '\(message.type)' from \(message.src)")
            if let req = message.request {
                node.replyError(to: req, code: .notSupported, text: "unsupported message type '\(message.type)'")
            }
            return
        }
        let target = workload(kind)
        lastRoute = (message.type, target)
        target.handle(message)
    }

    /// The instance of `kind` on this node, created if needed.
    public func workload(_ kind: WorkloadKind) -> Workload {
        if let w = active[kind] { return w }
        let w = kind.type.init(node: node, config: config)
        active[kind] = w
        lastRoute = nil
        return w
    }

    private func owner(of type: String) -> WorkloadKind? {
        if type == "read" {
            if let forced, forced.type.messageTypes.contains("read") { return forced }
            return active[.broadcast] != nil ? .broadcast : .gCounter
        }
        guard let kind = Self.owners[type] else { return nil }
        if let forced, kind != forced { return nil }
        return kind
    }
}
