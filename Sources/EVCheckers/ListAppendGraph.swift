/// The dependency graph of a list-append history and Elle's cycle search over it. Unlike the
/// rw-register checker's DependencyGraph it also carries real-time edges, and it finds cycles
/// with a given mix of edge kinds by a breadth-first search over (transaction, edge counts).
struct ListAppendGraph {
    enum Edge: String, CaseIterable {
        case ww, wr, rw, realtime
    }

    /// A closed walk: `vertices[i]` reaches `vertices[(i + 1) % n]` by an edge of kind `kinds[i]`.
    struct Cycle: Hashable {
        var vertices: [Int]
        var kinds: [Edge]
    }

    /// What a cycle search looks for: cycles using only `kinds`, through at least one `via` edge,
    /// whose anti-dependency count is in `rw` (2 standing for "two or more"), with a wr edge if
    /// `needsWR`.
    struct Spec {
        let kinds: Set<Edge>
        let via: Edge
        let rw: ClosedRange<Int>
        var needsWR = false
    }

    let count: Int
    private var out: [[(to: Int, kind: Edge)]]
    private var reasons: [Edge: [Int: String]] = [:] // kind → (a·count + b) → explanation
    private(set) var edgeCounts: [Edge: Int] = [:]

    init(count: Int) {
        self.count = count
        out = Array(repeating: [], count: count)
    }

    /// Adds a → b (once per kind); self-edges say nothing and are dropped.
    mutating func add(_ kind: Edge, from a: Int, to b: Int, because reason: @autoclosure () -> String) {
        guard a != b, reasons[kind]?[a * count + b] == nil else { return }
        reasons[kind, default: [:]][a * count + b] = reason()
        out[a].append((b, kind))
        edgeCounts[kind, default: 0] += 1
    }

    func reason(_ kind: Edge, _ a: Int, _ b: Int) -> String { reasons[kind]?[a * count + b] ?? "?" }

    /// Edges of one kind, in the order they were added (deterministic examples).
    func edges(_ kind: Edge) -> [(from: Int, to: Int)] {
        var list: [(Int, Int)] = []
        for a in 0..<count { for e in out[a] where e.kind == kind { list.append((a, e.to)) } }
        return list
    }

    /// One cycle per strongly connected component (of the `spec.kinds` subgraph) that holds a
    /// cycle matching `spec`. Each search starts on a `via` edge u → v and looks for the shortest
    /// walk back from v to u whose counts match; `budget` counts visited states and the search
    /// stops (returning what it has, `exhausted` set) when it runs out. Polynomial: per start
    /// edge at most 6 states per vertex of the component.
    func cycles(_ spec: Spec, budget: inout Int) -> (found: [Cycle], exhausted: Bool) {
        let sub = Adjacency(count: count) { v, list in
            for e in out[v] where spec.kinds.contains(e.kind) { list.append(e.to) }
        }
        let component = stronglyConnectedComponents(sub).component
        var done = Set<Int>()
        var found: [Cycle] = []
        var search = StateSearch(count: count)
        for (u, v) in edges(spec.via) where component[u] == component[v] && !done.contains(component[u]) {
            let c = component[u]
            let walk = search.walk(from: v, to: u, after: spec.via, spec: spec, graph: self,
                                   inside: { component[$0] == c }, budget: &budget)
            if budget < 0 { return (found, true) }
            if let walk {
                found.append(walk)
                done.insert(c)
            }
        }
        return (found, false)
    }

    fileprivate func successors(_ v: Int) -> [(to: Int, kind: Edge)] { out[v] }
}

/// Breadth-first search over states (vertex, rw edges so far capped at 2, wr edges so far
/// capped at 1), with buffers reused across searches.
private struct StateSearch {
    private var mark: [Int]
    private var parent: [Int]
    private var parentKind: [ListAppendGraph.Edge]
    private var generation = 0

    init(count: Int) {
        mark = Array(repeating: 0, count: count * 6)
        parent = Array(repeating: -1, count: count * 6)
        parentKind = Array(repeating: .ww, count: count * 6)
    }

    private static func state(_ v: Int, rw: Int, wr: Int) -> Int { v * 6 + rw * 2 + wr }

    /// The shortest closed walk u -first-> v … → u within `inside` whose counts `spec` accepts.
    mutating func walk(from v: Int, to u: Int, after first: ListAppendGraph.Edge, spec: ListAppendGraph.Spec,
                       graph: ListAppendGraph, inside: (Int) -> Bool, budget: inout Int) -> ListAppendGraph.Cycle? {
        generation += 1
        let start = Self.state(v, rw: first == .rw ? 1 : 0, wr: first == .wr ? 1 : 0)
        mark[start] = generation
        var frontier = [start], next: [Int] = []
        while !frontier.isEmpty {
            for s in frontier {
                budget -= 1
                if budget < 0 { return nil }
                let x = s / 6, rw = (s % 6) / 2, wr = s % 2
                for e in graph.successors(x) where spec.kinds.contains(e.kind) && inside(e.to) {
                    let rw2 = min(rw + (e.kind == .rw ? 1 : 0), 2)
                    guard rw2 <= spec.rw.upperBound else { continue }
                    let wr2 = min(wr + (e.kind == .wr ? 1 : 0), 1)
                    let t = Self.state(e.to, rw: rw2, wr: wr2)
                    guard mark[t] != generation else { continue }
                    mark[t] = generation
                    parent[t] = s
                    parentKind[t] = e.kind
                    if e.to == u && spec.rw.contains(rw2) && (wr2 == 1 || !spec.needsWR) { return cycle(ending: t, start: start, u: u, first: first) }
                    next.append(t)
                }
            }
            swap(&frontier, &next)
            next.removeAll(keepingCapacity: true)
        }
        return nil
    }

    private func cycle(ending end: Int, start: Int, u: Int, first: ListAppendGraph.Edge) -> ListAppendGraph.Cycle {
        var vertices: [Int] = [], kinds: [ListAppendGraph.Edge] = []
        var s = end
        while s != start {
            kinds.append(parentKind[s])
            s = parent[s]
            vertices.append(s / 6)
        }
        // vertices/kinds run backwards from the vertex before u to v; prepend u → v.
        return ListAppendGraph.Cycle(vertices: [u] + vertices.reversed(), kinds: [first] + kinds.reversed())
    }
}

extension ListAppendGraph.Cycle {
    /// The simple cycles a closed walk is made of (a shortest walk with constraints on its edge
    /// counts may pass a vertex twice); each is reported under its own name.
    var simpleCycles: [ListAppendGraph.Cycle] {
        var result: [ListAppendGraph.Cycle] = []
        var stack: [(v: Int, kind: ListAppendGraph.Edge)] = []
        var position: [Int: Int] = [:]
        for (v, kind) in zip(vertices, kinds) {
            if let p = position[v] {
                let loop = stack[p...]
                result.append(.init(vertices: loop.map(\.v), kinds: loop.map(\.kind)))
                for entry in loop { position[entry.v] = nil }
                stack.removeSubrange(p...)
            }
            position[v] = stack.count
            stack.append((v, kind))
        }
        result.append(.init(vertices: stack.map(\.v), kinds: stack.map(\.kind)))
        assert(result.allSatisfy { $0.vertices.count >= 2 }, "no self-edges, so no loop is shorter than 2")
        return result
    }

    /// Elle's name: G0 (ww only), G1c (ww and wr), G-single (one rw), G-nonadjacent (several rw,
    /// no two in a row), G2-item (several rw); "-realtime" when it needs a real-time edge.
    var anomaly: String {
        let rw = kinds.indices.filter { kinds[$0] == .rw }
        let base: String
        switch rw.count {
        case 0: base = kinds.contains(.wr) ? "G1c" : "G0"
        case 1: base = "G-single"
        default:
            let adjacent = rw.contains { kinds[($0 + 1) % kinds.count] == .rw }
            base = adjacent ? "G2-item" : "G-nonadjacent"
        }
        return kinds.contains(.realtime) ? base + "-realtime" : base
    }

    /// The same cycle started at its lowest vertex, to recognise it when several searches find it.
    var canonical: ListAppendGraph.Cycle {
        let i = vertices.indices.min { vertices[$0] < vertices[$1] }!
        return .init(vertices: Array(vertices[i...] + vertices[..<i]), kinds: Array(kinds[i...] + kinds[..<i]))
    }
}
