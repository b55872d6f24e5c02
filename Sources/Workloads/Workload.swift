import EVCore

/// A workload's handler. One instance per node, created when the first message of the workload
/// arrives. It talks only to `Node` (send, reply, RPC, timers), never to libev, and declares
/// its message types once, in `handlers`.
///
/// Closures and `self`, one rule for every workload: a closure handed to `Node` (a timer, an RPC
/// callback) captures `[weak self]`, since the node may fire it after a re-init replaced the
/// workload; a closure handed to a component the workload owns (`ReplicatedState`, `Replicator`,
/// `DurableLog`), which dies with it and never calls back after, captures `[unowned self]`.
public protocol Workload: AnyObject {
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
}

public extension Workload {
    static var needsStartRecord: Bool { true }
    func joined(restarted: Bool) {}
}

/// Maelstrom's workloads (`maelstrom test -w NAME`). Adding one: its file, and a case here with
/// its line in `routes`. Several names may share an implementation (g-counter and pn-counter).
public enum WorkloadKind: String, CaseIterable, Sendable {
    case echo
    case uniqueIDs = "unique-ids"
    case broadcast
    case gSet = "g-set"
    case gCounter = "g-counter"
    case pnCounter = "pn-counter"
    case kafka
    case txn = "txn-rw-register"
    case linKV = "lin-kv"
    case txnListAppend = "txn-list-append"

    /// The workload's routes, type-erased for the router.
    var routes: [AnyRoute] {
        switch self {
        case .echo: return AnyRoute.of(Echo.self, self)
        case .uniqueIDs: return AnyRoute.of(UniqueIDs.self, self)
        case .broadcast: return AnyRoute.of(Broadcast.self, self)
        case .gSet: return AnyRoute.of(GSet.self, self)
        case .gCounter, .pnCounter: return AnyRoute.of(GCounter.self, self)
        case .kafka: return AnyRoute.of(Kafka.self, self)
        case .txn: return AnyRoute.of(Txn.self, self)
        case .linKV: return AnyRoute.of(LinearizableKV.self, self)
        case .txnListAppend: return AnyRoute.of(ListAppend.self, self)
        }
    }

    /// The kind that runs this one's implementation: a pn-counter node is a counter node, and
    /// the router opens one workload per implementation.
    public var implementation: WorkloadKind { self == .pnCounter ? .gCounter : self }
}

/// A route with the workload type erased: how the router calls a handler and creates its workload.
struct AnyRoute {
    let type: String
    let kind: WorkloadKind
    let senders: Senders
    let matcher: BodyMatcher
    let needsStartRecord: Bool
    let emptyStateReply: ((JSONValue) -> JSONValue?)?
    let make: (Node, WorkloadConfig) -> any Workload
    let run: (any Workload, Message) throws -> Void

    static func of<W: Workload>(_: W.Type, _ kind: WorkloadKind) -> [AnyRoute] {
        W.handlers.routes.map { r in
            let run = r.run
            // The router only hands a workload the routes it registered, so the cast cannot fail.
            return AnyRoute(type: r.type, kind: kind, senders: r.senders, matcher: r.matcher, needsStartRecord: W.needsStartRecord,
                            emptyStateReply: r.emptyStateReply,
                            make: { W(node: $0, config: $1) }, run: { try run(unsafeDowncast($0, to: W.self), $1) })
        }
    }
}

/// Tunables, one struct per workload. The defaults are what evnode runs with; the simulator
/// changes them only to measure trade-offs.
public struct WorkloadConfig: Sendable {
    public var broadcast = Broadcast.Config()
    public var gSet = GSet.Config()
    public var gCounter = GCounter.Config()
    public var kafka = Kafka.Config()
    public var txn = Txn.Config()
    public var linKV = LinearizableKV.Config()
    public var listAppend = ListAppend.Config()
    /// Durable mode (off by default), for every workload that stores writes.
    public var durability = DurabilityConfig()
    public init() {}
}
