import EVCore
import Logging

/// A node process in the simulator: the real `Node` running a handler, with the virtual clock and
/// network as its transport. One SimNode is one process: a kill ends it for good (`Cluster.start`
/// builds a new one under the same id); a pause stops it until `resume`.
public final class SimNode: Transport, Endpoint {
    public let id: String
    /// Whatever handler the cluster was built with (evnode's `Router` in the model layer).
    public let handler: MessageHandler
    public private(set) var node: Node!
    private unowned let network: SimNetwork
    private var events: EventQueue { network.events }
    private let wallClockOrigin: Micros
    private var wakeAt: Micros?

    /// False once killed: no handler or timer of this process ever runs again.
    public private(set) var isAlive = true
    /// SIGSTOP'd: messages wait in `backlog` and timers wait until `resume`.
    public private(set) var isPaused = false
    /// Not scheduled by the host (start skew: right after its first `init`): stopped like a pause,
    /// but not a fault. It runs again when neither this nor `isPaused` holds.
    public private(set) var isStalled = false
    /// Set by the cluster before the process's `init` arrives: once the node has handled it (and
    /// answered init_ok) the process stalls for this long (`ClusterSettings.startSkew`).
    var stallAfterInit: Micros?
    /// Neither dead, nor paused, nor stalled: handlers and timers run.
    private var isRunning: Bool { isAlive && !isPaused && !isStalled }
    /// Messages that reached the process's stdin while it was paused, with their arrival time.
    private var backlog: [(arrivedAt: Micros, message: SimMessage)] = []
    /// Messages delivered to the handler and timer batches run, for tests of the fault model.
    public private(set) var delivered = 0, timerRuns = 0
    /// Called after each message and each timer run this process handles (the simulator reads
    /// node state through it; nothing in the node knows).
    var afterEvent: ((SimNode) -> Void)?

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
    /// Global virtual time past the origin: a later process of the same node always reads a later
    /// wall clock than its predecessor did (evnode uses it as the incarnation).
    public var wallClock: Micros { wallClockOrigin + events.now }

    public func transmit(dest: String, line: UnsafeRawBufferPointer) {
        guard isAlive else { return }
        network.send(from: id, to: dest, line: line)
    }

    public func deliver(_ message: SimMessage) {
        guard isAlive else { return }
        if !isRunning { return backlog.append((events.now, message)) }
        handle(message)
    }

    /// Hands one message to the node; the first `init` it handles may start the start-skew stall.
    private func handle(_ message: SimMessage) {
        delivered += 1
        message.line.withUnsafeBytes { node.receive(line: $0) }
        afterEvent?(self)
        if let stall = stallAfterInit, node.isInitialized {
            stallAfterInit = nil
            if stall > 0 { self.stall(for: stall) }
        }
    }

    /// The host does not schedule the process for `duration` (see `isStalled`).
    private func stall(for duration: Micros) {
        isStalled = true
        wakeAt = nil
        events.schedule(after: duration) { [weak self] in
            guard let self, self.isAlive, self.isStalled else { return }
            self.isStalled = false
            self.runBacklog()
        }
    }

    /// Keeps one wake-up event scheduled at the node's earliest timer deadline.
    public func timersChanged() {
        guard isRunning, let deadline = node.nextDeadline else { return }
        if let wakeAt, wakeAt <= deadline { return }
        wakeAt = deadline
        events.schedule(at: deadline) { [weak self] in
            guard let self, self.wakeAt == deadline else { return } // superseded by an earlier wake-up
            self.wakeAt = nil
            guard self.isRunning else { return } // resume re-arms
            self.timerRuns += 1
            self.node.fireTimers()
            self.afterEvent?(self)
            self.timersChanged()
        }
    }

    // MARK: process faults (reference §5.5)

    /// SIGKILL: the process and its state are gone. Its pending timers never fire; the network
    /// keeps the id but never delivers to it again (`SimNetwork.kill`).
    func kill() {
        guard isAlive else { return }
        isAlive = false
        isPaused = false
        isStalled = false
        backlog.removeAll()
        wakeAt = nil
        node = nil // drops the Node, its timers and (with this object) the handler
    }

    /// SIGSTOP: nothing of the process runs until `resume`.
    func pause() {
        guard isAlive else { return }
        isPaused = true
        wakeAt = nil // a wake-up that comes due while paused does nothing
    }

    /// SIGCONT at the current virtual time: the process wakes with a full stdin pipe and overdue
    /// timers, its clock already at `now`. The backlog and the overdue timers run in the order of
    /// their virtual times (arrival, deadline); overdue timers run as one batch at the earliest
    /// overdue deadline, as one event-loop iteration runs every expired timer (`Node.fireTimers`).
    /// On a tie a message goes first: it was in the pipe when the timer came due.
    /// A process that is also stalled (start skew) stays stopped until its stall ends.
    func resume() {
        guard isAlive, isPaused else { return }
        isPaused = false
        runBacklog()
    }

    /// Runs what waited while the process was stopped (see `resume`), unless it is still stopped.
    private func runBacklog() {
        guard isRunning else { return }
        var pending = backlog[...]
        backlog.removeAll()
        while isRunning {
            let due = node.nextDeadline.flatMap { $0 <= now ? $0 : nil }
            if let due, pending.first.map({ due < $0.arrivedAt }) ?? true {
                timerRuns += 1
                node.fireTimers()
                afterEvent?(self)
                continue
            }
            guard let next = pending.popFirst() else { break }
            handle(next.message)
        }
        // Stopped again (a stall after a backlogged init): the rest waits, in order.
        if isAlive, !pending.isEmpty { backlog.insert(contentsOf: pending, at: 0) }
        timersChanged()
    }

    /// Messages waiting in the stdin of a paused process.
    public var backlogCount: Int { backlog.count }
}
