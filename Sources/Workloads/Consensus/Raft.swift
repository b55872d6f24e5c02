import EVCore

/// The driver of `RaftCore` on a node: decodes the four Raft messages, feeds the core its inputs
/// with the node's clock, and carries out its effects (sends, the durable store, applying entries,
/// read indices), with one tick timer and the coalescing window.
public final class Raft {
    public typealias Config = RaftCore.Config

    /// The role's name (the core's `Role` carries each role's data).
    public enum Role: String, Sendable { case follower, preCandidate = "pre-candidate", candidate, leader }

    public private(set) var core: RaftCore

    /// Applies a committed entry to the state machine, once per entry, in log order.
    public var apply: (RaftEntry) -> Void = { _ in }
    /// A read of this node (by its request number) may be served once the state reaches `index`.
    public var readIndexReady: (_ seq: Int, _ index: Int) -> Void = { _, _ in }

    private unowned let node: Node
    private let prefix: String
    /// The last index handed to `apply` (the core's `lastApplied` runs ahead while its effects are
    /// carried out).
    public private(set) var lastApplied = 0
    private var appliedWaiters: [(index: Int, action: () -> Void)] = []
    private var flushArmed = false
    /// Durable mode: the store, and whether it is still replaying (nothing is sent or answered).
    private var store: DurableLog<RaftRecord>?
    private var recovering = false

    public init(node: Node, prefix: String, config: Config, durability: DurabilityConfig = DurabilityConfig()) {
        self.node = node
        self.prefix = prefix
        core = RaftCore(me: node.index, clusterSize: max(node.nodeIDs.count, 1), config: config,
                        durable: durability.enabled, incarnation: Int(node.wallClock), now: node.now)
        store = DurableLog.open(node: node, name: prefix, config: durability, everyNode: false) { [weak self] records in
            self?.restore(records)
        }
        store?.snapshot = { [unowned self] in self.core.snapshotRecords }
        recovering = store != nil
        if !recovering { start() }
    }

    // MARK: views

    public var role: Role {
        switch core.role {
        case .follower: .follower
        case .preCandidate: .preCandidate
        case .candidate: .candidate
        case .leader: .leader
        }
    }
    public var term: Int { core.term }
    public var leader: Int? { core.leader }
    public var commitIndex: Int { core.commitIndex }
    public var lastLogIndex: Int { core.lastLogIndex }
    public func logEntry(at index: Int) -> RaftEntry? { core.logEntry(at: index) }
    public var vote: Int? { core.votedFor }
    /// A process restarted without its log and vote (see `RaftCore.amnesiac`).
    public var amnesiac: Bool {
        get { core.amnesiac }
        set { core.amnesiac = newValue }
    }

    // MARK: inputs

    /// Handles one of the four Raft messages from a peer. Throws for a malformed one.
    public func receive(_ m: Message) throws {
        guard !recovering else { return } // its senders repeat themselves on their timers
        guard let from = node.nodeIDs.firstIndex(of: m.src), from != core.me else {
            throw ProtocolError.notSupported("\(m.type) from \(m.src), which is not a peer")
        }
        guard m.type.hasPrefix(prefix + "_"), let kind = RaftMessage.Kind(rawValue: String(m.type.dropFirst(prefix.count + 1))) else {
            throw ProtocolError.notSupported("\(m.type) is not a Raft message")
        }
        let message = try RaftMessage(kind, body: m.body)
        run(core.step(message, from: from, now: node.now))
    }

    /// Appends `command` (the leader) or gathers it for the leader (anyone else).
    public func submit(seq: Int, _ command: JSONValue) { run(core.submit(seq: seq, command, now: node.now)) }

    /// Asks for the read index of read `seq`; `readIndexReady` gets it.
    public func read(seq: Int) { run(core.read(seq: seq, now: node.now)) }

    /// Takes request `seq` back if it has not left this node (see `RaftCore.withdraw`).
    public func withdraw(seq: Int) -> Bool { core.withdraw(seq: seq) }

    /// Runs `action` once this node has applied the entry at `index`.
    public func afterApplied(_ index: Int, _ action: @escaping () -> Void) {
        if lastApplied >= index { action() } else { appliedWaiters.append((index, action)) }
    }

    // MARK: the driver

    private func restore(_ records: [RaftRecord]) {
        if !core.restore(records) {
            node.logger.error("a stored Raft entry leaves a gap after \(core.lastLogIndex); later records skipped")
        }
        recovering = false
        node.logger.info("recovered term \(core.term), \(core.lastLogIndex) log entries")
        start()
    }

    private func start() {
        run(core.start(now: node.now))
        scheduleTick()
    }

    /// One timer chain; it ends with this object (a re-init replaces the workload).
    private func scheduleTick() {
        node.after(core.config.tickInterval) { [weak self] in
            guard let self else { return }
            self.run(self.core.tick(now: self.node.now))
            self.scheduleTick()
        }
    }

    /// Carries out `effects`, then sends what became ready: at once, or after the window.
    private func run(_ effects: [RaftCore.Effect]) {
        for e in effects { perform(e) }
        guard core.wantsFlush(now: node.now), !flushArmed else { return }
        if core.config.window <= 0 { return flush() }
        flushArmed = true
        node.after(core.config.window) { [weak self] in
            guard let self else { return }
            self.flushArmed = false
            self.flush()
        }
    }

    private func flush() {
        for e in core.flush(now: node.now) { perform(e) }
    }

    private func perform(_ effect: RaftCore.Effect) {
        switch effect {
        case .send(let to, let m):
            send(m, to: to)
        case .persist(let records, let token):
            guard let store else { preconditionFailure("persist outside durable mode") }
            store.store(records) { [weak self] in
                guard let self else { return }
                self.run(self.core.stored(token, now: self.node.now))
            }
        case .sendAfterPersist(let to, let m):
            guard let store else { preconditionFailure("persist outside durable mode") }
            store.afterStored { [weak self] in self?.send(m, to: to) }
        case .apply(let index, let entry):
            assert(index == lastApplied + 1, "entry \(index) applied after \(lastApplied)")
            lastApplied = index
            apply(entry)
            runAppliedWaiters(through: index)
        case .readReady(let seq, let index):
            readIndexReady(seq, index)
        }
    }

    private func send(_ m: RaftMessage, to peer: Int) {
        let prefix = prefix
        node.send(to: node.nodeIDs[peer]) { w in m.write(into: &w, prefix: prefix) }
    }

    private func runAppliedWaiters(through index: Int) {
        guard appliedWaiters.contains(where: { $0.index <= index }) else { return }
        let due = appliedWaiters.filter { $0.index <= index }
        appliedWaiters.removeAll { $0.index <= index }
        for w in due { w.action() }
    }
}
