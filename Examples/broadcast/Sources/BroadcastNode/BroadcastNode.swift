import Maelstrom

/// Challenge 3c: every acknowledged value reaches every node, partitions or not. A node answers
/// at once and, every 200 ms, sends each peer the values that peer has not confirmed yet; a
/// gossip the peer answers confirms them. Lost messages are simply sent again.
public func broadcast(_ node: MaelstromNode) {
    var messages = Set<Int>()
    var confirmed: [String: Set<Int>] = [:] // peer → values it is known to hold

    node.on("topology") { req in req.reply("topology_ok") } // everyone gossips with everyone
    node.on("broadcast") { req in
        messages.insert(try req.int("message"))
        req.reply("broadcast_ok")
    }
    node.on("read") { req in req.reply("read_ok") { $0.field("messages", ints: messages) } }
    node.on("gossip") { req in
        let values = req["messages"].ints ?? []
        messages.formUnion(values)
        confirmed[req.src, default: []].formUnion(values)
        req.reply("gossip_ok")
    }
    node.onInit {
        node.every(.milliseconds(200)) {
            for peer in node.peers {
                let missing = messages.subtracting(confirmed[peer, default: []])
                guard !missing.isEmpty else { continue }
                node.rpc(to: peer, ["type": "gossip", "messages": .array(missing.map { .int($0) })]) { result in
                    if case .success = result { confirmed[peer, default: []].formUnion(missing) }
                }
            }
        }
    }
}
