import EVCore

/// Routes each message to its workload by type, creating the workload on first use. The routing
/// table is built from every workload's `handlers`, so a type is declared in one place.
///
/// A type served by several workloads (`read`: broadcast and g-counter) goes to the first of them
/// (in `WorkloadKind` order) that is active; if none is, to the first that may open on it.
/// A handler's thrown `ProtocolError` becomes the error reply; it is logged once per sender, type
/// and code (then at debug level), so a flood of bad messages cannot flood stderr.
///
/// Restarts (docs/faults.md): a process started after a kill gets only `init`, not the messages
/// that told its predecessor its workload. So the first node writes its workload's name to lin-kv
/// (`evnode/workload`) when the workload starts, and every node reads it at init: found means this
/// process replaces an earlier one, which starts the workload at once and announces itself to its
/// peers (`Workload.joined(restarted:)`, which every workload gets once the answer is known).
/// Until the read is answered, a `read` (ambiguous between broadcast and g-counter) is held and
/// handled once it is. Cost: one lin-kv round trip per node per start, and one write per cluster.
public final class Router: MessageHandler {
    public let forced: WorkloadKind?
    public let config: WorkloadConfig
    public private(set) var active: [WorkloadKind: any Workload] = [:]
    private unowned var node: Node!
    /// Nodes of the cluster other than this one: the only senders of peer-only types.
    private var peers: Set<String> = []
    /// The last route taken. Streams are long runs of one type, so this saves the table lookup
    /// per message; it is dropped whenever `active` changes, the only thing a route depends on
    /// besides the type.
    private var lastRoute: BoundRoute?
    private var logged: Set<String> = []
    private var registry = Registry.unread
    private var registryWritten = false
    /// Ambiguous messages that came while the registry read was out, as lines to handle after it.
    private var held: [String] = []
    /// Workloads told whether this process is a restart.
    private var joined: Set<WorkloadKind> = []
    private enum Registry { case unread, reading, missing, found }
    static let registryKey: JSONValue = "evnode/workload"

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

    /// Every route, by type, in `WorkloadKind` order.
    private static let table: [String: [AnyRoute]] = {
        var table: [String: [AnyRoute]] = [:]
        for kind in WorkloadKind.allCases {
            for route in kind.routes { table[route.type, default: []].append(route) }
        }
        return table
    }()

    /// Every message type some workload serves (for tests, the fuzzer and docs).
    public static var messageTypes: [String] { table.keys.sorted() }

    public init(forced: WorkloadKind? = nil, config: WorkloadConfig = WorkloadConfig()) {
        self.forced = forced
        self.config = config
    }

    public func nodeDidInit(_ node: Node) {
        self.node = node
        peers = Set(node.peers)
        active.removeAll() // a re-init starts from scratch
        joined.removeAll()
        registryWritten = false
        lastRoute = nil
        registry = .reading
        node.after(0) { [weak self] in self?.readRegistry() } // after init_ok
    }

    private func readRegistry() {
        KVClient(node: node, service: KVClient.linKV).read(Self.registryKey) { [weak self] result in
            guard let self else { return }
            defer {
                self.tellJoined()
                self.handleHeld()
            }
            switch result {
            case .ok(let value):
                self.registry = .found
                guard let kind = self.forced ?? value?.string.flatMap(WorkloadKind.init(rawValue:)) else { return }
                self.node.logger.notice("\(kind.rawValue) ran here before this process: rejoining")
                _ = self.workload(kind)
            case .error(let code, _) where code == ErrorCode.keyDoesNotExist.rawValue:
                self.registry = .missing
                if let first = self.active.keys.first { self.writeRegistry(first) }
            default:
                self.registry = .missing // unknown: behave as a fresh cluster
            }
        }
    }

    /// Feeds the held lines to the node again, once this callback has returned.
    private func handleHeld() {
        guard !held.isEmpty else { return }
        let lines = held
        held.removeAll()
        node.after(0) { [weak self] in
            guard let node = self?.node else { return }
            for var line in lines { line.withUTF8 { node.receive(line: UnsafeRawBufferPointer($0)) } }
        }
    }

    /// Tells each active workload, once, whether this process is a restart (registry found).
    private func tellJoined() {
        guard registry == .found || registry == .missing else { return }
        for kind in WorkloadKind.allCases where active[kind] != nil && !joined.contains(kind) {
            joined.insert(kind)
            active[kind]!.joined(restarted: registry == .found)
        }
    }

    /// The first node names the cluster's workload, once, for processes started after a kill.
    private func writeRegistry(_ kind: WorkloadKind) {
        guard registry == .missing, !registryWritten, node.id == node.nodeIDs.first else { return }
        registryWritten = true
        KVClient(node: node, service: KVClient.linKV).write(Self.registryKey, .string(kind.rawValue)) { _ in }
    }

    public func handle(_ message: Message, node: Node) {
        if let bound = lastRoute, bound.type == message.type {
            run(bound, message)
            return
        }
        self.node = node
        guard let route = route(for: message.type) else {
            if isAmbiguousForNow(message.type) {
                hold(message)
            } else {
                fail(message, .notSupported("unsupported message type '\(message.type)'"))
            }
            return
        }
        let bound = BoundRoute(type: message.type, route: route, workload: workload(route.kind))
        lastRoute = bound
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
        if let w = active[kind] { return w }
        let make = Self.table.values.lazy.flatMap { $0 }.first { $0.kind == kind }!.make
        let w = make(node, config)
        active[kind] = w
        lastRoute = nil
        writeRegistry(kind)
        tellJoined()
        return w
    }

    private func route(for type: String) -> AnyRoute? {
        guard let candidates = Self.table[type] else { return nil }
        if let forced { return candidates.first { $0.kind == forced } }
        if let open = candidates.first(where: { active[$0.kind] != nil }) { return open }
        // Ambiguous with nothing active: a restarted process learns its workload from lin-kv first.
        if isAmbiguousForNow(type) { return nil }
        return candidates.first { $0.opens }
    }

    /// A type several workloads serve, none of them active, while the registry read is out.
    private func isAmbiguousForNow(_ type: String) -> Bool {
        guard forced == nil, registry == .reading, let candidates = Self.table[type], candidates.count > 1 else { return false }
        return !candidates.contains { active[$0.kind] != nil }
    }

    private func hold(_ m: Message) {
        guard held.count < 10_000 else {
            return fail(m, ProtocolError(.temporarilyUnavailable, "\(m.type): workload not known yet"))
        }
        held.append(JSONValue.object([("src", .string(m.src)), ("dest", .string(m.dest)), ("body", m.body.value ?? .null)]).text)
    }
}
