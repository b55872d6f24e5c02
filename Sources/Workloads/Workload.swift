import EVCore

/// A workload's handler. One instance per node, created when the first message of the workload
/// arrives (once its start record is stored). It talks only to `Node` (send, reply, RPC, timers),
/// never to libev, and declares its message types once, in `handlers`. Adding one:
/// docs/adding-a-workload.md.
///
/// Closures and `self`, one rule for every workload: a closure handed to `Node` (a timer, an RPC
/// callback) captures `[weak self]`, since the node may fire it after a re-init replaced the
/// workload; a closure handed to a component the workload owns (`ReplicatedState`, `Replicator`,
/// `DurableLog`), which dies with it and never calls back after, captures `[unowned self]`.
public protocol Workload: AnyObject {
    /// Its Maelstrom name.
    static var kind: WorkloadKind { get }
    /// The message types this workload serves and what each does.
    static var handlers: Handlers<Self> { get }
    init(node: Node, config: WorkloadConfig)
    /// Whether an answer of this workload depends on what an earlier process of the node did, so
    /// that it must wait for the start record (`StartRecord`); false for stateless workloads.
    static var needsStartRecord: Bool { get }
    /// Called once, right after `init`: whether this process replaces one that ran the workload
    /// before (it was killed and started again). A restarted process announces itself to its
    /// peers, so they resend what it lost.
    func joined(restarted: Bool)
    /// Called once a message of this workload arrives, before the workload exists (it may wait
    /// for its start record): node settings its clients need from the first message on, such as
    /// how long they wait for a reply.
    static func prepare(_ node: Node, config: WorkloadConfig)
}

public extension Workload {
    static var needsStartRecord: Bool { true }
    func joined(restarted: Bool) {}
    static func prepare(_ node: Node, config: WorkloadConfig) {}
}

/// A workload's name: Maelstrom's `-w NAME`. Each workload's file declares its own
/// (`static let echo = WorkloadKind("echo")` in an extension); `WorkloadDescriptor.builtIn` lists
/// evnode's workloads.
public struct WorkloadKind: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
    public let rawValue: String

    /// A name of one's own (a workload added outside evnode).
    public init(_ name: String) { rawValue = name }

    /// A built-in workload by its Maelstrom name (an alias included), nil if evnode has none.
    public init?(rawValue: String) {
        guard WorkloadDescriptor.builtIn.contains(where: { $0.names.contains(rawValue) }) else { return nil }
        self.rawValue = rawValue
    }

    /// The kind that runs this one's implementation: a pn-counter node is a counter node, and
    /// the router opens one workload per implementation.
    public var implementation: WorkloadKind {
        WorkloadDescriptor.builtIn.first { $0.aliases.contains(self) }?.kind ?? self
    }

    public var description: String { rawValue }
}

/// One workload as every part of evnode reads it: its names, its routes (the router's table and
/// the fuzzer's seeds: each route carries an example body) and how to create it. Adding a
/// workload: its file (the type, its `handlers` with an example per route, its `kind`) and one
/// line in `builtIn` (docs/adding-a-workload.md).
public struct WorkloadDescriptor {
    public let kind: WorkloadKind
    /// Other Maelstrom names served by the same implementation (pn-counter by the counter).
    public let aliases: [WorkloadKind]
    let routes: [AnyRoute]

    public init<W: Workload>(_: W.Type, aliases: [WorkloadKind] = []) {
        kind = W.kind
        self.aliases = aliases
        routes = AnyRoute.of(W.self)
    }

    /// Every name that selects this workload.
    public var names: [String] { ([kind] + aliases).map(\.rawValue) }

    /// Each route's type, whether only peers send it, and its example body (type and fields,
    /// without msg_id): the fuzzer's seeds.
    public var examples: [(type: String, fromPeers: Bool, body: JSONValue)] {
        routes.map { ($0.type, $0.senders == .peers, $0.example) }
    }

    /// evnode's workloads, in the order the router prefers them when a body fits several.
    public static let builtIn: [WorkloadDescriptor] = [
        WorkloadDescriptor(Echo.self),
        WorkloadDescriptor(UniqueIDs.self),
        WorkloadDescriptor(Broadcast.self),
        WorkloadDescriptor(GSet.self),
        WorkloadDescriptor(Counter.self, aliases: [.pnCounter]),
        WorkloadDescriptor(Kafka.self),
        WorkloadDescriptor(RWRegister.self),
        WorkloadDescriptor(LinearizableKV.self),
        WorkloadDescriptor(ListAppend.self),
    ]

    /// Every name of every built-in workload (`--workload`'s choices).
    public static var builtInNames: [String] { builtIn.flatMap(\.names) }
}

/// A route with the workload type erased: how the router calls a handler and creates its workload.
struct AnyRoute {
    let type: String
    let kind: WorkloadKind
    let senders: Senders
    let matcher: BodyMatcher
    let needsStartRecord: Bool
    let emptyStateReply: ((JSONValue) -> JSONValue?)?
    let example: JSONValue
    let make: (Node, WorkloadConfig) -> any Workload
    let prepare: (Node, WorkloadConfig) -> Void
    let run: (any Workload, Message) throws -> Void

    static func of<W: Workload>(_: W.Type) -> [AnyRoute] {
        W.handlers.routes.map { r in
            let run = r.run
            // The router only hands a workload the routes it registered, so the cast cannot fail.
            return AnyRoute(type: r.type, kind: W.kind, senders: r.senders, matcher: r.matcher, needsStartRecord: W.needsStartRecord,
                            emptyStateReply: r.emptyStateReply, example: r.example,
                            make: { W(node: $0, config: $1) }, prepare: W.prepare, run: { try run(unsafeDowncast($0, to: W.self), $1) })
        }
    }
}

/// Tunables, one struct per workload. The defaults are what evnode runs with; the simulator
/// changes them only to measure trade-offs.
public struct WorkloadConfig: Sendable {
    public var broadcast = Broadcast.Config()
    public var gSet = GSet.Config()
    public var gCounter = Counter.Config()
    public var kafka = Kafka.Config()
    public var txn = RWRegister.Config()
    public var linKV = LinearizableKV.Config()
    public var listAppend = ListAppend.Config()
    /// Durable mode (off by default), for every workload that stores writes.
    public var durability = DurabilityConfig()
    public init() {}
}
