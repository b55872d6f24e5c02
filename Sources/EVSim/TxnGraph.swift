/// Kinds of dependency between two transactions (Adya): T1 -ww-> T2 when T2 overwrote T1's
/// version, -wr-> when T2 read T1's version, -rw-> when T1 read a version T2 overwrote.
public enum DependencyKind: String, CaseIterable, Sendable {
    case ww, wr, rw
}

/// A directed multigraph over transactions 0..<count with one edge set per dependency kind and
/// a short explanation for each edge (which key and versions caused it), for anomaly reports.
struct DependencyGraph {
    let count: Int
    private var adjacency: [DependencyKind: [[Int]]]
    private var why: [DependencyKind: [Int: String]] = [:]
    private(set) var edgeCounts: [DependencyKind: Int] = [:]

    init(count: Int) {
        self.count = count
        adjacency = Dictionary(uniqueKeysWithValues: DependencyKind.allCases.map { ($0, Array(repeating: [], count: count)) })
    }

    private func pairKey(_ a: Int, _ b: Int) -> Int { a * count + b }

    /// Adds a → b (once per kind); self-edges are never added.
    mutating func add(_ kind: DependencyKind, from a: Int, to b: Int, because reason: @autoclosure () -> String) {
        guard a != b else { return }
        let key = pairKey(a, b)
        if why[kind, default: [:]][key] != nil { return }
        why[kind, default: [:]][key] = reason()
        adjacency[kind]![a].append(b)
        edgeCounts[kind, default: 0] += 1
    }

    func successors(_ v: Int, _ kinds: [DependencyKind]) -> [Int] {
        if kinds.count == 1 { return adjacency[kinds[0]]![v] }
        var out: [Int] = []
        for k in kinds { out.append(contentsOf: adjacency[k]![v]) }
        return out
    }

    func edges(_ kind: DependencyKind) -> [(from: Int, to: Int)] {
        var out: [(Int, Int)] = []
        for (a, list) in adjacency[kind]!.enumerated() { for b in list { out.append((a, b)) } }
        return out
    }

    /// The kind (first of `preferred` that exists) and explanation of edge a → b.
    func label(_ a: Int, _ b: Int, preferred: [DependencyKind]) -> (DependencyKind, String)? {
        for k in preferred { if let w = why[k]?[pairKey(a, b)] { return (k, w) } }
        return nil
    }
}

/// Tarjan's strongly connected components, iterative (histories have tens of thousands of
/// transactions; recursion would overflow the stack). Returns each vertex's component id and the
/// components with more than one vertex (a single vertex cannot be cyclic: there are no
/// self-edges).
func stronglyConnectedComponents(count: Int, successors: (Int) -> [Int]) -> (component: [Int], cyclic: [[Int]]) {
    var index = Array(repeating: -1, count: count)
    var lowlink = Array(repeating: 0, count: count)
    var onStack = Array(repeating: false, count: count)
    var component = Array(repeating: -1, count: count)
    var stack: [Int] = []
    var cyclic: [[Int]] = []
    var nextIndex = 0
    var nextComponent = 0

    // Explicit DFS frames: vertex, its successors, and the position reached in them.
    var frames: [(v: Int, succ: [Int], pos: Int)] = []
    for root in 0..<count where index[root] == -1 {
        index[root] = nextIndex; lowlink[root] = nextIndex; nextIndex += 1
        stack.append(root); onStack[root] = true
        frames.append((root, successors(root), 0))
        while !frames.isEmpty {
            let top = frames.count - 1
            let v = frames[top].v
            if frames[top].pos < frames[top].succ.count {
                let w = frames[top].succ[frames[top].pos]
                frames[top].pos += 1
                if index[w] == -1 {
                    index[w] = nextIndex; lowlink[w] = nextIndex; nextIndex += 1
                    stack.append(w); onStack[w] = true
                    frames.append((w, successors(w), 0))
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
    return (component, cyclic)
}

/// Shortest path from `start` to `goal` (both included) following `successors`, visiting only
/// vertices `allowed` admits; nil if there is none. `budget` is decremented per visited vertex and
/// the search gives up (nil) when it runs out.
func shortestPath(from start: Int, to goal: Int, successors: (Int) -> [Int], allowed: (Int) -> Bool,
                  budget: inout Int) -> [Int]? {
    if start == goal { return [start] }
    var parent: [Int: Int] = [start: start]
    var frontier = [start]
    while !frontier.isEmpty {
        var next: [Int] = []
        for v in frontier {
            budget -= 1
            if budget < 0 { return nil }
            for w in successors(v) where parent[w] == nil && allowed(w) {
                parent[w] = v
                if w == goal {
                    var path = [goal]
                    var cur = goal
                    while cur != start { cur = parent[cur]!; path.append(cur) }
                    return path.reversed()
                }
                next.append(w)
            }
        }
        frontier = next
    }
    return nil
}
