import EVCheckers
import EVCore
import EVSimCore

/// Maelstrom's `--topology` for the broadcast workload (protocol reference §7.1): which neighbours
/// each node is told about in the `topology` message.
public enum Topology: Sendable, Equatable, CustomStringConvertible {
    case grid, line, total
    /// Tiers of size 1, B, B², … filled with the nodes in order (`tree` in Maelstrom means B = 2).
    case tree(branching: Int)

    public init?(name: String) {
        switch name {
        case "grid": self = .grid
        case "line": self = .line
        case "total": self = .total
        case "tree", "tree2": self = .tree(branching: 2)
        case "tree3": self = .tree(branching: 3)
        case "tree4": self = .tree(branching: 4)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .grid: return "grid"
        case .line: return "line"
        case .total: return "total"
        case .tree(let b): return "tree\(b)"
        }
    }

    /// Every node's neighbour list, in node order.
    public func neighbours(of nodes: [String]) -> [(node: String, neighbours: [String])] {
        let n = nodes.count
        switch self {
        case .grid:
            // side = ceil(sqrt(N)); neighbours in the order below, above, right, left.
            var side = 0
            while side * side < n { side += 1 }
            return nodes.indices.map { index in
                let row = index / max(side, 1), column = index % max(side, 1)
                var list: [String] = []
                for (r, c) in [(row + 1, column), (row - 1, column), (row, column + 1), (row, column - 1)] {
                    guard r >= 0, c >= 0, c < side else { continue }
                    let k = r * side + c
                    if k < n { list.append(nodes[k]) }
                }
                return (nodes[index], list)
            }
        case .line:
            guard n >= 2 else { return [] }
            return nodes.indices.map { i in
                var list: [String] = []
                if i > 0 { list.append(nodes[i - 1]) }
                if i < n - 1 { list.append(nodes[i + 1]) }
                return (nodes[i], list)
            }
        case .total:
            return nodes.map { node in (node, nodes.filter { $0 != node }) }
        case .tree(let b):
            // Tiers: [0], [1...b], [b+1 ... b+b²], …; the k-th node of a tier gets the k-th chunk of
            // b nodes of the next tier as children.
            var parent = [Int?](repeating: nil, count: n)
            var children = [[Int]](repeating: [], count: n)
            var tierStart = 0, tierSize = 1
            while tierStart < n {
                let nextStart = tierStart + tierSize
                for k in 0..<tierSize where tierStart + k < n {
                    for c in 0..<b {
                        let child = nextStart + k * b + c
                        guard child < n else { break }
                        parent[child] = tierStart + k
                        children[tierStart + k].append(child)
                    }
                }
                tierStart = nextStart
                tierSize *= b
            }
            return nodes.indices.map { i in
                (nodes[i], (parent[i].map { [nodes[$0]] } ?? []) + children[i].map { nodes[$0] })
            }
        }
    }

    /// The `topology` field of the message: {"n0": ["n5", "n1"], …}.
    public func json(for nodes: [String]) -> JSONValue {
        .object(neighbours(of: nodes).map { ($0.node, .array($0.neighbours.map { .string($0) })) })
    }
}
