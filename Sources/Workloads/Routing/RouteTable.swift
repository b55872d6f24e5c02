import EVCore

/// Every message type some workload serves, and the pure rule that picks the workload for one
/// message: `resolve` looks only at the type, the body and which workloads run here, so it is
/// tested without a `Node`.
///
/// A type several workloads serve (`read`, `add`, `txn`) is told apart by its body
/// (`BodyMatcher`): a workload whose matcher says yes takes it; else the first running one that
/// does not say no; else the only one left. When the body cannot tell (a bare `read` of broadcast,
/// g-set or a counter before any of those runs here) the message is held. A body that no workload
/// accepts opens nothing: a running candidate's handler names what is wrong, or it is refused.
struct RouteTable {
    enum Decision {
        case run(AnyRoute)
        /// The body fits several workloads and none runs here yet.
        case hold(candidates: [WorkloadKind])
        case reject(ProtocolError)
    }

    /// Routes by type, in the order of the workloads.
    let routes: [String: [AnyRoute]]
    /// The workloads, in the router's order of preference.
    let order: [WorkloadKind]

    /// The table of evnode's workloads; checked once, when first used.
    static let builtIn = RouteTable(WorkloadDescriptor.builtIn)

    /// - Precondition: a peer-only type belongs to exactly one workload (the router trusts its
    ///   sender check to stand for the whole workload's wire format), and no two workloads share
    ///   a name.
    init(_ descriptors: [WorkloadDescriptor]) {
        var routes: [String: [AnyRoute]] = [:]
        for d in descriptors {
            for route in d.routes { routes[route.type, default: []].append(route) }
        }
        let names = descriptors.flatMap(\.names)
        precondition(Set(names).count == names.count, "two workloads share a name: \(names)")
        for (type, list) in routes where list.contains(where: { $0.senders == .peers }) {
            precondition(list.count == 1, "peer-only type \(type) is served by \(list.map(\.kind.rawValue))")
        }
        self.routes = routes
        order = descriptors.map(\.kind)
    }

    var messageTypes: [String] { routes.keys.sorted() }

    /// The route of a message of `type` with `body`, given the workloads running here (`active`)
    /// and the one the node was started for (`forced`, nil: any).
    func resolve(type: String, body: JSON, active: Set<WorkloadKind>, forced: WorkloadKind?) -> Decision {
        guard let candidates = routes[type] else {
            return .reject(.notSupported("unsupported message type '\(type)'"))
        }
        if let forced {
            guard let route = candidates.first(where: { $0.kind == forced }) else {
                return .reject(.notSupported("\(type) is not a \(forced.rawValue) message"))
            }
            return .run(route)
        }
        if candidates.count == 1 { return .run(candidates[0]) }
        let verdicts = candidates.map { $0.matcher.match(body) }
        if let i = verdicts.firstIndex(of: .yes) { return .run(candidates[i]) }
        let possible = candidates.indices.filter { verdicts[$0] != .no }.map { candidates[$0] }
        if let running = possible.first(where: { active.contains($0.kind) }) { return .run(running) }
        if possible.count == 1 { return .run(possible[0]) }
        if possible.isEmpty {
            // A running workload's handler says precisely what is missing; nothing new is opened.
            if let running = candidates.first(where: { active.contains($0.kind) }) { return .run(running) }
            let needs = candidates.map { "\($0.kind.rawValue) needs \($0.matcher.requirement)" }
            return .reject(.malformed("\(type) fits no workload: \(needs.joined(separator: "; "))"))
        }
        return .hold(candidates: possible.map(\.kind))
    }

    /// The reply every candidate would give `body` from a cluster where nothing has happened
    /// yet, if they all have one and agree (a read-only txn: reads of null).
    func emptyStateReply(type: String, body: JSONValue, candidates: [WorkloadKind]) -> JSONValue? {
        let replies = (routes[type] ?? []).filter { candidates.contains($0.kind) }.map { $0.emptyStateReply?(body) }
        guard let first = replies.first ?? nil, replies.allSatisfy({ $0 == first }) else { return nil }
        return first
    }

    /// A route of `kind`'s, which knows how to create its workload (every implementation has one).
    func anyRoute(of kind: WorkloadKind) -> AnyRoute {
        routes.values.lazy.flatMap { $0 }.first { $0.kind == kind }!
    }
}
