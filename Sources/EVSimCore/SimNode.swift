import EVCore
import Logging

/// A node process in the simulator: the real `Node` running a handler, with the virtual clock and
/// network as its transport.
public final class SimNode: Transport, Endpoint {
    public let id: String
    /// Whatever handler the cluster was built with (evnode's `Router` in the model layer).
    public let handler: MessageHandler
    public private(set) var node: Node!
    private unowned let network: SimNetwork
    private var events: EventQueue { network.events }
    private let wallClockOrigin: Micros
    private var wakeAt: Micros?

    public init(id: String, network: SimNetwork, handler: MessageHandler, wallClockOrigin: Micros, logger: Logger) {
        self.id = id
        self.network = network
        self.handler = handler
        self.wallClockOrigin = wallClockOrigin
        var nodeLogger = logger
        nodeLogger[metadataKey: "node"] = "\(id)"
        node = Node(transport: self, handler: handler, logger: nodeLogger)
    }

    public var now: Micros { events.now }
    public var wallClock: Micros { wallClockOrigin + events.now }

    public func transmit(dest: String, line: UnsafeRawBufferPointer) {
        network.send(from: id, to: dest, line: line)
    }

    public func deliver(_ message: SimMessage) {
        message.line.withUnsafeBytes { node.receive(line: $0) }
    }

    /// Keeps one wake-up event scheduled at the node's earliest timer deadline.
    public func timersChanged() {
        guard let deadline = node.nextDeadline else { return }
        if let wakeAt, wakeAt <= deadline { return }
        wakeAt = deadline
        events.schedule(at: deadline) { [weak self] in
            guard let self, self.wakeAt == deadline else { return } // superseded by an earlier wake-up
            self.wakeAt = nil
            self.node.fireTimers()
            self.timersChanged()
        }
    }
}
