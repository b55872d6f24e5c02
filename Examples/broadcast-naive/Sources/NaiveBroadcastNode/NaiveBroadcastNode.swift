import Maelstrom

/// Challenge 3b, naively: a node that gets a value from a client tells each peer once, and
/// nothing more. Fine on a healthy network; a partition drops those messages and nobody resends.
public func naiveBroadcast(_ node: MaelstromNode) {
    var messages = Set<Int>()
    node.on("topology") { req in req.reply("topology_ok") } // everyone tells everyone
    node.on("broadcast") { req in
        let value = try req.int("message")
        if messages.insert(value).inserted {
            for peer in node.peers { node.send(to: peer, ["type": "share", "message": .int(value)]) }
        }
        req.reply("broadcast_ok")
    }
    node.on("share") { req in messages.insert(try req.int("message")) } // fire and forget
    node.on("read") { req in req.reply("read_ok") { $0.field("messages", ints: messages) } }
}
