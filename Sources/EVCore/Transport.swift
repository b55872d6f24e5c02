/// What a `Node` needs from the world around it. The libev loop (EVLoop) implements it for the
/// real process; the simulator's `SimNode` (EVSimCore) with a virtual clock and network.
public protocol Transport: AnyObject {
    /// Monotonic clock in microseconds.
    var now: Micros { get }
    /// Wall-clock time in microseconds since the Unix epoch (virtual in the simulator, so runs
    /// stay reproducible).
    var wallClock: Micros { get }
    /// Queues one complete protocol line (JSON object plus "\n") addressed to `dest`.
    /// The bytes are only valid during the call.
    func transmit(dest: String, line: UnsafeRawBufferPointer)
    /// The node's earliest timer deadline may have changed; the transport should call
    /// `Node.fireTimers()` once `now` reaches `Node.nextDeadline`.
    func timersChanged()
    /// True while queued output is over the transport's cap: timer-driven peer traffic should
    /// wait (client replies are still queued, in order).
    var outputCongested: Bool { get }
}

public extension Transport {
    var outputCongested: Bool { false }
}

/// Receives every decoded message that is not a reply to one of the node's own RPCs.
/// The workloads' router implements it.
public protocol MessageHandler: AnyObject {
    /// Called once, right after `init` was accepted and before `init_ok` is sent.
    func nodeDidInit(_ node: Node)
    func handle(_ message: Message, node: Node)
}
