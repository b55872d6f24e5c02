import EVCore

/// The node's message handler: hands each message to its workload and opens each workload once
/// its start record is stored. It only connects three parts, each of which decides alone:
/// - `RouteTable.resolve`: which workload a message belongs to (run, hold or refuse);
/// - `StartRecord`: whether this process is a restart, and when a workload may run;
/// - `HoldQueue`: the messages that wait for either, with their receipt times.
///
/// A message waits (held) while its workload's record is not confirmed (stateless echo and
/// unique-ids keep none), or while its body fits several workloads and none runs here (a bare
/// `read`). Such a body is placed by the next message that tells, by this node's own record (a
/// restart reopens its workloads), or by the peers' records, all read when it is held; held
/// `ambiguousHoldLimit`, it gets the reply every candidate would give from an empty cluster if
/// every peer's record was read and names none of them (nothing was answered anywhere: a node
/// records a workload before it answers its first message), else error 11. A message held
/// `startHoldLimit` is refused with error 11. A handler's thrown `ProtocolError` becomes the error
/// reply; it is logged once per sender, type and code (then at debug level), so a flood of bad
/// messages cannot flood stderr.
public final class Router: MessageHandler {
    public let forced: WorkloadKind?
    public let config: WorkloadConfig
    public private(set) var active: [WorkloadKind: any Workload] = [:]
    /// `active`'s keys, kept so routing a shared type allocates nothing.
    private var activeKinds: Set<WorkloadKind> = []
    private unowned var node: Node!
    /// Nodes of the cluster other than this one: the only senders of peer-only types.
    private var peers: Set<String> = []
    /// The last route taken, for types only one workload serves. Streams are long runs of one
    /// type, so this saves the table lookup per message; it is dropped whenever `active` changes.
    private var lastRoute: BoundRoute?
    private var logged: Set<String> = []
    private var record: StartRecord!
    private var held = HoldQueue()
    private var expiryAt: Micros?
    private var polling = false
    /// Workloads whose `prepare` ran.
    private var prepared: Set<WorkloadKind> = []

    let table: RouteTable
    /// Longest a message whose body fits several workloads is held.
    public static let ambiguousHoldLimit: Micros = .ms(500)
    /// Longest a message waits for its workload's start record (lin-kv slow or unreachable).
    public static let startHoldLimit: Micros = .seconds(3)

    /// A route with its workload, kept as one object so the fast path retains one reference.
    private final class BoundRoute {
        let type: String
        let senders: Senders
        let run: (any Workload, Message) throws -> Void
        let workload: any Workload
        init(route: AnyRoute, workload: any Workload) {
            type = route.type
            senders = route.senders
            run = route.run
            self.workload = workload
        }
    }

    /// Every message type some built-in workload serves (for tests, the fuzzer and docs).
    public static var messageTypes: [String] { RouteTable.builtIn.messageTypes }

    /// - Parameters:
    ///   - forced: the only workload served (`--workload`), nil to tell each message's workload.
    ///   - workloads: what the node can run: evnode's workloads, and any added outside it.
    public init(forced: WorkloadKind? = nil, config: WorkloadConfig = WorkloadConfig(),
                workloads: [WorkloadDescriptor] = WorkloadDescriptor.builtIn) {
        self.forced = forced?.implementation
        self.config = config
        table = workloads.map(\.kind) == WorkloadDescriptor.builtIn.map(\.kind) ? RouteTable.builtIn : RouteTable(workloads)
    }

    /// Whether this process replaces one that ran here (nil until it knows: its start record was
    /// created or read).
    public var isRestart: Bool? { record?.known == true ? record.predecessor != nil : nil }

    public func nodeDidInit(_ node: Node) {
        self.node = node
        peers = Set(node.peers)
        active.removeAll() // a re-init stands for a new process: it starts from scratch
        activeKinds.removeAll()
        lastRoute = nil
        held = HoldQueue()
        expiryAt = nil
        polling = false
        record = StartRecord(nodeID: node.id, incarnation: Int(max(node.wallClock, 1)))
        step { $0.start() }
        if let forced, table.anyRoute(of: forced).needsStartRecord {
            node.after(0) { [weak self] in self?.step { $0.need(forced) } } // after init_ok
        }
    }

    // MARK: the start record's driver

    /// Runs one transition of the start record and carries out what it asks for.
    private func step(_ transition: (inout StartRecord) -> [StartRecord.Effect]) {
        let wasKnown = record.known
        let effects = transition(&record)
        if !wasKnown && record.known { logStart() }
        for effect in effects {
            switch effect {
            case .wake(let delay):
                node.after(delay) { [weak self] in self?.step { $0.lookUp() } }
            case .read(let delay):
                node.after(delay) { [weak self] in self?.readRecord() }
            case .write(let from, let to):
                KVClient(node: node, service: KVClient.linKV).cas(record.key, from: from ?? .null, to: to, createIfMissing: from == nil) { [weak self] result in
                    self?.step { $0.writeAnswered(result) }
                }
            case .recorded(let kinds):
                for kind in table.order where kinds.contains(kind) && active[kind] == nil { open(kind) }
                release()
            }
        }
    }

    private func readRecord() {
        KVClient(node: node, service: KVClient.linKV).read(record.key) { [weak self] result in
            self?.step { $0.readAnswered(result) }
        }
    }

    private func logStart() {
        guard let before = record.predecessor else { return node.logger.info("fresh start: no earlier process of \(node.id)") }
        let names = before.workloads.map(\.rawValue).sorted()
        node.logger.notice("restart: this process replaces incarnation \(before.incarnation) of \(node.id); reopening \(names.isEmpty ? "nothing" : names.joined(separator: ", "))")
    }

    /// Creates `kind`'s workload, whose record is stored (if it needs one), and tells it whether
    /// it ran here before.
    private func open(_ kind: WorkloadKind) {
        let route = table.anyRoute(of: kind)
        assert(active[kind] == nil && (record.isRecorded(kind) || !route.needsStartRecord))
        prepare(kind)
        let w = route.make(node, config)
        active[kind] = w
        activeKinds.insert(kind)
        lastRoute = nil
        w.joined(restarted: record.wasRunBefore(kind))
    }

    private func prepare(_ kind: WorkloadKind) {
        if prepared.insert(kind).inserted { table.anyRoute(of: kind).prepare(node, config) }
    }

    // MARK: routing

    public func handle(_ message: Message, node: Node) {
        if let bound = lastRoute, bound.type == message.type {
            run(bound, message)
            return
        }
        self.node = node
        switch table.resolve(type: message.type, body: message.body, active: activeKinds, forced: forced) {
        case .reject(let error):
            fail(message, error)
        case .hold(let candidates):
            hold(message, .ambiguous(candidates))
            poll(candidates)
        case .run(let route):
            prepare(route.kind)
            if active[route.kind] == nil && !route.needsStartRecord { open(route.kind) }
            guard let workload = active[route.kind] else {
                step { $0.need(route.kind) }
                return hold(message, .startRecord)
            }
            let bound = BoundRoute(route: route, workload: workload)
            if forced != nil || table.routes[message.type]!.count == 1 { lastRoute = bound }
            run(bound, message)
        }
    }

    private func run(_ bound: BoundRoute, _ message: Message) {
        if bound.senders == .peers && !peers.contains(message.src) {
            fail(message, .notSupported("\(message.type) is internal to the cluster"))
            return
        }
        do {
            try bound.run(bound.workload, message)
        } catch let error as ProtocolError {
            fail(message, error)
        } catch {
            fail(message, ProtocolError(code: .crash, text: "\(error)"))
        }
    }

    private func fail(_ m: Message, _ error: ProtocolError) {
        let key = "\(m.src) \(m.type) \(error.code.rawValue)"
        if logged.count < 10_000 && logged.insert(key).inserted {
            node.logger.warning("\(m.type) from \(m.src) refused (\(error.code.rawValue)): \(error.text) [further ones logged at debug level]")
        } else {
            node.logger.debug("\(m.type) from \(m.src) refused (\(error.code.rawValue)): \(error.text)")
        }
        if let req = m.request { node.replyError(to: req, code: error.code, text: error.text) }
    }

    // MARK: held messages

    private func hold(_ m: Message, _ reason: HoldQueue.Reason) {
        let line = JSONValue.object([("src", .string(m.src)), ("dest", .string(m.dest)), ("body", m.body.value ?? .null)]).text
        guard hold(line: line, receivedAt: m.receivedAt, request: m.request, reason: reason) else {
            return fail(m, ProtocolError(code: .temporarilyUnavailable, text: "\(m.type): too many messages waiting for their workload"))
        }
    }

    /// Holds a line until its reason's limit after its receipt; false (nothing kept) when the
    /// queue is full.
    private func hold(line: String, receivedAt: Micros, request: RequestRef?, reason: HoldQueue.Reason) -> Bool {
        let limit = reason == .startRecord ? Self.startHoldLimit : Self.ambiguousHoldLimit
        guard held.hold(HoldQueue.Held(line: line, receivedAt: receivedAt, request: request, reason: reason,
                                       deadline: receivedAt + limit)) else { return false }
        armExpiry()
        return true
    }

    /// Routes every held message again (a workload opened), in arrival order, before anything newer.
    private func release() {
        for h in held.takeAll() { node.redeliver(line: h.line, receivedAt: h.receivedAt) }
    }

    private func armExpiry() {
        guard let due = held.nextDeadline, expiryAt.map({ due < $0 }) ?? true else { return }
        expiryAt = due
        node.after(due - node.now) { [weak self] in
            guard let self, self.expiryAt == due else { return }
            self.expiryAt = nil
            self.expire()
        }
    }

    private func expire() {
        var ambiguous: [HoldQueue.Held] = []
        for h in held.takeExpired(now: node.now) {
            if case .ambiguous = h.reason {
                ambiguous.append(h)
            } else if let req = h.request {
                node.replyError(to: req, code: .temporarilyUnavailable, text: "this node's start record is not confirmed by lin-kv yet")
            }
        }
        if !ambiguous.isEmpty { answerFromEmptyState(ambiguous) }
        armExpiry()
    }

    /// Asks this process's own record (a restart reopens its workloads) and the peers' records
    /// (the workload the cluster runs) where the held body belongs, once at a time.
    private func poll(_ candidates: [WorkloadKind]) {
        step { $0.lookUp() }
        guard !polling else { return }
        polling = true
        readPeerRecords { [weak self] named, _ in
            guard let self else { return }
            self.polling = false
            if let kind = candidates.first(where: named.contains) { self.step { $0.need(kind) } }
        }
    }

    /// Messages held too long for a body that fits several workloads: routed if a peer's record
    /// names a candidate; answered as from an empty cluster if every peer's record was read and
    /// names none (no candidate answered anything anywhere); else refused with error 11.
    private func answerFromEmptyState(_ expired: [HoldQueue.Held]) {
        readPeerRecords { [weak self] named, complete in
            guard let self else { return }
            for h in expired {
                guard case .ambiguous(let candidates) = h.reason else { continue }
                if let kind = candidates.first(where: named.contains) {
                    if self.active[kind] != nil {
                        self.node.redeliver(line: h.line, receivedAt: h.receivedAt)
                    } else {
                        self.step { $0.need(kind) } // released when it is recorded
                        if !self.hold(line: h.line, receivedAt: h.receivedAt, request: h.request, reason: .startRecord), let req = h.request {
                            self.node.replyError(to: req, code: .temporarilyUnavailable, text: "too many messages waiting for their workload")
                        }
                    }
                    continue
                }
                guard let req = h.request else { continue }
                if complete, let body = JSONValue(parsing: h.line)?["body"], let type = body["type"]?.string,
                   let reply = table.emptyStateReply(type: type, body: body, candidates: candidates) {
                    self.node.reply(to: req) { w in for (k, v) in reply.members ?? [] { w.field(k, v) } }
                } else {
                    self.node.replyError(to: req, code: .temporarilyUnavailable, text: "this node does not know its workload yet")
                }
            }
        }
    }

    /// Reads every peer's start record: the workloads they name, and whether every read answered
    /// (a record or a missing key) rather than failed.
    private func readPeerRecords(_ done: @escaping (_ named: Set<WorkloadKind>, _ complete: Bool) -> Void) {
        let peers = node.peers
        guard !peers.isEmpty else { return done([], true) }
        var named: Set<WorkloadKind> = [], complete = true, waiting = peers.count
        let kv = KVClient(node: node, service: KVClient.linKV)
        for peer in peers {
            kv.read(StartRecord.key(of: peer)) { result in
                switch result {
                case .ok(let value): named.formUnion(value.flatMap(StartRecord.Content.init)?.workloads ?? [])
                case .error(.keyDoesNotExist, _): break
                default: complete = false
                }
                waiting -= 1
                if waiting == 0 { done(named, complete) }
            }
        }
    }
}
