import HeapModule

/// Kinds of dependency between two transactions (Adya): T1 -ww-> T2 when T2 overwrote T1's
/// version, -wr-> when T2 read T1's version, -rw-> when T1 read a version T2 overwrote.
public enum DependencyKind: String, CaseIterable, Sendable {
    case ww, wr, rw
}

/// A directed graph over transactions 0..<count with one edge set per dependency kind and a
/// short explanation for each edge (which key and versions caused it), for anomaly reports.
struct DependencyGraph {
    let count: Int
    private var lists: [[[Int]]] // kind → vertex → successors
    private var why: [[Int: String]] // kind → (a·count + b) → explanation
    private(set) var edgeCounts: [DependencyKind: Int] = [:]

    init(count: Int) {
        self.count = count
        lists = Array(repeating: Array(repeating: [], count: count), count: DependencyKind.allCases.count)
        why = Array(repeating: [:], count: DependencyKind.allCases.count)
    }

    private static func slot(_ kind: DependencyKind) -> Int {
        switch kind { case .ww: return 0; case .wr: return 1; case .rw: return 2 }
    }

    /// Adds a → b (once per kind); self-edges are never added.
    mutating func add(_ kind: DependencyKind, from a: Int, to b: Int, because reason: @autoclosure () -> String) {
        guard a != b else { return }
        let k = Self.slot(kind)
        let key = a * count + b
        guard why[k][key] == nil else { return }
        why[k][key] = reason()
        lists[k][a].append(b)
        edgeCounts[kind, default: 0] += 1
    }

    /// The union of the given kinds, in compact form.
    func adjacency(_ kinds: [DependencyKind]) -> Adjacency {
        Adjacency(count: count) { v, out in
            for kind in kinds { out.append(contentsOf: lists[Self.slot(kind)][v]) }
        }
    }

    func edges(_ kind: DependencyKind) -> [(from: Int, to: Int)] {
        var out: [(Int, Int)] = []
        for (a, list) in lists[Self.slot(kind)].enumerated() { for b in list { out.append((a, b)) } }
        return out
    }

    func has(_ kind: DependencyKind, _ a: Int, _ b: Int) -> Bool { why[Self.slot(kind)][a * count + b] != nil }

    /// The kind (first of `preferred` that exists) and explanation of edge a → b.
    func label(_ a: Int, _ b: Int, preferred: [DependencyKind]) -> (DependencyKind, String)? {
        for k in preferred { if let w = why[Self.slot(k)][a * count + b] { return (k, w) } }
        return nil
    }
}

/// Successor lists in one flat array (compressed sparse rows): no allocation per lookup.
struct Adjacency {
    let count: Int
    private var offsets: [Int]
    private var targets: [Int]

    init(count: Int, fill: (Int, inout [Int]) -> Void) {
        self.count = count
        offsets = [0]
        offsets.reserveCapacity(count + 1)
        targets = []
        for v in 0..<count {
            fill(v, &targets)
            offsets.append(targets.count)
        }
    }

    init(lists: [[Int]]) {
        self.init(count: lists.count) { v, out in out.append(contentsOf: lists[v]) }
    }

    @inline(__always) func successors(_ v: Int) -> ArraySlice<Int> { targets[offsets[v]..<offsets[v + 1]] }
}

/// Tarjan's strongly connected components, iterative (histories have tens of thousands of
/// transactions; recursion would overflow the stack). Returns each vertex's component id and the
/// components with more than one vertex (a single vertex cannot be cyclic: there are no
/// self-edges). Component ids come out in reverse topological order: an edge between two
/// components goes from the higher id to the lower.
func stronglyConnectedComponents(_ graph: Adjacency) -> (component: [Int], componentCount: Int, cyclic: [[Int]]) {
    let count = graph.count
    var index = Array(repeating: -1, count: count)
    var lowlink = Array(repeating: 0, count: count)
    var onStack = Array(repeating: false, count: count)
    var component = Array(repeating: -1, count: count)
    var stack: [Int] = []
    var cyclic: [[Int]] = []
    var nextIndex = 0
    var nextComponent = 0

    // Explicit DFS frames: a vertex and how many of its successors were looked at.
    var frames: [(v: Int, pos: Int)] = []
    for root in 0..<count where index[root] == -1 {
        index[root] = nextIndex; lowlink[root] = nextIndex; nextIndex += 1
        stack.append(root); onStack[root] = true
        frames.append((root, 0))
        while let (v, pos) = frames.last {
            let successors = graph.successors(v)
            if pos < successors.count {
                let w = successors[successors.startIndex + pos]
                frames[frames.count - 1].pos += 1
                if index[w] == -1 {
                    index[w] = nextIndex; lowlink[w] = nextIndex; nextIndex += 1
                    stack.append(w); onStack[w] = true
                    frames.append((w, 0))
                } else if onStack[w] {
                    lowlink[v] = min(lowlink[v], index[w])
                }
                continue
            }
            // v is finished.
            frames.removeLast()
            if let parent = frames.last?.v { lowlink[parent] = min(lowlink[parent], lowlink[v]) }
            if lowlink[v] == index[v] {
                var members: [Int] = []
                while true {
                    let w = stack.removeLast()
                    onStack[w] = false
                    component[w] = nextComponent
                    members.append(w)
                    if w == v { break }
                }
                if members.count > 1 { cyclic.append(members.sorted()) }
                nextComponent += 1
            }
        }
    }
    return (component, nextComponent, cyclic)
}

/// A topological position for every vertex of `graph` (members of one strongly connected
/// component share theirs): every edge goes to an equal or higher position. Among components with
/// no path between them the one holding the lowest vertex number comes first, so for a history
/// (vertices in invocation order) positions follow time where dependencies allow.
func topologicalPositions(_ graph: Adjacency, component: [Int], componentCount: Int) -> [Int] {
    var firstVertex = Array(repeating: Int.max, count: componentCount)
    var indegree = Array(repeating: 0, count: componentCount)
    var edges = Array(repeating: [Int](), count: componentCount)
    for v in 0..<graph.count {
        let c = component[v]
        firstVertex[c] = min(firstVertex[c], v)
        for w in graph.successors(v) where component[w] != c {
            edges[c].append(component[w])
            indegree[component[w]] += 1
        }
    }
    var ready = Heap<Int>() // keyed by first vertex; components are found again through it
    var componentOfFirst: [Int: Int] = [:]
    for c in 0..<componentCount {
        componentOfFirst[firstVertex[c]] = c
        if indegree[c] == 0 { ready.insert(firstVertex[c]) }
    }
    var position = Array(repeating: 0, count: componentCount)
    var next = 0
    while let first = ready.popMin() {
        let c = componentOfFirst[first]!
        position[c] = next
        next += 1
        for d in edges[c] {
            indegree[d] -= 1
            if indegree[d] == 0 { ready.insert(firstVertex[d]) }
        }
    }
    return component.map { position[$0] }
}

/// Breadth-first searches over one graph with reusable buffers.
struct PathFinder {
    private var mark: [Int]
    private var parent: [Int]
    private var generation = 0

    init(count: Int) {
        mark = Array(repeating: 0, count: count)
        parent = Array(repeating: -1, count: count)
    }

    /// Shortest path from `start` to `goal` (both included) through vertices `allowed` admits,
    /// or nil. Each visited vertex costs one unit of `budget`; at zero the search gives up.
    mutating func shortestPath(from start: Int, to goal: Int, in graph: Adjacency,
                               allowed: (Int) -> Bool, budget: inout Int) -> [Int]? {
        if start == goal { return [start] }
        guard reach(from: start, in: graph, allowed: allowed, budget: &budget, stopAt: goal) else { return nil }
        var path = [goal]
        var cur = goal
        while cur != start { cur = parent[cur]; path.append(cur) }
        return path.reversed()
    }

    /// Marks everything reachable from `start` through admitted vertices (see `reached`).
    /// Returns whether `stopAt` was reached (the search stops there).
    @discardableResult
    mutating func reach(from start: Int, in graph: Adjacency, allowed: (Int) -> Bool,
                        budget: inout Int, stopAt: Int = -1) -> Bool {
        generation += 1
        mark[start] = generation
        var frontier = [start]
        var next: [Int] = []
        while !frontier.isEmpty {
            for v in frontier {
                budget -= 1
                if budget < 0 { return false }
                for w in graph.successors(v) where mark[w] != generation && allowed(w) {
                    mark[w] = generation
                    parent[w] = v
                    if w == stopAt { return true }
                    next.append(w)
                }
            }
            swap(&frontier, &next)
            next.removeAll(keepingCapacity: true)
        }
        return false
    }

    /// Whether the last `reach` got to `v`.
    func reached(_ v: Int) -> Bool { mark[v] == generation }
}
