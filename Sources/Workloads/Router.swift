import EVCore

/// Routes each message to its workload, creating the workload on first use. The routing table is
/// built from every workload's `handlers`, so a type is declared in one place.
///
/// A type several workloads serve is told apart by its body (`BodyMatcher`): a workload whose
/// matcher says yes takes it; else the first running one that does not say no; else the only one
/// left. When the body cannot tell (a bare `read` of broadcast, g-set or a counter, before anything
/// of those ran here), the message is held, keeping its receipt time, until the node learns its
/// workload: from the next message that tells (a client's, or a peer's replication), or from the
/// cluster's registry in lin-kv, read once when something is held. A message held `holdLimit` is
/// refused with error 11: a g-set's and a counter's empty reads differ, so no answer fits both,
/// and a client blocked on it might be the only one that could tell (every worker's first
/// operation a read).
/// A handler's thrown `ProtocolError` becomes the error reply; it is logged once per sender, type
/// and code (then at debug level), so a flood of bad messages cannot flood stderr.
///
/// Restarts (docs/faults.md): a process started after a kill gets only `init`, not the messages
/// that told its predecessor its workload. So the workload's name is written to lin-kv
/// (`evnode/workload`, see `writeRegistry`) when it starts, and every node reads it at init: found
/// means this process replaces an earlier one, which starts the workload at once and announces
/// itself to its peers (`Workload.joined(restarted:)`, which every workload gets once the answer
/// is known). A read that fails for another reason than a missing key (a timeout, a pause) is
/// retried: guessing "fresh" would let a restarted kafka owner hand out offsets before recovering
/// them. Cost: one lin-kv round trip per node per start, and two to N writes per cluster.
public final class Router: MessageHandler {
    public let forced: WorkloadKind?
    public let config: WorkloadConfig
    public private(set) var active: [WorkloadKind: any Workload] = [:]
    private unowned var node: Node!
    /// Nodes of the cluster other than this one: the only senders of peer-only types.
    private var peers: Set<String> = []
    /// The last route taken, for types only one workload serves. Streams are long runs of one
    /// type, so this saves the table lookup per message; it is dropped whenever `active` changes.
    private var lastRoute: BoundRoute?
    private var logged: Set<String> = []
    private var registry = Registry.unread
    private var registryWritten = false
    /// Set when a message's body alone opened a workload: this node then writes the registry.
    private var announce = false
    /// Messages whose workload could not be told yet, as lines with their receipt times.
    private var held: [(line: String, receivedAt: Micros, request: RequestRef?)] = []
    private var registryPolling = false
    private var expiryArmed = false
    /// Workloads told whether this process is a restart.
    private var joined: Set<WorkloadKind> = []
    private enum Registry { case unread, reading, missing, found }
    static let registryKey: JSONValue = "evnode/workload"
    /// Wait before reading the registry again after a failed read.
    public static let registryRetry: Micros = .ms(500)
    /// Longest a message is held before it is refused.
    public static let holdLimit: Micros = .ms(500)
    /// Most messages held; beyond that they are refused with error 11.
    static let maxHeld = 10_000

    /// A route with its workload, kept as one object so the fast path retains one reference.
    private final class BoundRoute {
        let type: String
        let senders: Senders
        let run: (any Workload, Message) throws -> Void
        let workload: any Workload
        init(type: String, route: AnyRoute, workload: any Workload) {
            self.type = type
            senders = route.senders
            run = route.run
            self.workload = workload
        }
    }

    /// Every route, by type, in `WorkloadKind` order (one implementation per kind).
    private static let table: [String: [AnyRoute]] = {
        var table: [String: [AnyRoute]] = [:]
        for kind in WorkloadKind.allCases where kind.implementation == kind {
            for route in kind.routes { table[route.type, default: []].append(route) }
        }
        return table
    }()

    /// Every message type some workload serves (for tests, the fuzzer and docs).
    public static var messageTypes: [String] { table.keys.sorted() }

    public init(forced: WorkloadKind? = nil, config: WorkloadConfig = WorkloadConfig()) {
        self.forced = forced?.implementation
        self.config = config
    }

    public func nodeDidInit(_ node: Node) {
        self.node = node
        peers = Set(node.peers)
        active.removeAll() // a re-init starts from scratch
        joined.removeAll()
        registryWritten = false
        announce = false
        lastRoute = nil
        registry = .reading
        node.after(0) { [weak self] in self?.readRegistry() } // after init_ok
    }

    /// Reads the registry: the kv service's answer, and the workload it names if any.
    private func lookUpRegistry(_ done: @escaping (KVResult, WorkloadKind?) -> Void) {
        KVClient(node: node, service: KVClient.linKV).read(Self.registryKey) { result in
            guard case .ok(let value) = result else { return done(result, nil) }
            done(result, value?.string.flatMap(WorkloadKind.init(rawValue:))?.implementation)
        }
    }

    /// The init-time read: is this process a restart, and of which workload?
    private func readRegistry() {
        lookUpRegistry { [weak self] result, named in
            guard let self else { return }
            switch result {
            case .ok:
                self.registry = .found
                if let kind = self.forced ?? named {
                    self.node.logger.notice("\(kind.rawValue) ran here before this process: rejoining")
                    _ = self.workload(kind)
                }
            case .error(.keyDoesNotExist, _):
                self.registry = .missing
                if let first = self.active.keys.first { self.writeRegistry(first) }
            default:
                self.node.after(Self.registryRetry) { [weak self] in self?.readRegistry() }
                return
            }
            self.tellJoined()
            self.handleHeld()
        }
    }

    /// When a fresh process starts holding: asks the registry which workload the cluster runs
    /// (another node may have learned it).
    private func pollRegistry() {
        guard !registryPolling, registry == .missing else { return }
        registryPolling = true
        lookUpRegistry { [weak self] _, named in
            guard let self else { return }
            self.registryPolling = false
            if let named { _ = self.workload(named) }
        }
    }

    /// Feeds the held lines to the node again, once this callback has returned.
    private func handleHeld() {
        guard !held.isEmpty else { return }
        let lines = held
        held.removeAll()
        node.after(0) { [weak self] in
            guard let node = self?.node else { return }
            for h in lines { node.redeliver(line: h.line, receivedAt: h.receivedAt) }
        }
    }

    /// Refuses the messages held `holdLimit`, then waits for the next one to come due.
    private func expireHeld() {
        guard let oldest = held.first else { return }
        let due = oldest.receivedAt + Self.holdLimit
        guard node.now >= due else {
            expiryArmed = true
            node.after(due - node.now) { [weak self] in
                self?.expiryArmed = false
                self?.expireHeld()
            }
            return
        }
        let expired = Array(held.prefix { node.now >= $0.receivedAt + Self.holdLimit })
        held.removeFirst(expired.count)
        answerFromEmptyState(expired)
        expireHeld()
    }

    /// Messages held too long: if the registry still names no workload, no workload that
    /// registers before it answers (txn-list-append) has answered anything, so where every
    /// candidate would give the same reply from an empty cluster (a read-only txn: reads of null)
    /// that reply is right whichever it is. Anything else is refused with error 11.
    private func answerFromEmptyState(_ expired: [(line: String, receivedAt: Micros, request: RequestRef?)]) {
        lookUpRegistry { [weak self] result, named in
            guard let self else { return }
            if let kind = named {
                _ = self.workload(kind)
                for h in expired { self.node.redeliver(line: h.line, receivedAt: h.receivedAt) }
                return
            }
            let registryEmpty = if case .error(.keyDoesNotExist, _) = result { true } else { false }
            for h in expired {
                guard let req = h.request else { continue }
                if registryEmpty, let reply = Self.emptyStateReply(h.line) {
                    self.node.reply(to: req) { w in for (k, v) in reply.members ?? [] { w.field(k, v) } }
                } else {
                    self.node.replyError(to: req, code: .temporarilyUnavailable, text: "this node does not know its workload yet")
                }
            }
        }
    }

    /// The reply every workload serving this line's type would give from an empty cluster, if
    /// they all have one and agree.
    private static func emptyStateReply(_ line: String) -> JSONValue? {
        guard let body = JSONValue(parsing: line)?["body"], let type = body["type"]?.string,
              let candidates = table[type] else { return nil }
        let replies = candidates.map { $0.emptyStateReply?(body) }
        guard let first = replies.first ?? nil, replies.allSatisfy({ $0 == first }) else { return nil }
        return first
    }

    /// Tells each active workload, once, whether this process is a restart (registry found).
    private func tellJoined() {
        guard registry == .found || registry == .missing else { return }
        for kind in WorkloadKind.allCases where active[kind] != nil && !joined.contains(kind) {
            joined.insert(kind)
            active[kind]!.joined(restarted: registry == .found)
        }
    }

    /// Names the cluster's workload, once per process, for processes started after a kill and
    /// for nodes holding messages they cannot place. Written by the first two nodes (one may be
    /// cut off), and by any node whose workload only a message's body told (other nodes may be
    /// holding that workload's bare reads, and only this node knows).
    private func writeRegistry(_ kind: WorkloadKind) {
        guard registry == .missing, !registryWritten, announce || node.nodeIDs.prefix(2).contains(node.id) else { return }
        registryWritten = true
        KVClient(node: node, service: KVClient.linKV).write(Self.registryKey, .string(kind.rawValue)) { _ in }
    }

    public func handle(_ message: Message, node: Node) {
        if let bound = lastRoute, bound.type == message.type {
            run(bound, message)
            return
        }
        self.node = node
        guard let candidates = Self.table[message.type] else {
            return fail(message, .notSupported("unsupported message type '\(message.type)'"))
        }
        if let forced, !candidates.contains(where: { $0.kind == forced }) {
            return fail(message, .notSupported("\(message.type) is not a \(forced.rawValue) message"))
        }
        guard let (route, toldByBody) = route(among: candidates, for: message) else { return hold(message) }
        if toldByBody && active[route.kind] == nil { announce = true }
        let bound = BoundRoute(type: message.type, route: route, workload: workload(route.kind))
        if candidates.count == 1 { lastRoute = bound }
        run(bound, message)
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
            fail(message, ProtocolError(.crash, "\(error)"))
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

    /// The instance of `kind` on this node, created if needed.
    public func workload(_ kind: WorkloadKind) -> any Workload {
        let kind = kind.implementation
        if let w = active[kind] { return w }
        let make = Self.table.values.lazy.flatMap { $0 }.first { $0.kind == kind }!.make
        let w = make(node, config)
        active[kind] = w
        lastRoute = nil
        writeRegistry(kind)
        tellJoined()
        handleHeld()
        return w
    }

    /// The route `m` takes and whether only its body told it apart from other workloads' routes,
    /// or nil when its workload cannot be told yet (see the type's comment).
    private func route(among candidates: [AnyRoute], for m: Message) -> (AnyRoute, toldByBody: Bool)? {
        if let forced { return candidates.first { $0.kind == forced }.map { ($0, false) } }
        if candidates.count == 1 { return (candidates[0], false) }
        let verdicts = candidates.map { $0.matcher.match(m.body) }
        if let i = verdicts.firstIndex(of: .yes) { return (candidates[i], true) }
        let possible = candidates.indices.filter { verdicts[$0] != .no }.map { candidates[$0] }
        if let running = possible.first(where: { active[$0.kind] != nil }) { return (running, false) }
        if possible.count == 1 { return (possible[0], true) }
        // None fits (the first candidate's handler names what is missing), or several might.
        if possible.isEmpty { return (candidates.first { active[$0.kind] != nil } ?? candidates[0], false) }
        return nil
    }

    private func hold(_ m: Message) {
        guard held.count < Self.maxHeld else {
            return fail(m, ProtocolError(.temporarilyUnavailable, "\(m.type): workload not known yet"))
        }
        let line = JSONValue.object([("src", .string(m.src)), ("dest", .string(m.dest)), ("body", m.body.value ?? .null)]).text
        held.append((line, m.receivedAt, m.request))
        pollRegistry()
        if !expiryArmed { expireHeld() }
    }
}
