import Maelstrom

/// Challenge 2: ids unique across the cluster with no messages, so partitions cannot stop them:
/// this node's id, then a counter of its own. (A restarted process would count from 1 again:
/// challenge 2 kills no process.)
public func uniqueIDs(_ node: MaelstromNode) {
    var counter = 0
    node.on("generate") { req in
        counter += 1
        req.reply("generate_ok") { $0.field("id", "\(node.id)-\(counter)") }
    }
}
